"""Where a command's CPU goes, by kind of process: run it under Linux process accounting.

The suite's time on two cores is bound by the CPU its work takes, most of it in processes
the tests start and end (Chromium, Celery workers, gunicorn, management commands,
PostgreSQL's backends), which ``time`` and pytest's own numbers miss or blame on the wrong
test. The kernel's accounting records every process that ends, with its CPU; a watcher
notes each process's command line while it lives, so each record can be named.

    sudo python3 scripts/suite_cpu.py make test
    sudo python3 scripts/suite_cpu.py .venv/bin/python -m pytest tests/dashboard

Needs root and ``accton`` and ``dump-acct`` (Debian's ``acct`` package). Processes still
running when the command ends (a server it left behind) are not counted; the report says
how much of the machine's busy time the records cover.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / TICKS


class CommandLines:
    """Every process's command line, noted while it lives (a process's accounting record
    has only the first 15 characters of its name, often a thread's)."""

    def __init__(self) -> None:
        self.seen: dict[int, str] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)

    def watch(self) -> None:
        while not self.stopping.is_set():
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit() and int(entry.name) not in self.seen:
                    try:
                        raw = (entry / "cmdline").read_bytes()
                    except OSError:
                        continue
                    if raw:
                        command = raw.replace(b"\0", b" ").decode(errors="replace")
                        self.seen[int(entry.name)] = command
            time.sleep(0.2)


def records(path: Path) -> list[tuple[str, float, int, int]]:
    """(name, CPU seconds, pid, parent pid) of every process that ended."""
    dumped = subprocess.run(["dump-acct", str(path)], capture_output=True, text=True, check=True)
    found = []
    for line in dumped.stdout.splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        cpu = (float(cells[2]) + float(cells[3])) / 100  # dump-acct's centiseconds
        found.append((cells[0], cpu, int(cells[9]), int(cells[10])))
    return found


KINDS = [
    (r"chromium.*--type=renderer", "Chromium renderers"),
    (r"chromium.*--type=gpu-process", "Chromium GPU process"),
    (r"chromium.*--type=", "Chromium other helpers"),
    (r"/chromium\b", "Chromium browser processes"),
    (r"-c import sys;exec\(eval\(sys.stdin.readline", "pytest xdist workers"),
    (r"-m pytest", "pytest (controller)"),
    (r"-m celery .*worker|celery.*worker", "Celery workers"),
    (r"-m celery .*beat", "Celery beat"),
    (r"gunicorn", "gunicorn"),
    (r"manage\.py migrate", "manage.py migrate"),
    (r"manage\.py", "manage.py, other commands"),
    (r"-m pip|pip install", "pip"),
    (r"^postgres|/postgres |postgres:", "PostgreSQL"),
    (r"weed", "SeaweedFS"),
    (r"redis-server", "Redis"),
    (r"nginx", "nginx"),
    (r"python", "other Python processes"),
]


def kind_of(command: str, name: str) -> str:
    for pattern, kind in KINDS:
        if re.search(pattern, command):
            return kind
    if name.startswith("postgres"):
        return "PostgreSQL"
    return "other"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    if os.geteuid() != 0 or not shutil.which("accton"):
        print("Needs root and the acct package (apt-get install acct).", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "pacct"
        log.touch()
        lines = CommandLines()
        lines.thread.start()
        subprocess.run(["accton", str(log)], check=True, capture_output=True)
        busy_before, started = busy_seconds(), time.monotonic()
        try:
            status = subprocess.run(argv).returncode
        finally:
            subprocess.run(["accton", "off"], capture_output=True)
            busy = busy_seconds() - busy_before
            wall = time.monotonic() - started
            lines.stopping.set()
        ended = records(log)
    by_kind: collections.Counter[str] = collections.Counter()
    count: collections.Counter[str] = collections.Counter()
    for name, cpu, pid, _parent in ended:
        kind = kind_of(lines.seen.get(pid, name), name)
        by_kind[kind] += cpu
        count[kind] += 1
    total = sum(by_kind.values())
    print(f"\n{wall:.0f} s wall; the machine busy {busy:.0f} core-seconds, {total:.0f} of them")
    print(f"in the {len(ended)} processes that ended:")
    for kind, cpu in by_kind.most_common():
        print(f"  {cpu:8.1f} s  {100 * cpu / total:5.1f} %  {count[kind]:5d}  {kind}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
