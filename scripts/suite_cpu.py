"""Where a command's CPU goes, by kind of process (Linux process accounting) or, for a
pytest run, by test (``--by-test``: a look at every process once a second).

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

    python3 scripts/suite_cpu.py --by-test make test

``--by-test`` needs neither root nor ``acct``: once a second it reads every process's CPU
from ``/proc`` and puts what each spent since the last look down to the test its pytest
process (a worker, or pytest itself without xdist) was running then, as
``tests/plugins/running_test.py`` writes it down: a test's Chromium, Celery workers and
servers count as the test's. It prints the tests and the test files that cost most, each
split by kind of process. A process that starts and ends between two looks is missed, and
a look can put a second's CPU down to the test after the one that spent it; the report says
how much of the machine's busy time it covers.
"""

from __future__ import annotations

import collections
import contextlib
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


def stat_fields(process: Path) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command's name (which may hold spaces
    and brackets), from the state on: its parent is ``[1]``, its user and system CPU in
    clock ticks ``[11]`` and ``[12]``, when it started ``[19]``."""
    return (process / "stat").read_text().rsplit(")", 1)[1].split()


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
            started = int(stat_fields(entry)[19])
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


NO_TEST = "(no test: servers started once, the run's own set-up)"
Look = dict[tuple[int, int], tuple[int, float, str]]  # (pid, start) -> (parent, CPU s, command)


def look_at_processes() -> Look:
    """Every live process: its parent, the CPU it has spent, its command line."""
    found: Look = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = stat_fields(entry)
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue  # ended while it was read
        parent, started = int(fields[1]), int(fields[19])
        cpu = (int(fields[11]) + int(fields[12])) / TICKS
        found[(int(entry.name), started)] = (parent, cpu, command)
    return found


def spent_since(
    before: Look, now: Look, running: dict[int, str]
) -> collections.Counter[tuple[str, str]]:
    """CPU seconds each (test, kind of process) spent between two looks. A process first
    seen now began since the last look and counts whole; its test is the one its nearest
    pytest ancestor in ``running`` (pid: node id) runs."""
    parents = {pid: parent for (pid, _), (parent, _, _) in now.items()}
    spent: collections.Counter[tuple[str, str]] = collections.Counter()
    for key, (_parent, cpu, command) in now.items():
        delta = cpu - before[key][1] if key in before else cpu
        if delta <= 0:
            continue
        pid, test = key[0], NO_TEST
        for _ in range(64):  # a cycle is impossible, but a bound costs nothing
            if pid in running:
                test = running[pid]
                break
            if pid not in parents:
                break
            pid = parents[pid]
        spent[(test, kind_of(command, ""))] += delta
    return spent


def running_tests(folder: Path) -> dict[int, str]:
    found = {}
    for entry in folder.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                found[int(entry.name)] = entry.read_text()
    return found


def by_test(argv: list[str]) -> int:
    # Imported here: the plugin lives in the project, which only this mode puts on the path
    # (the script runs from any Python, its accounting mode from root's).
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.plugins.running_test import DIRECTORY_VARIABLE

    spent: collections.Counter[tuple[str, str]] = collections.Counter()
    with tempfile.TemporaryDirectory() as folder:
        environment = dict(os.environ)
        environment[DIRECTORY_VARIABLE] = folder
        environment["PYTEST_ADDOPTS"] = (
            environment.get("PYTEST_ADDOPTS", "") + " -p tests.plugins.running_test"
        ).strip()
        busy_before, started = busy_seconds(), time.monotonic()
        last = look_at_processes()  # what ran before the command is not its cost
        try:
            command = subprocess.Popen(argv, env=environment)
        except OSError as error:
            print(f"Cannot run {argv[0]}: {error.strerror}.", file=sys.stderr)
            return 2
        while command.poll() is None:
            time.sleep(1.0)
            now = look_at_processes()
            spent += spent_since(last, now, running_tests(Path(folder)))
            last = now
        busy = busy_seconds() - busy_before
        wall = time.monotonic() - started
    print(report_by_test(spent, busy=busy, wall=wall))
    return command.returncode


def report_by_test(spent: collections.Counter, *, busy: float, wall: float, top: int = 40) -> str:
    """The test files and the tests that cost most, each with its three costliest kinds."""
    seen = sum(spent.values())
    lines = [f"\n{wall:.0f} s wall; the machine busy {busy:.0f} core-seconds, {seen:.0f} seen"]
    for title, name_of in (("test files", lambda test: test.split("::")[0]), ("tests", str)):
        costs: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        for (test, kind), cpu in spent.items():
            costs[name_of(test)][kind] += cpu
        lines.append(f"\nThe {top} {title} that cost most (CPU-s; the kinds of process):")
        ranked = sorted(costs.items(), key=lambda item: -sum(item[1].values()))
        for name, kinds in ranked[:top]:
            split = ", ".join(f"{kind} {cpu:.0f}" for kind, cpu in kinds.most_common(3))
            lines.append(f"  {sum(kinds.values()):8.1f}  {name}  ({split})")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--by-test"]:
        return by_test(argv[1:]) if argv[1:] else main([])
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
