"""The whole suite in two lanes at once (``make test-quick`` runs the quick lane alone;
``make test`` stays one session, on four workers: docs/development.md says why).

Most of the suite is short and busy: a request through the whole portal, a photo through
the real pipeline. It runs in the *quick* lane, one xdist worker per core, which keeps the
cores busy. The slow and browser tests mostly wait: for a server's deadline to pass, for a
phone's lost signal to come back, for a killed worker to be started again, for Chromium to
draw a page on an emulated slow network. Mixed in with the rest they held a worker, and so
a core, idle while they waited. In a lane of their own, with more workers than cores,
their waiting overlaps the quick lane's work.

Each lane is its own pytest session with its own PostgreSQL, Redis and S3
(tests/plugins/services.py), so the two share nothing but the machine. Each lane's output
goes to ``var/test-lanes/<lane>.log`` and is printed when the lane ends; the exit status
is the first lane's that failed.

    python scripts/test_lanes.py [--quick-workers N] [--slow-workers N] [--only quick|slow]
                                 [pytest args...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LOG_DIR = BASE_DIR / "var" / "test-lanes"
QUICK_TESTS = "not browser and not slow and not soak"
# The soak stays out, as pyproject.toml's addopts leave it out of every run but make soak.
SLOW_TESTS = "(browser or slow) and not soak"
# The quick lane on its own (make test-quick, the inner loop) has the property tests try a
# fifth of their examples: every operation still gets valid and invalid input; the deep
# search is the whole suite's (tests/support/examples.py).
QUICK_OPTIONS = ("--hypothesis-profile=quick",)


@dataclass
class Lane:
    name: str
    marks: str
    workers: int
    options: tuple[str, ...] = ()
    process: subprocess.Popen | None = None
    started: float = 0.0
    seconds: float = 0.0

    @property
    def log(self) -> Path:
        return LOG_DIR / f"{self.name}.log"

    def command(self, extra: list[str]) -> list[str]:
        return [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            str(self.workers),
            "--dist",
            "loadgroup",
            "-m",
            self.marks,
            *self.options,
            *extra,
        ]

    def start(self, extra: list[str]) -> None:
        self.started = time.monotonic()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.command(extra), cwd=BASE_DIR, stdout=out, stderr=subprocess.STDOUT
            )

    def finished(self) -> bool:
        if self.process.poll() is None:
            return False
        if not self.seconds:
            self.seconds = time.monotonic() - self.started
        return True

    def summary(self) -> str:
        lines = self.log.read_text(errors="replace").strip().splitlines()
        last = lines[-1] if lines else "(no output)"
        return f"{self.name} lane ({self.workers} workers, {self.seconds:.0f} s): {last}"


def lanes_to_run(*, only: str | None, quick_workers: int, slow_workers: int) -> list[Lane]:
    """Both lanes (the whole suite: every example of every property test), or the one
    named; the quick lane on its own is the inner loop, and takes the quick profile."""
    if only == "quick":
        return [Lane("quick", QUICK_TESTS, quick_workers, QUICK_OPTIONS)]
    if only == "slow":
        return [Lane("slow", SLOW_TESTS, slow_workers)]
    return [Lane("slow", SLOW_TESTS, slow_workers), Lane("quick", QUICK_TESTS, quick_workers)]


def main() -> int:
    cores = os.cpu_count() or 2
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick-workers", type=int, default=cores)
    parser.add_argument("--slow-workers", type=int, default=2 * cores)
    parser.add_argument(
        "--only",
        choices=["quick", "slow"],
        help="run one lane, its output straight to the terminal (make test-quick: quick)",
    )
    options, extra = parser.parse_known_args()
    lanes = lanes_to_run(
        only=options.only, quick_workers=options.quick_workers, slow_workers=options.slow_workers
    )
    if options.only:
        [lane] = lanes
        return subprocess.run(lane.command(extra), cwd=BASE_DIR).returncode
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    for lane in lanes:
        lane.start(extra)
    print(f"Two lanes started; their output: {LOG_DIR.relative_to(BASE_DIR)}/", flush=True)
    shown: set[str] = set()
    try:
        while len(shown) < len(lanes):
            for lane in lanes:
                if lane.name not in shown and lane.finished():
                    print(f"\n===== {lane.name} lane =====", flush=True)
                    sys.stdout.write(lane.log.read_text(errors="replace"))
                    sys.stdout.flush()
                    shown.add(lane.name)
            time.sleep(1)
    except KeyboardInterrupt:
        for lane in lanes:
            if lane.process.poll() is None:
                lane.process.terminate()
        raise
    print("\n" + "\n".join(lane.summary() for lane in lanes), flush=True)
    return next((lane.process.returncode for lane in lanes if lane.process.returncode), 0)


if __name__ == "__main__":
    sys.exit(main())
