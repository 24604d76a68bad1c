"""What happens to every upload after it arrives: processing's chain of steps (verify, sniff,
clean, render, promote, mark), the renditions made on request, and the periodic sweeps."""
