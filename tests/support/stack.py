"""The real stack for fault and load tests: gunicorn serving the portal on a free loopback
port, a dedicated redis-server that can be restarted on its port, HTTP helpers.

Like ``tests/support/worker.py``, everything here runs in other processes on the test
database, so tests that use it commit (``transaction=True``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from deploy.services import free_port, redis_answers, start_redis, stop_processes, wait_until
from tests.support.commands import gunicorn_command
from tests.support.worker import BASE_DIR, worker_env


class PortalServer:
    def __init__(self, process: subprocess.Popen, port: int, log_path: Path):
        self.process = process
        self.port = port
        self.log_path = log_path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# For a test that changes a dependency and probes straight after: every probe checks
# afresh, rather than taking a result up to a second old (the sharing of checks is judged
# in tests/config/test_healthz.py).
FRESH_PROBES = {"PORTAL_HEALTH_PROBE_REUSE_SECONDS": "0"}


@contextlib.contextmanager
def portal_server(tmp_path: Path, *, workers: int = 2, threads: int = 4, extra_env=None):
    """gunicorn serving ``config.wsgi`` on 127.0.0.1, on this test's database, broker and
    storage (``worker_env``), until the block ends."""
    port = free_port()
    log_path = tmp_path / f"gunicorn-{port}.log"
    env = worker_env({"PORTAL_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", **(extra_env or {})})
    command = gunicorn_command(port=port, workers=workers, threads=threads, timeout=60)
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    server = PortalServer(process, port, log_path)

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited at start:\n{server.log()}")
        return requests.get(f"{server.url}/healthz", timeout=2).status_code in (200, 503)

    try:
        wait_until(answers, what="gunicorn", timeout=60)
        yield server
    finally:
        server.stop()


class RedisServer:
    """A redis-server of one test's own, which the test may kill and start again on its port.

    Append-only file with ``appendfsync always``: what production runs when queued
    tasks must survive a restart of Redis.
    """

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = start_redis(
            self.workdir,
            self.port,
            durable=True,
            settings={"appendfsync": "always"},
            timeout=20,
        )
        return self

    def ping(self) -> bool:
        return redis_answers(self.port)

    def kill(self) -> None:
        """SIGKILL: no goodbye, no save; only what the append-only file already holds."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.kill()
        self.restarts += 1
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            stop_processes([self.process], timeout=10)

    def queue_length(self, queue: str = "celery") -> int:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(f"LLEN {queue}\r\n".encode())
            answer = sock.recv(64)
        return int(answer.strip().lstrip(b":"))


def manage(*args: str, extra_env=None) -> subprocess.CompletedProcess:
    """``manage.py`` in another process, on this test's database, broker and storage."""
    env = worker_env(extra_env)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def wait_for_http(predicate, *, timeout: float, message: str = ""):
    """Poll ``predicate`` (which may raise a requests error while a server is down)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(message or f"condition not met within {timeout}s ({last})")


def env_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}
