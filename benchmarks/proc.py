"""Readings from /proc for this process or another: RSS, peak RSS (VmHWM) and its reset, CPU time.

VmHWM rather than getrusage's ru_maxrss, because ru_maxrss survives fork+exec and would report
the parent's peak in a child; writing 5 to clear_refs resets VmHWM to the current RSS, so a
peak can be taken over one request or one thumbnail rather than over the process's life.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

KIB_PER_MIB = 1024


def status_mib(field_name: str, pid: int | str = "self") -> float | None:
    """A ``VmRSS``/``VmHWM``-style line of /proc/PID/status in MiB, or None without /proc."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return None
    for line in status.read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / KIB_PER_MIB  # kB
    return None


def peak_rss_mib(pid: int | str = "self") -> float:
    """Peak RSS since start or since the last `reset_peak_rss`."""
    peak = status_mib("VmHWM", pid)
    if peak is not None:
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB_PER_MIB  # KiB on Linux


def rss_mib(pid: int | str = "self") -> float:
    current = status_mib("VmRSS", pid)
    return current if current is not None else peak_rss_mib(pid)


def reset_peak_rss(pid: int | str = "self") -> None:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        pass


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of another process so far (0 once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []
