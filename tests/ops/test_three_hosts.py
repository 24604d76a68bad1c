"""docs/operations/hosts.md followed once: three hosts, each a network namespace of its own
(its own address on a private bridge, its own loopback), the data services on one, two
identical app hosts; a client outside uses both, and beat fails over between them."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from deploy.services import pg_binary, wait_until, weed_binary
from tests.files import samples
from tests.support import clients
from tests.support.tls import make_tls
from tests.support.worker import wait_for

BASE_DIR = Path(__file__).resolve().parents[2]
NETWORK = "10.231.77"  # a private /24 this test makes and removes
BRIDGE = "cfp-br0"
HOSTS = {"data": f"{NETWORK}.2", "app1": f"{NETWORK}.3", "app2": f"{NETWORK}.4"}
S3_KEY, S3_SECRET = "threehosts", "three-hosts-secret"
OURS = {  # the test's own settings replace whatever the suite's processes use
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "PORTAL_FILES_ROOT",
    "PORTAL_DATA_DIR",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "PGPASSWORD",
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("three_hosts"),
    pytest.mark.skipif(
        os.geteuid() != 0 or not shutil.which("ip"), reason="network namespaces need root"
    ),
]


def ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True, timeout=30)


def namespace(host: str) -> str:
    return f"cfp-{host}"


def in_host(host: str, command: list[str]) -> list[str]:
    return ["ip", "netns", "exec", namespace(host), *command]


def network_remove() -> None:
    for host in HOSTS:
        ip("netns", "del", namespace(host), check=False)
        # A run stopped between making a host's cable and moving its end into the host
        # leaves the pair outside: deleting one end deletes both.
        ip("link", "del", f"cfp-{host}-o", check=False)
    ip("link", "del", BRIDGE, check=False)


@contextlib.contextmanager
def three_hosts():
    """The bridge (10.231.77.1 for the outside) and a namespace per host, wired to it."""
    network_remove()  # what a crashed earlier run left
    ip("link", "add", BRIDGE, "type", "bridge")
    ip("addr", "add", f"{NETWORK}.1/24", "dev", BRIDGE)
    ip("link", "set", BRIDGE, "up")
    try:
        for host, address in HOSTS.items():
            ns, outside, inside = namespace(host), f"cfp-{host}-o", f"cfp-{host}-i"
            ip("netns", "add", ns)
            ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            ip("link", "set", inside, "netns", ns)
            ip("link", "set", outside, "master", BRIDGE, "up")
            ip("-n", ns, "addr", "add", f"{address}/24", "dev", inside)
            ip("-n", ns, "link", "set", inside, "up")
            ip("-n", ns, "link", "set", "lo", "up")
        yield
    finally:
        network_remove()


class Processes:
    def __init__(self, logs: Path):
        self.logs = logs
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], env=None, cwd=None) -> subprocess.Popen:
        process = subprocess.Popen(
            command,
            cwd=cwd or BASE_DIR,
            env=env,
            stdout=(self.logs / f"{name}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process in reversed(self.started.values()):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.started.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def reachable(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=2).close()
        return True
    except OSError:
        return False


def data_host(root: Path, run: Processes, password: str) -> Path:
    """PostgreSQL (TLS only, scram-sha-256), Redis (TLS only, a password) and SeaweedFS's
    S3, on the data host's address. Returns the CA that signed their certificates."""
    address = HOSTS["data"]
    tls = make_tls(root / "tls", label="data host", addresses=(address,))
    pg = root / "postgres"
    pg.mkdir()
    password_file = pg / "password"
    password_file.write_text(password + "\n")
    server_cert, server_key = pg / "server.pem", pg / "server.key"
    shutil.copy(tls.cert, server_cert)
    shutil.copy(tls.key, server_key)
    server_key.chmod(0o600)
    for path in (pg, password_file, server_cert, server_key):
        shutil.chown(path, "postgres")
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *as_postgres,
            pg_binary("initdb"),
            "-D",
            str(pg / "data"),
            "-U",
            "postgres",
            "-A",
            "scram-sha-256",
            f"--pwfile={password_file}",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    (pg / "data" / "pg_hba.conf").write_text(f"hostssl all all {NETWORK}.0/24 scram-sha-256\n")
    options = (
        f"-c listen_addresses={address} -p 5432 -k {pg} -c ssl=on "
        f"-c ssl_cert_file={server_cert} -c ssl_key_file={server_key} -c fsync=off"
    )
    subprocess.run(
        [
            *in_host("data", [*as_postgres, pg_binary("pg_ctl"), "-D", str(pg / "data")]),
            "-o",
            options,
            "-l",
            str(pg / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    run.started["postgres"] = None  # stopped by pg_ctl below
    subprocess.run(
        in_host("data", [pg_binary("createdb"), "-h", address, "-U", "postgres", "portal"]),
        check=True,
        capture_output=True,
        env={**os.environ, "PGPASSWORD": password, "PGSSLMODE": "require"},
    )
    run.start(
        "redis",
        in_host(
            "data",
            [
                shutil.which("redis-server"),
                "--port",
                "0",
                "--tls-port",
                "6380",
                "--bind",
                address,
                "--tls-cert-file",
                str(tls.cert),
                "--tls-key-file",
                str(tls.key),
                "--tls-ca-cert-file",
                str(tls.ca),
                "--tls-auth-clients",
                "no",
                "--requirepass",
                password,
                "--save",
                "",
                "--dir",
                str(root),
            ],
        ),
    )
    weed = root / "seaweedfs"
    (weed / "data").mkdir(parents=True)
    identity = {
        "name": "portal",
        "credentials": [{"accessKey": S3_KEY, "secretKey": S3_SECRET}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    (weed / "s3.json").write_text(json.dumps({"identities": [identity]}))
    run.start(
        "seaweedfs",
        in_host(
            "data",
            [
                weed_binary(),
                "mini",
                f"-dir={weed / 'data'}",
                f"-ip={address}",
                f"-ip.bind={address}",
                "-s3.port=8333",
                f"-s3.config={weed / 's3.json'}",
                f"-filer.localSocket={weed / 'f.sock'}",
                f"-s3.localSocket={weed / 's.sock'}",
                "-s3.autoCreateBucket=false",
                "-webdav=false",
                "-admin.ui=false",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-master.telemetry=false",
            ],
        ),
        cwd=weed,
    )
    wait_until(lambda: reachable(address, 6380), what="Redis on the data host")
    wait_until(lambda: reachable(address, 8333), what="S3 on the data host", timeout=90)
    return tls.ca


def portal_env(root: Path, host: str, password: str, ca: Path, secret_key: str) -> dict:
    """One portal.env for both app hosts; only the data folder is the host's own."""
    data = HOSTS["data"]
    folder = root / host
    folder.mkdir(mode=0o700, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in OURS}
    env.update(
        {
            "PORTAL_ENVIRONMENT": "development",
            "DEBUG": "false",
            "SECRET_KEY": secret_key,
            "ALLOWED_HOSTS": f"{HOSTS['app1']},{HOSTS['app2']}",
            "PORTAL_PUBLIC_BASE_URL": f"http://{HOSTS['app1']}:8080",
            "PORTAL_TRUSTED_PROXIES": "127.0.0.1",
            "PORTAL_DATA_DIR": str(folder),
            "DATABASE_URL": (
                f"postgres://postgres@{data}:5432/portal?sslmode=verify-full&sslrootcert={ca}"
            ),
            "PGPASSWORD": password,
            "CELERY_BROKER_URL": f"rediss://:{password}@{data}:6380/0",
            "REDIS_TLS_CA_FILE": str(ca),
            "S3_BUCKET": "portal-files",
            "S3_ENDPOINT_URL": f"http://{data}:8333",
            "S3_ACCESS_KEY_ID": S3_KEY,
            "S3_SECRET_ACCESS_KEY": S3_SECRET,
            "S3_REGION": "us-east-1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def manage(host: str, env: dict, *args: str) -> str:
    done = subprocess.run(
        in_host(host, [sys.executable, "manage.py", *args]),
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


NGINX = """
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 128; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    client_max_body_size 100m;
    server {{
        listen {address}:8080;
        location / {{
            proxy_pass http://127.0.0.1:8101;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Request-ID $request_id;
        }}
    }}
}}
"""


def app_host(root: Path, host: str, env: dict, run: Processes) -> None:
    """nginx on the host's address in front of a gunicorn on its loopback, a worker, beat."""
    folder = root / f"{host}-nginx"
    folder.mkdir()
    folder.chmod(0o777)  # nginx's workers run as nobody
    (folder / "nginx.conf").write_text(NGINX.format(folder=folder, address=HOSTS[host]))
    web_env = {
        **env,
        "PORTAL_BIND": "127.0.0.1:8101",
        "PORTAL_RUN_DIR": str(Path(env["PORTAL_DATA_DIR"]) / "run"),
        "WEB_CONCURRENCY": "1",
    }
    run.start(
        f"{host}-web",
        in_host(host, [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]),
        env=web_env,
    )
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    run.start(
        f"{host}-worker",
        [
            *in_host(host, [*celery, "worker", "-n", f"worker1@{host}", "--concurrency=1"]),
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
        ],
        env=env,
    )
    run.start(
        f"{host}-beat",
        [
            *in_host(host, [*celery, "beat", "--loglevel=INFO"]),
            f"--schedule={Path(env['PORTAL_DATA_DIR']) / 'celerybeat-schedule'}",
        ],
        env=env,
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    run.start(
        f"{host}-nginx",
        [
            *in_host(host, [nginx, "-p", str(folder), "-e", str(folder / "error.log")]),
            "-c",
            str(folder / "nginx.conf"),
        ],
    )


def test_three_hosts_serve_process_and_fail_over(tmp_path):
    """GIVEN the layout of docs/operations/hosts.md on three namespaces WHEN a client uses
    app1 and app2 THEN a patient made through one is there through the other, a photo sent
    to app2 is processed (by either host's worker) and the same bytes come from both; only
    nginx is reachable from outside an app host; one beat is active, and when it is
    SIGKILLed the other host's takes over within a minute."""
    root = Path(tempfile.mkdtemp(prefix="portal-three-hosts-"))
    root.chmod(0o755)
    run = Processes(tmp_path)
    password = secrets.token_urlsafe(16)
    secret_key = secrets.token_urlsafe(50)
    pg_data = root / "data-host" / "postgres" / "data"
    try:
        with three_hosts():
            (root / "data-host").mkdir()
            ca = data_host(root / "data-host", run, password)
            envs = {
                host: portal_env(root, host, password, ca, secret_key) for host in ("app1", "app2")
            }
            manage("app1", envs["app1"], "migrate", "--noinput", "-v", "0")
            manage("app1", envs["app1"], "storage_setup")
            created = json.loads(
                manage("app1", envs["app1"], "create_account", "Three Hosts Clinic")
                .strip()
                .splitlines()[-1]
            )
            for host in ("app1", "app2"):
                app_host(root, host, envs[host], run)
            urls = {host: f"http://{HOSTS[host]}:8080" for host in ("app1", "app2")}
            for host, url in urls.items():
                wait_until(
                    lambda url=url: requests.get(f"{url}/healthz", timeout=5).ok,
                    what=f"{host} through nginx",
                    timeout=120,
                )

            api = clients.keyed(created["api_key"])
            patient = api.post(
                f"{urls['app1']}/api/v1/patients",
                json={"first_name": "Ada", "last_name": "Hosts", "date_of_birth": "1970-03-04"},
                timeout=30,
            )
            assert patient.status_code == 201, patient.text
            patient_id = patient.json()["id"]
            assert api.get(f"{urls['app2']}/api/v1/patients/{patient_id}", timeout=30).ok
            uploaded = clients.xon_upload(
                api, urls["app2"], user_id=patient_id, name="a.jpg", data=samples.jpeg((400, 300))
            )
            assert uploaded.status_code == 201, uploaded.text
            file_id = uploaded.json()[0]["id"]
            wait_for(
                lambda: api.get(f"{urls['app1']}/api/v1/files/{file_id}", timeout=30).ok,
                timeout=120,
                interval=1,
                message="the photo was never processed:\n" + run.log("app1-worker")[-2000:],
            )
            digests = {
                hashlib.sha256(
                    api.get(f"{url}/api/v1/files/{file_id}", timeout=30).content
                ).hexdigest()
                for url in urls.values()
            }
            assert len(digests) == 1

            for host in ("app1", "app2"):  # gunicorn is on the host's loopback only
                assert reachable(HOSTS[host], 8080)
                assert not reachable(HOSTS[host], 8101)

            def roles():
                found = {}
                for host in ("app1", "app2"):
                    text = run.log(f"{host}-beat")
                    if "is active; it sends" in text:
                        found[host] = "active"
                    elif "is a standby" in text:
                        found[host] = "standby"
                return found if len(found) == 2 else None

            found = wait_for(roles, timeout=60, interval=0.5, message="beats did not start")
            assert sorted(found.values()) == ["active", "standby"], found
            active = next(host for host, role in found.items() if role == "active")
            standby = "app2" if active == "app1" else "app1"
            run.started[f"{active}-beat"].send_signal(signal.SIGKILL)
            killed = time.monotonic()
            wait_for(
                lambda: "is active; it sends" in run.log(f"{standby}-beat"),
                timeout=60,
                interval=0.5,
                message=run.log(f"{standby}-beat")[-2000:],
            )
            assert time.monotonic() - killed < 60
    finally:
        run.started.pop("postgres", None)
        run.stop_all()
        if pg_data.exists():
            subprocess.run(
                [
                    "runuser",
                    "-u",
                    "postgres",
                    "--",
                    pg_binary("pg_ctl"),
                    "-D",
                    str(pg_data),
                    "-m",
                    "immediate",
                    "stop",
                ],
                capture_output=True,
            )
        shutil.rmtree(root, ignore_errors=True)
