"""The portal's scaled shape, started by the benchmark on free loopback ports, and stopped again.

PostgreSQL and Redis of the run's own (started with the test suite's own starters in
``tests/plugins/services.py``, so the benchmark and the tests run the same servers), private
filesystem storage in a temporary data folder, gunicorn serving the portal and Celery workers
on Redis. The scaled shape because that is where gunicorn and several workers run; filesystem
storage rather than S3 because S3 here would be moto, a Python server on the same two cores,
whose own cost would swamp the portal's in every serving figure.

Nothing here touches the developer's own data folder or database.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from benchmarks import proc
from benchmarks.fixtures import REPO_DIR
from deploy.services import as_postgres_user, free_port, pg_binary, wait_until
from tests.plugins.services import start_postgres, start_redis, stop_all
from tests.support.commands import celery_worker_command, gunicorn_command

# Variables of the developer's own shell that would point the stack elsewhere.
FOREIGN_VARIABLES = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "DJANGO_SETTINGS_MODULE",
    "PORTAL_FILES_ROOT",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)
CELERY_LOG_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): ")


def postgres_version() -> str:
    try:
        out = subprocess.run(
            [pg_binary("postgres"), "--version"], capture_output=True, text=True, check=True
        ).stdout
    except (RuntimeError, OSError, subprocess.CalledProcessError):
        return "not installed"
    found = re.search(r"\(PostgreSQL\) (\S+)", out)
    return found[1] if found else out.strip()


def redis_version() -> str:
    binary = shutil.which("redis-server")
    if not binary:
        return "not installed"
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    found = re.search(r"v=(\S+)", out)
    return found[1] if found else out.strip()


def log_time(line: str) -> float | None:
    """The epoch time at the start of a Celery log line (its local-time stamp), or None."""
    found = CELERY_LOG_TIME.match(line)
    if not found:
        return None
    return datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()


@dataclass
class Process:
    """A server or worker the stack started: its process and its log file."""

    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def children(self) -> list[int]:
        return proc.children(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class WebServer(Process):
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Stack:
    """PostgreSQL + Redis + a data folder; gunicorn and Celery workers started on demand."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
        os.chmod(self.workdir, 0o755)  # PostgreSQL runs as its own user under root
        self.data_dir = self.workdir / "data"
        self.temp_dir = self.workdir / "tmp"
        self.database_url = ""
        self.broker_url = ""

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def start(self) -> None:
        self.data_dir.mkdir()
        self.temp_dir.mkdir()
        self.database_url = start_postgres(self.workdir)
        host_port = self.database_url.split("@", 1)[1].split("/", 1)[0]
        host, port = host_port.split(":")
        subprocess.run(
            as_postgres_user(
                [pg_binary("createdb"), "-h", host, "-p", port, "-U", "postgres", "portal"]
            ),
            check=True,
        )
        self.broker_url = f"{start_redis(self.workdir)}/0"
        self.manage("migrate", "--noinput", "-v0")

    def postgres_pids(self) -> list[int]:
        """The postmaster and its children (one backend per open connection)."""
        pid_file = self.workdir / "pg" / "data" / "postmaster.pid"
        postmaster = int(pid_file.read_text().split()[0])
        return [postmaster, *proc.children(postmaster)]

    def close(self) -> None:
        stop_all()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def env(self, **extra: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in FOREIGN_VARIABLES}
        env.update(
            {
                "PORTAL_ENVIRONMENT": "development",
                "DEBUG": "false",  # DEBUG keeps every query in memory; no server runs so
                "PORTAL_DATA_DIR": str(self.data_dir),
                "FILE_UPLOAD_TEMP_DIR": str(self.temp_dir),
                "DATABASE_URL": self.database_url,
                "CELERY_BROKER_URL": self.broker_url,
                "LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
                # Most sections upload while no worker runs: the in-app doors' wait for the
                # worker would only add its bound to each upload. The section
                # that measures that wait (upload_answer) sets it itself.
                "FILES_SYNC_WAIT_SECONDS": "0",
                **extra,
            }
        )
        return env

    def python(self, *args: str, **extra_env: str) -> str:
        """Python in the checkout, on this stack; what it printed."""
        return subprocess.run(
            [sys.executable, *args],
            cwd=REPO_DIR,
            env=self.env(**extra_env),
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def manage(self, *args: str) -> str:
        return self.python("manage.py", *args)

    def seed(self, *args: str) -> dict:
        """``python -m benchmarks.seed ARGS`` on this stack's database; its JSON answer."""
        return json.loads(self.python("-m", "benchmarks.seed", *args).strip().splitlines()[-1])

    @contextlib.contextmanager
    def gunicorn(
        self,
        *,
        workers: int,
        threads: int,
        settings_module: str = "config.settings",
        **extra_env: str,
    ):
        """gunicorn on a free loopback port until the block ends. ``threads`` > 1 makes gunicorn
        use its gthread worker, which keeps connections alive; 1 is the sync worker."""
        port = free_port()
        log_path = self.workdir / f"gunicorn-{port}.log"
        command = gunicorn_command(port=port, workers=workers, threads=threads, timeout=300)
        env = self.env(
            DJANGO_SETTINGS_MODULE=settings_module,
            PORTAL_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            **extra_env,
        )
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                command, cwd=REPO_DIR, env=env, stdout=log_file, stderr=subprocess.STDOUT
            )
        server = WebServer(process, log_path, port)

        def answers() -> bool:
            import requests

            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start:\n{server.log()[-2000:]}")
            healthy = requests.get(f"{server.url}/healthz", timeout=2).status_code == 200
            return healthy and len(server.children()) == workers

        try:
            wait_until(answers, what="gunicorn", timeout=60)
            yield server
        finally:
            server.stop()

    @contextlib.contextmanager
    def celery_worker(self, *, concurrency: int, reencode: bool = False):
        """``celery -A config worker`` (prefork, no beat) until the block ends; yields once the
        worker has logged that it is ready, with the time of that line. ``reencode``: the
        worker cleans images by re-encoding them, as before lossless cleaning
        (``benchmarks.reencode_worker``)."""
        log_path = self.workdir / f"celery-{time.monotonic_ns()}.log"
        command = celery_worker_command(
            hostname=f"bench-{concurrency}-{os.getpid()}@localhost", concurrency=concurrency
        )
        if reencode:
            assert command[1:3] == ["-m", "celery"], command
            command[2] = "benchmarks.reencode_worker"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                command, cwd=REPO_DIR, env=self.env(), stdout=log_file, stderr=subprocess.STDOUT
            )
        worker = Process(process, log_path)

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"Celery worker exited at start:\n{worker.log()[-2000:]}")
            return " ready." in worker.log()

        try:
            wait_until(ready, what="Celery worker", timeout=60)
            yield worker
        finally:
            worker.stop()
