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
how much of the machine's busy time the records cover. The kernel keeps one accounting
file for the whole machine: two of these at once, or an ``accton`` run beside one, send
the records of the first to the second's file.
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
    has only the first 15 characters of its name, often a thread's). Process ids come
    round again within a run (``pid_max`` may be 32,768, and threads take ids too), so a
    process is known by its id and the time it started."""

    def __init__(self) -> None:
        self.seen: dict[int, list[tuple[float, str]]] = collections.defaultdict(list)
        self.known: set[tuple[int, int]] = set()
        self.boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)

    def watch(self) -> None:
        while not self.stopping.is_set():
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    self.note(entry)
            time.sleep(0.2)

    def note(self, entry: Path) -> None:
        try:
            started = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[19])
            if (int(entry.name), started) in self.known:
                return
            raw = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            return
        if raw:
            self.known.add((int(entry.name), started))
            command = raw.replace(b"\0", b" ").decode(errors="replace")
            self.seen[int(entry.name)].append((self.boot + started / TICKS, command))

    def named(self, pid: int, began: float, fallback: str) -> str:
        """The command line of the process ``pid`` that began nearest ``began``."""
        lives = self.seen.get(pid)
        if not lives:
            return fallback
        return min(lives, key=lambda life: abs(life[0] - began))[1]


def records(path: Path) -> list[tuple[str, float, int, float]]:
    """(name, CPU seconds, pid, when it began) of every process that ended."""
    dumped = subprocess.run(["dump-acct", str(path)], capture_output=True, text=True, check=True)
    found = []
    for line in dumped.stdout.splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        cpu = (float(cells[2]) + float(cells[3])) / 100  # dump-acct's centiseconds
        began = time.mktime(time.strptime(cells[-1], "%a %b %d %H:%M:%S %Y"))
        found.append((cells[0], cpu, int(cells[9]), began))
    return found


KINDS = [
    (r"chromium.*--type=renderer", "Chromium renderers"),
    (r"chromium.*--type=gpu-process", "Chromium GPU process"),
    (r"chromium.*--type=", "Chromium other helpers"),
    (r"/chromium\b", "Chromium browser processes"),
    (r"-c import sys;exec\(eval\(sys.stdin.readline", "pytest xdist workers"),
    (r"-m pytest", "pytest's main process (the xdist controller)"),
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
            lines.thread.join()  # its last sweep done before its notes are read
        ended = records(log)
    by_kind: collections.Counter[str] = collections.Counter()
    count: collections.Counter[str] = collections.Counter()
    for name, cpu, pid, began in ended:
        kind = kind_of(lines.named(pid, began, name), name)
        by_kind[kind] += cpu
        count[kind] += 1
    total = sum(by_kind.values())
    print(f"\n{wall:.0f} s wall; the machine busy {busy:.0f} core-seconds, {total:.0f} of them")
    print(f"in the {len(ended)} processes that ended:")
    for kind, cpu in by_kind.most_common():
        share = 100 * cpu / total if total else 0.0  # a command too short to register
        print(f"  {cpu:8.1f} s  {share:5.1f} %  {count[kind]:5d}  {kind}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
