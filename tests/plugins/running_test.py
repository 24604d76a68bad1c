"""Says which test each pytest process is running, for ``scripts/suite_cpu.py --by-test``.

The CPU a test costs is mostly spent in processes it starts (Chromium, a Celery worker, a
whole embedded shape), which pytest's durations do not count and a worker's own CPU does
not include. The script looks at every process once a second and puts the CPU each spent
since its last look down to the test its pytest process runs; this plugin keeps that
written down: ``$PORTAL_TEST_RUNNING_DIR/<pid>`` holds the node id of the test the process
``pid`` runs, or ``BETWEEN_TESTS`` while it collects, starts or ends the session.

Loaded only by the script (``PYTEST_ADDOPTS=-p tests.plugins.running_test``, which xdist
hands on to its workers); a run without the variable writes nothing. It imports nothing of
pytest's, so the script can read its names from a Python without pytest.
"""

from __future__ import annotations

import os
from pathlib import Path

DIRECTORY_VARIABLE = "PORTAL_TEST_RUNNING_DIR"
BETWEEN_TESTS = "(between tests)"


def this_process_s_note() -> Path | None:
    folder = os.environ.get(DIRECTORY_VARIABLE)
    return Path(folder) / str(os.getpid()) if folder else None


def note(text: str) -> None:
    final = this_process_s_note()
    if final is None:
        return
    # Written aside and renamed, so the script never reads half a node id.
    aside = final.with_name(f".{final.name}")
    aside.write_text(text)
    aside.replace(final)


def pytest_sessionstart(session) -> None:
    note(BETWEEN_TESTS)


# Before the test's set-up and after its tear-down: its fixtures' work is its cost too.
def pytest_runtest_logstart(nodeid, location) -> None:
    note(nodeid)


def pytest_runtest_logfinish(nodeid, location) -> None:
    note(BETWEEN_TESTS)


def pytest_unconfigure(config) -> None:
    """Gone with the process: a later process given the same id runs no test of ours."""
    final = this_process_s_note()
    if final is not None:
        final.unlink(missing_ok=True)
