"""Starts the real servers the suite runs against: PostgreSQL, Redis and moto's S3 server.

Loaded with ``-p tests.plugins.services`` (see pyproject.toml). Its hook wraps
``pytest_load_initial_conftests`` so the servers are up, and their addresses in
the environment, before pytest-django imports the settings. Under xdist the
controller starts them once; workers inherit the addresses and get their own
Redis database and data folder. Set ``PORTAL_TEST_SERVICES=external`` to use
servers you run yourself (with DATABASE_URL etc. set).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

OWNED: list[tuple[str, object]] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, *, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # a server that is still starting answers with anything
            last_error = exc
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {timeout:.0f}s ({last_error})")


def pg_binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise RuntimeError(
            f"{name} not found: install PostgreSQL (make test does: apt-get install postgresql)."
        )
    return found


def as_postgres_user(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root, so as root the server runs as ``postgres``."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def start_postgres(workdir: Path) -> str:
    port = free_port()
    pgdir = workdir / "pg"
    pgdir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
        shutil.chown(pgdir, "postgres")
    datadir = pgdir / "data"
    subprocess.run(
        as_postgres_user(
            [
                pg_binary("initdb"),
                "-D",
                str(datadir),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = (
        f"-p {port} -h 127.0.0.1 -k {pgdir} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=300"
    )
    subprocess.run(
        as_postgres_user(
            [
                pg_binary("pg_ctl"),
                "-D",
                str(datadir),
                "-o",
                options,
                "-l",
                str(pgdir / "server.log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    OWNED.append(("postgres", datadir))
    return f"postgres://postgres@127.0.0.1:{port}/portal"


def stop_postgres(datadir: Path) -> None:
    subprocess.run(
        as_postgres_user([pg_binary("pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_redis(workdir: Path) -> str:
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError(
            "redis-server not found: make test installs it (apt-get install redis-server)."
        )
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--databases",
            "64",
            "--maxmemory-policy",
            "noeviction",
        ],
        stdout=subprocess.DEVNULL,
    )
    OWNED.append(("process", process))

    def ping() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    wait_until(ping, what="redis-server")
    return f"redis://127.0.0.1:{port}"


def start_moto(workdir: Path) -> str:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=(workdir / "moto.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    OWNED.append(("process", process))
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: urllib.request.urlopen(f"{url}/moto-api/", timeout=1), what="moto server")
    return url


def stop_all() -> None:
    while OWNED:
        kind, handle = OWNED.pop()
        if kind == "postgres":
            stop_postgres(handle)
        else:
            with contextlib.suppress(ProcessLookupError):
                handle.send_signal(signal.SIGTERM)
            try:
                handle.wait(timeout=10)
            except subprocess.TimeoutExpired:
                handle.kill()


def start_services() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="portal-test-"))
    os.chmod(workdir, 0o755)
    atexit.register(stop_all)
    atexit.register(shutil.rmtree, workdir, True)
    os.environ.update(
        {
            "PORTAL_TEST_SERVICES": "started",
            "PORTAL_TEST_WORKDIR": str(workdir),
            "DATABASE_URL": start_postgres(workdir),
            "TEST_REDIS_URL": start_redis(workdir),
            "S3_ENDPOINT_URL": start_moto(workdir),
            "S3_ACCESS_KEY_ID": "testing",
            "S3_SECRET_ACCESS_KEY": "testing",
            "S3_REGION": "us-east-1",
        }
    )


def configure_this_process() -> None:
    """Per-process settings: each xdist worker gets its own Redis db and data folder."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    data_dir = Path(os.environ["PORTAL_TEST_WORKDIR"]) / f"data-{worker}"
    data_dir.mkdir(exist_ok=True)
    os.environ["PORTAL_DATA_DIR"] = str(data_dir)
    os.environ["CELERY_BROKER_URL"] = f"{os.environ['TEST_REDIS_URL']}/{1 + index}"
    os.environ["PORTAL_ENVIRONMENT"] = "test"
    os.environ["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "true"
    # Playwright's sync API keeps an event loop in the test thread; Django would
    # otherwise refuse ORM calls from that thread. Tests only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    os.environ.pop("S3_BUCKET", None)


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    mode = os.environ.get("PORTAL_TEST_SERVICES")
    if mode not in ("started", "external"):
        start_services()
    if mode != "external":
        configure_this_process()
    return (yield)


def pytest_unconfigure(config):
    stop_all()
