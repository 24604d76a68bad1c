"""The embedded shape (``make run``) in a test: its own data folder, its own port, none of
the test servers (no DATABASE_URL, broker or bucket from the suite), driven over HTTP.

The embedded shape keeps its own SQLite database, so this test process cannot use the
ORM on it: it talks to the portal through its API and pages, runs ``manage.py`` commands
in the shape's environment, and reads the SQLite file directly for final counts.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

from deploy.services import free_port

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# What the suite sets for its own servers; the embedded shape must use its defaults.
SUITE_VARIABLES = {
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "PORTAL_ENVIRONMENT",
    "PORTAL_FILES_ROOT",
    "PORTAL_PUBLIC_BASE_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "DJANGO_SETTINGS_MODULE",
    "SMS_BACKEND",
    "SMS_FILE_PATH",
    "PORT",
    "DEBUG",
    "SECRET_KEY",
}


def embedded_env(data_dir: Path, port: int, extra: dict[str, str] | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SUITE_VARIABLES}
    env.update({"PORTAL_DATA_DIR": str(data_dir), "PORT": str(port), "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


def manage(env: dict, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """``manage.py`` in the embedded shape's environment; fails the test if it fails."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done


def processes_in_session(session_id: int) -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every process in a session."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, ppid, sid = fields[0], int(fields[1]), int(fields[3])
        if sid == session_id and state != "Z":
            found.append((int(entry.name), ppid, cmdline))
    return found


class EmbeddedShape:
    def __init__(self, process: subprocess.Popen, port: int, log_path: Path, env: dict):
        self.process = process
        self.port = port
        self.log_path = log_path
        self.env = env

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def program_pid(self, name: str) -> int | None:
        """The pid of the supervised program ``web``, ``worker`` or ``beat`` (its main
        process: the one the supervisor started)."""
        processes = processes_in_session(self.process.pid)
        supervisors = {pid for pid, _, cmd in processes if "run_embedded" in cmd}
        words = {"web": "gunicorn", "worker": " worker", "beat": " beat"}[name]
        for pid, ppid, cmd in processes:
            if ppid in supervisors and words in cmd:
                return pid
        return None

    def kill_program(self, name: str) -> int:
        """SIGKILL a program's main process and its children, as the OOM killer might."""
        pid = self.program_pid(name)
        assert pid, f"no {name} process:\n{self.log()[-3000:]}"
        children = [p for p, ppid, _ in processes_in_session(self.process.pid) if ppid == pid]
        for victim in [pid, *children]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        return pid

    def wait_log(self, text: str, *, timeout: float, count: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            if self.process.poll() is not None:
                raise AssertionError(f"the embedded shape exited:\n{self.log()[-5000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{text!r} not in the log in {timeout}s:\n{self.log()[-5000:]}"
                )
            time.sleep(0.2)

    def stop(self) -> int:
        """Ctrl-C: SIGINT to the whole foreground group, as a terminal sends it."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def leftover(self) -> list[tuple[int, int, str]]:
        return processes_in_session(self.process.pid)

    def database(self) -> sqlite3.Connection:
        """The shape's SQLite database, read-only."""
        path = Path(self.env["PORTAL_DATA_DIR"]) / "portal.sqlite3"
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


@contextlib.contextmanager
def embedded_shape(tmp_path: Path, *, via_make: bool = False, port: int | None = None,
                   extra_env: dict[str, str] | None = None):  # fmt: skip
    """Start the embedded shape (``make run``, or ``manage.py run_embedded`` after a
    migrate and the demo set-up, which is what ``make run`` does) and wait until it
    serves; Ctrl-C it afterwards."""
    port = port or free_port()
    data_dir = tmp_path / "data"
    env = embedded_env(data_dir, port, extra_env)
    if via_make:
        command = ["make", "run"]
    else:
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "demo_setup", "--port", str(port))
        command = [sys.executable, "manage.py", "run_embedded", "--port", str(port)]
    log_path = tmp_path / f"embedded-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    shape = EmbeddedShape(process, port, log_path, env)
    try:
        shape.wait_log("supervisor: serving on", timeout=240)
        shape.wait_log(" ready.", timeout=90)  # the worker
        yield shape
    finally:
        shape.stop()


def api_key_for(shape: EmbeddedShape, name: str) -> tuple[str, str]:
    """A new clinic in the shape; (account id, API key)."""
    created = json.loads(manage(shape.env, "create_account", name).stdout.strip().splitlines()[-1])
    return created["account_id"], created["api_key"]


def file_request(
    session: requests.Session,
    shape: EmbeddedShape,
    account_id: str,
    *,
    mobile: str,
    date_of_birth: str,
    webhook_url: str | None = None,
) -> dict:
    """A file request through the X-on API (which also makes the patient)."""
    body = {
        "prompt": "Please send a photo of the rash.",
        "type": "photo",
        "accountUserId": "1",
        "accountId": account_id,
        "staffName": "Dr Soak",
        "patientMobile": mobile,
        "patientDateOfBirth": date_of_birth,
        "patientFirstName": "Pat",
        "patientLastName": "Ient",
    }
    if webhook_url:
        body["filesUpdateWebhookUrl"] = webhook_url
    answer = session.post(f"{shape.url}/api/v1/file-requests", json=body, timeout=60)
    assert answer.status_code in (200, 201), (answer.status_code, answer.text[:500])
    return answer.json()
