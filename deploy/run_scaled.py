"""``make run-scaled``: the scaled shape on one box, as production runs it, on loopback.

PostgreSQL, Redis (the Celery broker), SeaweedFS (S3, enforcing POST policies), nginx as
the buffering reverse proxy (deploy/nginx/), two gunicorns (deploy/gunicorn.conf.py), two
Celery workers with distinct names and one beat. One command starts it all and Ctrl-C
stops it all. A portal process that dies is started again (as systemd's Restart=always
does on a server: deploy/systemd/); a data service that dies stops the run.

Everything lives in ``$PORTAL_DATA_DIR/scaled`` (default data/scaled): the database,
the queue, the bucket, generated secrets (secrets.env), logs/. Ports: PORTAL_SCALED_PORT
(nginx, default 8080) and the next fifteen.

Run as root (a container, CI), no server runs as root: PostgreSQL runs as ``postgres``,
Redis, SeaweedFS, nginx and the portal's processes as ``clinic-portal`` (made with useradd
if missing), as the systemd units run them on a server (deploy/systemd/). PostgreSQL asks
for a password (scram-sha-256; PGPASSWORD in secrets.env), never trusts a connection.

Stopping: Ctrl-C, SIGTERM, SIGHUP or SIGQUIT, however many and in whatever order, start
the one orderly stop, which always runs to its end: a signal only notes that a stop was
asked, so none can cut the stop short and leave a server behind.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from string import Template

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:  # run as a script (make run-scaled): deploy/ is on the path
    sys.path.insert(0, str(BASE_DIR))

from config import supervisor  # noqa: E402
from deploy import services  # noqa: E402

DEPLOY = BASE_DIR / "deploy"
PYTHON = sys.executable
BUCKET = "portal-files"
# secrets.env's names before the portal's variables took one prefix, read from a data
# folder an earlier release made.
FORMER_SECRET_NAMES = ("SECRET_KEY", "METRICS_TOKEN", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")
# How long a gunicorn that is still running may take to answer /healthz. Two gunicorns, two
# workers and beat import Django at once; on a small machine that is busy with other work
# that has taken over a minute. A gunicorn that exits fails the start at once.
PORTAL_START_SECONDS = 180


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
            name: base + 6 + offset for offset, name in enumerate(services.WEED_PORTS)
        }
        self.services: dict[str, subprocess.Popen] = {}
        # The portal's processes, kept running by the embedded shape's restart policy.
        self.portal: dict[str, supervisor.Program] = {}
        self.stopping = False
        self.signals: list[str] = []
        self.postgres = services.Postgres(self.root / "postgres", self.ports["postgres"])
        self.user = run_user()

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
        for former in FORMER_SECRET_NAMES:  # a data folder made before the PORTAL_ names
            if former in values:
                values.setdefault(f"PORTAL_{former}", values.pop(former))
        wanted = {
            "PORTAL_SECRET_KEY": lambda: secrets.token_urlsafe(50),
            "PORTAL_METRICS_TOKEN": lambda: secrets.token_urlsafe(32),
            "PORTAL_S3_ACCESS_KEY_ID": lambda: "portal" + secrets.token_hex(6),
            "PORTAL_S3_SECRET_ACCESS_KEY": lambda: secrets.token_urlsafe(30),
            # PostgreSQL's password for this run (libpq reads PGPASSWORD): portal.env's
            # DATABASE_URL holds none.
            "PGPASSWORD": lambda: secrets.token_urlsafe(24),
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
            "PORTAL_DEBUG": "false",
            "PORTAL_DATA_DIR": str(self.root / "portal"),
            "PORTAL_DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.ports['postgres']}/portal",
            "PORTAL_CELERY_BROKER_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "PORTAL_S3_BUCKET": BUCKET,
            "PORTAL_S3_ENDPOINT_URL": f"http://127.0.0.1:{self.ports['s3']}",
            "PORTAL_S3_REGION": "us-east-1",
            "PORTAL_PUBLIC_BASE_URL": f"http://127.0.0.1:{self.ports['nginx']}",
            "PORT": str(self.ports["nginx"]),
            "PORTAL_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PORTAL_TRUSTED_PROXIES": "127.0.0.1",
        }

    def portal_env(self, secret: dict[str, str]) -> dict[str, str]:
        env = os.environ.copy()
        # Files live in this run's bucket, never in a folder the operator's shell names.
        env.pop("PORTAL_FILES_ROOT", None)
        env.update({**self.portal_variables(), "PYTHONUNBUFFERED": "1", **secret})
        if self.user:
            env.update(HOME=str(self.root / "portal"), USER=self.user.pw_name)
        return env

    # --- the run's user ----------------------------------------------------------------

    def as_user(self, portal: bool = False) -> dict:
        """Popen's arguments that start a server (``portal``: one of the portal's Python
        processes) as the run's user; nothing when not root."""
        user = self.portal_user() if portal else self.user
        if not user:
            return {}
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def portal_user(self) -> pwd.struct_passwd | None:
        """The run's user for the portal's processes, if it can run them: with this Python,
        or else with a small venv of the system's own Python of the same version that
        reads this venv's packages (``user_python``). When neither can, they run as root,
        which the run says once."""
        if not self.user:
            return None
        if self._python_usable is None:
            self._python_usable = self.runs_portal(PYTHON)
            if not self._python_usable:
                fallback = self.user_python()
                if fallback and self.runs_portal(fallback):
                    self.python = fallback
                    self._python_usable = True
                    say(
                        f"The portal's processes run as {self.user.pw_name} with {fallback} "
                        f"(the system's Python; {PYTHON} is in a folder only root may read)."
                    )
            if not self._python_usable:
                say(
                    f"The portal's processes run as root: {self.user.pw_name} cannot run "
                    f"{PYTHON} (its interpreter or the checkout is in a folder only root may "
                    "read). Install Python and the checkout where other users can read them "
                    "(e.g. /opt) to run them as that user; Redis, SeaweedFS and nginx run as "
                    f"{self.user.pw_name} either way."
                )
        return self.user if self._python_usable else None

    def runs_portal(self, python: str) -> bool:
        """Whether the run's user can start ``python`` and import what the portal's
        processes run on (an older Python than the lock's may lack a package the lock
        left out for its own version: redis-py wants async-timeout before 3.11.3)."""
        try:
            tried = subprocess.run(
                [python, "-c", "import django, celery, gunicorn, redis, psycopg, boto3, PIL"],
                cwd=BASE_DIR,
                capture_output=True,
                user=self.user.pw_uid,
                group=self.user.pw_gid,
                extra_groups=[],
            )
        except OSError:  # not even allowed to start it
            return False
        return tried.returncode == 0

    def user_python(self) -> str | None:
        """A venv of the system's Python of this very version (``/usr/bin/python3.11``:
        compiled packages are built for the minor version) whose one ``.pth`` line points
        at this venv's packages, so the run's user runs the same code without a second
        install. None when the system has no such Python or cannot make a venv."""
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        system = next(
            (str(path) for path in (Path("/usr/bin") / version, Path("/usr/local/bin") / version)
             if path.exists()),
            None,
        )  # fmt: skip
        if not system:
            return None
        venv = self.root / "python"
        python = venv / "bin" / "python"
        if not python.exists():
            made = subprocess.run(
                [system, "-m", "venv", "--without-pip", str(venv)], capture_output=True
            )
            if made.returncode != 0:
                return None
        purelib = Path(sysconfig.get_paths()["purelib"])
        platlib = Path(sysconfig.get_paths()["platlib"])
        site = next((venv / "lib").glob("python*/site-packages"))
        lines = dict.fromkeys([str(purelib), str(platlib)])
        (site / "portal-packages.pth").write_text("".join(f"{line}\n" for line in lines))
        return str(python)

    _python_usable: bool | None = None
    python: str = PYTHON

    def own(self, path: Path, portal: bool = False) -> None:
        """``path`` and everything in it the run's user's (an earlier run as root made it)."""
        user = self.portal_user() if portal else self.user
        if not user:
            return
        os.chown(path, user.pw_uid, user.pw_gid)
        for folder, folders, files in os.walk(path):
            for name in folders + files:
                os.chown(Path(folder) / name, user.pw_uid, user.pw_gid)

    def write_portal_env(self) -> None:
        """The portal's own variables (not the secrets, which stay in secrets.env), so an
        operator can run manage.py (backup, restore) against this run from another shell:
        ``set -a; . portal.env; . secrets.env; set +a``."""
        path = self.root / "portal.env"
        path.write_text("".join(f"{n}={v}\n" for n, v in self.portal_variables().items()))
        path.chmod(0o600)

    # --- data services (deploy/services.py starts, waits for and stops them) ----------

    def start_postgres(self) -> None:
        """A cluster that asks every connection for a password (scram-sha-256): one made by
        an earlier run with trust authentication is given the password and switched."""
        self.postgres.start()
        self.postgres.create_database("portal")

    def stop_postgres(self) -> None:
        self.postgres.stop()

    def spawn(
        self, name: str, cmd: list[str], env=None, cwd=None, portal: bool = False
    ) -> subprocess.Popen:
        """A server in a session of its own (a signal to this script's group reaches only
        the script, which stops the rest in order), as the run's user."""
        return subprocess.Popen(cmd, **self.popen(name, env=env, cwd=cwd, portal=portal))

    def popen(self, name: str, env=None, cwd=None, portal: bool = False) -> dict:
        """Popen's arguments for one of the run's processes: its log in logs/, a session of
        its own, the run's user."""
        return {
            "env": env,
            "cwd": cwd or BASE_DIR,
            "stdout": (self.logs / f"{name}.log").open("ab"),
            "stderr": subprocess.STDOUT,
            "start_new_session": True,
            **self.as_user(portal),
        }

    def start_redis(self) -> None:
        """The broker, its queue kept in an append-only file across restarts."""
        redis_dir = self.root / "redis"
        self.services["redis"] = services.start_redis(
            redis_dir,
            self.ports["redis"],
            durable=True,
            stop=self.stop_asked,
            **self.popen("redis", cwd=redis_dir),
        )

    def start_seaweedfs(self, secret: dict[str, str]) -> None:
        weed_dir = self.root / "seaweedfs"
        self.services["seaweedfs"] = services.start_seaweedfs(
            weed_dir,
            self.ports["s3"],
            access_key=secret["PORTAL_S3_ACCESS_KEY_ID"],
            secret_key=secret["PORTAL_S3_SECRET_ACCESS_KEY"],
            ports=self.weed_ports,
            timeout=90,
            stop=self.stop_asked,
            **self.popen("seaweedfs", cwd=weed_dir),
        )

    def start_nginx(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            sys.exit("nginx not found: run `make system-deps` (Debian's nginx package).")
        nginx_dir = self.root / "nginx"
        temp = nginx_dir / "temp"
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (temp / sub).mkdir(parents=True, exist_ok=True)
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
        # As the run's user: nginx's master is no more root than its workers (-e: its
        # error log before it reads the configuration, not /var/log/nginx's).
        self.own(nginx_dir)
        files = ["-p", str(nginx_dir), "-e", str(nginx_dir / "error.log")]
        files += ["-c", str(nginx_dir / "nginx.conf")]
        subprocess.run([nginx, "-t", "-q", *files], check=True, **self.as_user())
        self.services["nginx"] = self.spawn("nginx", [nginx, *files])
        services.wait_until(
            lambda: services.accepts(self.ports["nginx"]),
            what="nginx",
            process=self.services["nginx"],
            stop=self.stop_asked,
        )
        services.wait_until(
            lambda: services.answers_http(f"http://127.0.0.1:{self.ports['nginx']}/healthz"),
            what="nginx -> gunicorn",
            timeout=PORTAL_START_SECONDS,
        )

    # --- the portal's processes ---------------------------------------------------

    def portal_commands(self, env: dict[str, str]) -> dict[str, tuple[list[str], dict]]:
        schedule = Path(env["PORTAL_DATA_DIR"]) / "celerybeat-schedule"
        self.portal_user()  # chooses self.python
        commands = {}
        for web in ("web1", "web2"):
            web_env = {**env, "PORTAL_BIND": f"127.0.0.1:{self.ports[web]}"}
            commands[web] = (
                [self.python, "-m", "gunicorn", "-c", str(DEPLOY / "gunicorn.conf.py")],
                web_env,
            )
        for number in (1, 2):
            commands[f"worker{number}"] = (
                [
                    self.python,
                    "-m",
                    "celery",
                    "-A",
                    "config",
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
                self.python,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                f"--schedule={schedule}",
                "--loglevel=INFO",
            ],
            env,
        )
        return commands

    def start_portal(self, env: dict[str, str]) -> None:
        Path(env["PORTAL_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        self.own(Path(env["PORTAL_DATA_DIR"]), portal=True)
        for name, (cmd, process_env) in self.portal_commands(env).items():
            self.portal[name] = supervisor.Program(name, cmd, env=process_env)
            self.program_start(self.portal[name])
        for web in ("web1", "web2"):
            services.wait_until(
                lambda web=web: services.answers_http(
                    f"http://127.0.0.1:{self.ports[web]}/healthz"
                ),
                what=f"gunicorn {web}",
                timeout=PORTAL_START_SECONDS,
                process=self.portal[web].process,
                stop=self.stop_asked,
            )

    def manage(self, env: dict[str, str], *args: str, capture=False) -> str:
        self.stop_asked()
        self.portal_user()  # chooses self.python
        result = subprocess.run(
            [self.python, "manage.py", *args],
            cwd=BASE_DIR,
            env=env,
            check=True,
            capture_output=capture,
            text=True,
            **self.as_user(portal=True),
        )
        return result.stdout if capture else ""

    def program_start(self, program: supervisor.Program) -> None:
        program.started(self.spawn(program.name, program.command, env=program.env, portal=True))

    def supervise(self) -> None:
        """A data service that stops ends the run; a portal process that exits is started
        again after the same back-off as the embedded shape's (config/supervisor.py)."""
        while not self.stopping:
            time.sleep(0.5)
            for name, process in self.services.items():
                if process.poll() is not None and not self.stopping:
                    say(f"{name} stopped (exit {process.returncode}): stopping the run.")
                    return
            supervisor.tend(
                self.portal.values(),
                start=self.program_start,
                say=say,
                stopping=lambda: self.stopping,
            )

    # --- stopping ------------------------------------------------------------------

    def on_signal(self, signum, frame) -> None:
        """Only notes the stop: it raises nothing, so a signal arriving while the run stops
        (a second Ctrl-C, make passing SIGTERM on, a closed terminal's SIGHUP) cannot
        interrupt the stop half-way and leave servers running."""
        self.stopping = True
        self.signals.append(signal.Signals(signum).name)

    def stop_asked(self) -> None:
        """Between the steps of the start: a stop asked meanwhile ends the start here."""
        if self.stopping:
            raise StopAsked

    def stop(self) -> None:
        """Everything stops, in order: the proxy and the portal's processes together (each
        finishes what it holds), then the data services. Any signal that arrives now is
        only noted (on_signal): nothing cuts this short."""
        self.stopping = True
        first = [program.process for program in self.portal.values() if program.process]
        if "nginx" in self.services:
            first.append(self.services["nginx"])
        services.stop_processes(first)
        services.stop_processes(
            [self.services[n] for n in ("seaweedfs", "redis") if n in self.services]
        )
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
                f"  Metrics     curl -H 'Authorization: Bearer {env['PORTAL_METRICS_TOKEN']}' "
                f"{url}/metrics",
                f"  State       {self.root}   (PostgreSQL, Redis and SeaweedFS data; logs/)",
                "  Back up     python manage.py backup <new folder>, with that folder's",
                "              portal.env and secrets.env in the environment: the database and",
                "              the bucket, with checksums (docs/operations/backup.md). A copy of",
                "              the folder while it runs is no backup.",
                "  Keep apart  secrets.env: its PORTAL_SECRET_KEY decrypts the webhook secrets;",
                "              a backup never holds it.",
                "  Ctrl-C stops everything.",
                "",
            ]
        )

    def main(self) -> int:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self.on_signal)
        secret = self.secrets()
        self.postgres.password = secret["PGPASSWORD"]
        env = self.portal_env(secret)
        self.write_portal_env()
        status = 0
        try:
            self.start_postgres()
            self.stop_asked()
            self.start_redis()
            self.stop_asked()
            self.start_seaweedfs(secret)
            self.manage(env, "storage_setup")
            self.manage(env, "migrate", "--noinput", "--verbosity", "0")
            self.manage(env, "check")
            demo = self.manage(env, "demo_setup", "--port", str(self.ports["nginx"]), capture=True)
            self.start_portal(env)
            self.start_nginx()
            self.stop_asked()
            say(self.banner(env, demo))
            self.supervise()
        except StopAsked:
            pass
        except services.ServiceError as error:
            say(f"Cannot start: {error}")
            status = 1
        finally:
            if self.signals:
                say(f"\n{self.signals[0]} received: stopping everything…")
            self.stop()
        return status


# Each of these asks the run to stop, in order, whatever arrives after it.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
RUN_USER = "clinic-portal"


class StopAsked(Exception):
    """A stop signal arrived while the run was starting."""


def run_user() -> pwd.struct_passwd | None:
    """The user the servers run as when this script is root: clinic-portal, made (a system
    user without a login) if missing. None when not root: they run as whoever runs this."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(RUN_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    made = subprocess.run(
        [
            useradd,
            *("--system", "--no-create-home", "--home-dir", "/nonexistent"),
            *("--shell", "/usr/sbin/nologin", "--user-group", RUN_USER),
        ],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        say(
            f"Could not make the user {RUN_USER} ({made.stderr.strip() or useradd}): "
            "the servers run as root."
        )
        return None
    return pwd.getpwnam(RUN_USER)


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(Run().main())
