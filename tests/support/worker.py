"""A real Celery worker process for tests, on the test database and the current storage.

Tests that use it must let their transactions commit (``transaction=True``),
since the worker is another process with its own database connection.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from portal.ops.tasks import heartbeat_task
from tests.support.commands import celery_worker_command

BASE_DIR = Path(settings.BASE_DIR)


def heartbeat_request() -> None:
    """Ask a worker to check in, once the current transaction commits: a task that
    changes nothing but the worker's heartbeat row, to watch a real worker run one."""
    transaction.on_commit(partial(heartbeat_task.delay))


def test_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def storage_env() -> dict[str, str]:
    """Environment that points another process at this process's current storage."""
    options = settings.STORAGES["default"].get("OPTIONS", {})
    if "bucket_name" in options:
        return {"S3_BUCKET": options["bucket_name"]}
    return {"PORTAL_FILES_ROOT": str(options["location"])}


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = os.environ.copy()
    env.pop("S3_BUCKET", None)
    env.pop("PORTAL_FILES_ROOT", None)
    env.update(
        {
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "PYTHONUNBUFFERED": "1",
            # Celery's Django fixup runs every system check (URLs, templates, models) at
            # each worker start: a quarter of its start-up CPU, over seventy times a run.
            # The suite runs them through manage.py check (tests/config/test_environment.py,
            # tests/ops/test_deployment_defaults.py); a production worker still runs them.
            "CELERY_SKIP_CHECKS": "1",
            **storage_env(),
        }
    )
    env.update(extra or {})
    return env


class WorkerProcess:
    def __init__(self, process: subprocess.Popen, log_path: Path, name: str):
        self.process = process
        self.log_path = log_path
        self.name = name

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def child_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def celery_worker(tmp_path: Path, *, concurrency: int = 1, beat: bool = False, extra_env=None):
    """Start ``celery -A config worker``, wait until it is ready, stop it afterwards."""
    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    log_path = tmp_path / f"{name.split('@')[0]}.log"
    command = celery_worker_command(hostname=name, concurrency=concurrency)
    if beat:
        command += ["--beat", f"--schedule={tmp_path / 'beat-schedule'}"]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=worker_env(extra_env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(process, log_path, name)
    try:
        deadline = time.monotonic() + 60
        while " ready." not in worker.log():
            if process.poll() is not None:
                raise RuntimeError(f"Celery worker exited at start:\n{worker.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Celery worker not ready in 60s:\n{worker.log()}")
            time.sleep(0.1)
        yield worker
    finally:
        worker.stop()


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.1, message: str = ""):
    """Poll until ``predicate()`` is truthy (returns its value) or fail with ``message``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout}s")
        time.sleep(interval)
