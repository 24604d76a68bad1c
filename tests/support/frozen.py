"""Servers of one test's own that the test may freeze (SIGSTOP), thaw (SIGCONT) and stop:
PostgreSQL, Redis and SeaweedFS, each a real server on a loopback port.

The suite's shared servers are never frozen: every other test would hang behind them.
A frozen process keeps its listening socket, so the kernel still completes TCP
handshakes (up to the listen backlog) while nothing ever answers: the hanging
dependency an operator meets, unlike a stopped one, whose port refuses at once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import boto3

from deploy.services import Postgres, free_port, pg_binary, wait_until
from tests.plugins.services import S3_TEST_ACCESS_KEY, S3_TEST_SECRET_KEY, launch_seaweedfs
from tests.support.stack import RedisServer


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process under it, parents first."""
    found = [pid]
    for index in range(len(found) + 10_000):
        if index >= len(found):
            break
        children = Path(f"/proc/{found[index]}/task/{found[index]}/children")
        with contextlib.suppress(OSError):
            found.extend(int(child) for child in children.read_text().split())
    return found


def signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


class Freezable:
    """A server whose processes can be frozen and thawed; ``frozen`` lists them so a
    thaw (in a ``finally``) continues exactly what was stopped."""

    name = ""
    frozen: list[int]

    def pids(self) -> list[int]:
        raise NotImplementedError

    def freeze(self) -> None:
        # The parent first, so it forks no new child while the others are stopped.
        self.frozen = self.pids()
        signal_all(self.frozen, signal.SIGSTOP)

    def thaw(self) -> None:
        signal_all(list(reversed(getattr(self, "frozen", []))), signal.SIGCONT)
        self.frozen = []


class DedicatedPostgres(Freezable):
    """A PostgreSQL server holding a copy of the test database (schema and committed
    rows, by pg_dump and pg_restore), in a world-traversable folder (as root the server
    runs as ``postgres``, who cannot enter pytest's private temporary folders)."""

    name = "database"

    def __init__(self, source_url: str):
        self.source_url = source_url
        self.root = Path(tempfile.mkdtemp(prefix="portal-frozen-pg-"))
        self.root.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self.port = free_port()
        self.cluster = Postgres(self.root, self.port, durable=False)
        self.datadir = self.cluster.data
        self.frozen = []

    @property
    def server_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.server_url}/portal"

    def start(self) -> DedicatedPostgres:
        new = not (self.datadir / "PG_VERSION").exists()
        self.cluster.start()
        if new:
            self.copy_test_database()
        return self

    def copy_test_database(self) -> None:
        subprocess.run(
            [pg_binary("createdb"), f"--maintenance-db={self.server_url}/postgres", "portal"],
            check=True,
        )
        dump = subprocess.run(
            [pg_binary("pg_dump"), "--format=custom", "--no-owner", self.source_url],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [pg_binary("pg_restore"), "--no-owner", "--dbname", self.url],
            input=dump.stdout,
            check=True,
        )

    def pids(self) -> list[int]:
        postmaster = int((self.datadir / "postmaster.pid").read_text().split()[0])
        return process_tree(postmaster)

    def stop(self) -> None:
        self.thaw()
        self.cluster.stop(immediate=True)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class DedicatedRedis(Freezable):
    """A redis-server of the test's own (tests/support/stack.RedisServer)."""

    name = "broker"

    def __init__(self, workdir: Path):
        self.server = RedisServer(workdir)
        self.frozen = []

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> DedicatedRedis:
        self.server.start()
        return self

    def pids(self) -> list[int]:
        return [self.server.process.pid]

    def stop(self) -> None:
        self.thaw()
        self.server.kill()

    def close(self) -> None:
        self.stop()


class DedicatedSeaweed(Freezable):
    """``weed mini`` of the test's own, with one bucket."""

    name = "storage"

    def __init__(self, workdir: Path, bucket: str = "frozen-test"):
        self.workdir = workdir
        self.bucket = bucket
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.frozen = []

    def start(self) -> DedicatedSeaweed:
        shutil.rmtree(self.workdir / "seaweedfs", ignore_errors=True)
        self.url, self.process = launch_seaweedfs(self.workdir)
        s3 = boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=S3_TEST_ACCESS_KEY,
            aws_secret_access_key=S3_TEST_SECRET_KEY,
        )
        s3.create_bucket(Bucket=self.bucket)
        return self

    def pids(self) -> list[int]:
        return process_tree(self.process.pid)

    def stop(self) -> None:
        self.thaw()
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def close(self) -> None:
        self.stop()


__all__ = ["DedicatedPostgres", "DedicatedRedis", "DedicatedSeaweed", "wait_until"]
