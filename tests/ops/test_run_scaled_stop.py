"""`make run-scaled` as an operator stops it: signals arriving while it stops (a second
SIGTERM, a closed terminal's SIGHUP, SIGQUIT, Ctrl-C) never leave a server behind; and
while it runs no server is root and PostgreSQL wants a password."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy.services import pg_binary
from tests.ops.test_make_run_scaled import processes_of, run_scaled_started
from tests.support.worker import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run_scaled")]


def owner(pid: int) -> str | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return pwd.getpwuid(int(line.split()[1])).pw_name
    except (OSError, KeyError):
        return None
    return None


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_signals_during_the_stop_leave_no_server_running_and_none_ran_as_root(tmp_path):
    """GIVEN `make run-scaled` serving WHEN it is sent SIGTERM, then, while it stops, SIGHUP,
    SIGTERM, SIGINT and SIGQUIT THEN it finishes its stop (\"Stopped.\") and no process of
    the run remains: PostgreSQL, Redis, SeaweedFS, nginx, gunicorns, workers and beat. And
    while it ran (as root here): PostgreSQL ran as postgres, every other server as
    clinic-portal, and PostgreSQL refused a connection without the password."""
    log_path = tmp_path / "run-scaled.log"
    make, base, data_dir = run_scaled_started(log_path, "portal-run-scaled-stop-")
    owners: dict[str, set[str]] = {}
    without_password = None
    try:
        wait_for(
            lambda: "Ctrl-C stops everything." in log_path.read_text() or make.poll() is not None,
            timeout=300,
            interval=0.5,
        )
        assert make.poll() is None, log_path.read_text()[-3000:]
        for pid in processes_of(data_dir, ""):
            command = command_of(pid)
            if "run_scaled.py" in command or command.startswith("make"):
                continue
            program = command.split()[0]
            kind = (
                "postgres"
                if "postgres" in program
                else "portal"
                if "python" in program or "gunicorn" in command or "celery" in command
                else "server"
            )
            owners.setdefault(kind, set()).add(owner(pid))
        without_password = subprocess.run(
            [
                pg_binary("psql"),
                *("-h", "127.0.0.1", "-p", str(base + 3), "-U", "postgres"),
                *("-w", "-tAc", "SELECT 1"),
            ],
            capture_output=True,
            text=True,
            env={k: v for k, v in os.environ.items() if k != "PGPASSWORD"},
            timeout=30,
        )

        [script] = [p for p in processes_of(data_dir, "run_scaled.py") if p != make.pid]
        os.kill(script, signal.SIGTERM)
        time.sleep(0.5)  # the stop has begun: workers and gunicorns are finishing
        for later in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            with contextlib.suppress(ProcessLookupError):
                os.kill(script, later)
            time.sleep(0.2)
        make.wait(timeout=150)
        wait_for(
            lambda: not processes_of(data_dir, ""),
            timeout=15,
            message="left running: " + "; ".join(command_of(p) for p in processes_of(data_dir, "")),
        )
        output = log_path.read_text()
        assert "Stopped." in output, output[-3000:]
    finally:
        leftovers = processes_of(data_dir, "")
        for pid in leftovers:  # never leave servers behind on the machine
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signal.SIGKILL)
    if os.geteuid() == 0:
        assert owners["postgres"] == {"postgres"}, owners
        assert owners["server"] == {"clinic-portal"}, owners  # Redis, SeaweedFS, nginx
        # The portal's Python processes too: with this Python, or, when it lives where that
        # user cannot read (pyenv under /root, as on this machine), with the system's own
        # Python of the same version. Only a machine with neither runs them as root, and
        # the run says so in words.
        system_python = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
        cannot = "The portal's processes run as root: clinic-portal cannot run" in output
        if system_python.exists():
            assert not cannot, output
        assert owners["portal"] == ({"root"} if cannot else {"clinic-portal"}), owners
    assert without_password.returncode != 0
    assert "password" in without_password.stderr, without_password.stderr
    hba = (data_dir / "scaled" / "postgres" / "data" / "pg_hba.conf").read_text()
    rules = [line for line in hba.splitlines() if line.strip() and not line.startswith("#")]
    assert rules and all(line.split()[-1] == "scram-sha-256" for line in rules), rules
    shutil.rmtree(data_dir.parent, ignore_errors=True)
