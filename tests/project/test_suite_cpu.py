"""``scripts/suite_cpu.py --by-test``: the CPU a test's processes spend is put down to it.

The pure part (one look at the processes against the last) on made-up process tables; the
whole on a real pytest run whose one test starts a busy child and whose other only waits.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import suite_cpu
from scripts.suite_cpu import NO_TEST, spent_since

ROOT = Path(__file__).resolve().parents[2]
# A pytest of a test file in its own folder, without this project's Django, xdist or cache.
PLUGINS_LEFT_OUT = ["-p", "no:django", "-p", "no:cacheprovider", "-p", "no:xdist"]
BARE_PYTEST = [sys.executable, "-m", "pytest", "-q", *PLUGINS_LEFT_OUT]
WORKER = "python -u -c import sys;exec(eval(sys.stdin.readline()))"
RENDERER = "/usr/lib/chromium/chromium --type=renderer --lang=en-GB"


def test_a_grandchild_s_cpu_since_the_last_look_is_its_worker_s_test():
    before = {
        (10, 1): (1, 5.0, WORKER),
        (20, 2): (10, 1.0, "node cli.js"),
        (30, 3): (20, 2.0, RENDERER),
    }
    now = {
        (10, 1): (1, 5.5, WORKER),
        (20, 2): (10, 1.0, "node cli.js"),
        (30, 3): (20, 4.5, RENDERER),
    }
    spent = spent_since(before, now, {10: "tests/a.py::test_page"})
    assert spent == {
        ("tests/a.py::test_page", "pytest xdist workers"): 0.5,
        ("tests/a.py::test_page", "Chromium renderers"): 2.5,
    }


def test_a_process_begun_since_the_last_look_counts_whole_and_one_seen_before_only_its_growth():
    before = {(10, 1): (1, 5.0, WORKER), (40, 7): (1, 9.0, "postgres: portal portal 127.0.0.1")}
    now = {
        (10, 1): (1, 5.0, WORKER),
        (41, 8): (10, 1.2, "python -m celery -A config worker"),
        (40, 7): (1, 9.3, "postgres: portal portal 127.0.0.1"),
    }
    spent = spent_since(before, now, {10: "tests/b.py::test_task"})
    assert spent == {
        ("tests/b.py::test_task", "Celery workers"): 1.2,
        (NO_TEST, "PostgreSQL"): pytest.approx(0.3),
    }


def test_a_process_id_used_again_is_a_new_process_and_the_old_one_s_total_is_not_subtracted():
    before = {(50, 1): (10, 30.0, "python manage.py migrate")}
    now = {(50, 9): (10, 0.8, "python manage.py check")}
    spent = spent_since(before, now, {10: "tests/c.py::test_check"})
    assert spent == {("tests/c.py::test_check", "manage.py, other commands"): 0.8}


def test_a_process_with_no_pytest_ancestor_is_no_test_s():
    now = {(60, 1): (1, 2.0, "redis-server 127.0.0.1:6379"), (70, 1): (60, 1.0, "other")}
    spent = spent_since({}, now, {10: "tests/d.py::test_x"})
    assert spent == {(NO_TEST, "Redis"): 2.0, (NO_TEST, "other"): 1.0}


def test_a_command_that_cannot_be_run_is_named_and_nothing_is_measured(capsys):
    assert suite_cpu.main(["--by-test", "no-such-command-here", "-q"]) == 2
    assert "Cannot run no-such-command-here: No such file or directory." in capsys.readouterr().err


BUSY_AND_IDLE = """
import subprocess, sys, time

def test_starts_a_busy_child():
    subprocess.run([sys.executable, "-c",
        "import time\\nt = time.process_time()\\nwhile time.process_time() - t < 2.5: pass"],
        check=True)

def test_only_waits():
    time.sleep(2.5)
"""


@pytest.mark.slow
def test_a_real_run_puts_a_child_s_cpu_on_the_test_that_started_it(tmp_path):
    tests = tmp_path / "test_busy_and_idle.py"
    tests.write_text(BUSY_AND_IDLE)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # its own root: node ids from here
    done = subprocess.run(
        [sys.executable, "scripts/suite_cpu.py", "--by-test", *BARE_PYTEST, str(tests)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    rows = {
        match[2]: (float(match[1]), match[3])
        for match in re.finditer(
            r"^\s+([\d.]+)\s+(\S+::\S+)\s+\((.*)\)$", done.stdout, re.MULTILINE
        )
    }
    by_name = {node_id.rsplit("::", 1)[1]: row for node_id, row in rows.items()}
    assert "test_starts_a_busy_child" in by_name, done.stdout
    busy, kinds = by_name["test_starts_a_busy_child"]
    assert busy >= 1.0, done.stdout
    assert "other Python processes" in kinds, done.stdout  # the child's, not pytest's
    assert by_name.get("test_only_waits", (0.0, ""))[0] < busy / 4, done.stdout


READS_ITS_OWN_NOTE = """
import os
from pathlib import Path

def test_reads_its_own_note():
    note = Path(os.environ["PORTAL_TEST_RUNNING_DIR"], str(os.getpid()))
    assert note.read_text().endswith("::test_reads_its_own_note")
"""


@pytest.mark.slow
def test_the_plugin_names_the_running_test_and_clears_its_note_when_pytest_ends(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_note.py").write_text(READS_ITS_OWN_NOTE)
    notes = tmp_path / "notes"
    notes.mkdir()
    done = subprocess.run(
        [*BARE_PYTEST, "-p", "tests.plugins.running_test", str(tmp_path / "test_note.py")],
        cwd=ROOT,
        env={**os.environ, "PORTAL_TEST_RUNNING_DIR": str(notes)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(notes.iterdir()) == []
