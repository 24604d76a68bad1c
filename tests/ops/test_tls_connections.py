"""Redis over TLS (rediss://) and PostgreSQL with sslmode: what the settings make of such
URLs, then real servers that accept only TLS, reached by the portal's own processes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings

from deploy.services import as_postgres_user, free_port, pg_binary
from tests.support.commands import python_in_a_fresh_process
from tests.support.tls import make_tls

BASE_DIR = Path(settings.BASE_DIR)
REDIS_PASSWORD = "r3dis-pass-word"

SHOW_SETTINGS = """
import json, ssl
import django
django.setup()
from django.conf import settings
from config.celery import app
conn = app.connection_for_write()
print(json.dumps({
    "database": settings.DATABASES["default"]["OPTIONS"],
    "broker_use_ssl": {k: (v.name if isinstance(v, ssl.VerifyMode) else v)
                       for k, v in (app.conf.broker_use_ssl or {}).items()},
    "redis_backend_use_ssl": bool(app.conf.redis_backend_use_ssl),
    "connection_ssl": {k: (v.name if isinstance(v, ssl.VerifyMode) else v)
                       for k, v in (conn.ssl or {}).items()},
    "broker_password": conn.password,
}))
"""

PING_BROKER = """
import django
django.setup()
from config.celery import app
with app.connection_for_write() as conn:
    conn.ensure_connection(max_retries=1, timeout=5)
    print("PONG" if conn.default_channel.client.ping() else "no answer")
"""

DATABASE_SSL = """
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    print(*cursor.fetchone())
"""


def portal_python(code: str, **variables: str) -> subprocess.CompletedProcess:
    """``code`` in a new process with the portal's settings built from ``variables``."""
    return python_in_a_fresh_process(
        code,
        env_changes={"PORTAL_ENVIRONMENT": "test", **variables},
        without=tuple(name for name in os.environ if name.startswith("REDIS_TLS_")),
    )


# --- settings -------------------------------------------------------------------------


@pytest.mark.slow
def test_tls_options_reach_celery_and_django():
    """GIVEN a rediss:// broker URL with a password and a CA file, and a PostgreSQL URL with
    sslmode=require and a root certificate WHEN the settings are built THEN Celery's
    broker_use_ssl (and the Redis result backend's) requires a verified certificate for
    the host, from that CA, and Django's DATABASES OPTIONS carry sslmode and sslrootcert."""
    shown = portal_python(
        SHOW_SETTINGS,
        CELERY_BROKER_URL=f"rediss://:{REDIS_PASSWORD}@redis.internal:6380/0",
        REDIS_TLS_CA_FILE="/etc/clinic-portal/redis-ca.pem",
        DATABASE_URL=(
            "postgres://portal:pw@db.internal:5432/portal"
            "?sslmode=require&sslrootcert=/etc/clinic-portal/db-ca.pem"
        ),
    )
    assert shown.returncode == 0, shown.stderr
    values = json.loads(shown.stdout.strip().splitlines()[-1])
    database = values["database"]  # beside the time budgets' own options
    assert database["sslmode"] == "require"
    assert database["sslrootcert"] == "/etc/clinic-portal/db-ca.pem"
    wanted = {
        "ssl_cert_reqs": "CERT_REQUIRED",
        "ssl_check_hostname": True,
        "ssl_ca_certs": "/etc/clinic-portal/redis-ca.pem",
        "ssl_certfile": None,
        "ssl_keyfile": None,
    }
    assert values["broker_use_ssl"] == wanted
    assert values["connection_ssl"] == wanted
    assert values["redis_backend_use_ssl"]
    assert values["broker_password"] == REDIS_PASSWORD
    assert "insecure" not in shown.stderr  # kombu's warning for a rediss:// checking nothing


@pytest.mark.slow
def test_a_plain_redis_url_has_no_tls_options():
    """GIVEN redis:// WHEN the settings are built THEN no TLS options are set."""
    shown = portal_python(SHOW_SETTINGS, CELERY_BROKER_URL="redis://127.0.0.1:6379/0")
    assert shown.returncode == 0, shown.stderr
    values = json.loads(shown.stdout.strip().splitlines()[-1])
    assert values["broker_use_ssl"] == {} and values["connection_ssl"] == {}


# --- Redis that speaks only TLS ---------------------------------------------------------


@pytest.fixture(scope="module")
def tls_redis():
    folder = Path(tempfile.mkdtemp(prefix="portal-tls-redis-"))
    tls = make_tls(folder / "tls", label="redis")
    port = free_port()
    process = subprocess.Popen(
        [
            shutil.which("redis-server"),
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--tls-cert-file",
            str(tls.cert),
            "--tls-key-file",
            str(tls.key),
            "--tls-ca-cert-file",
            str(tls.ca),
            "--tls-auth-clients",
            "no",
            "--requirepass",
            REDIS_PASSWORD,
            "--save",
            "",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port, tls, folder
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_the_broker_is_reached_over_verified_tls(tls_redis):
    """GIVEN Redis listening only on TLS, with a password WHEN a portal process connects
    with rediss:// and the CA that signed the server's certificate THEN Redis answers."""
    port, tls, _ = tls_redis
    answer = portal_python(
        PING_BROKER,
        CELERY_BROKER_URL=f"rediss://:{REDIS_PASSWORD}@localhost:{port}/0",
        REDIS_TLS_CA_FILE=str(tls.ca),
    )
    assert answer.returncode == 0, answer.stderr[-2000:]
    assert answer.stdout.strip().endswith("PONG")


@pytest.mark.slow
@pytest.mark.parametrize("case", ["a CA that did not sign it", "the system's CAs"])
def test_a_broker_certificate_nobody_vouches_for_is_refused(case, tls_redis):
    """GIVEN Redis over TLS with a certificate from a private CA WHEN a portal process
    connects trusting another CA, or only the system's THEN it refuses to talk to it
    (kombu's own default for rediss:// would have accepted any certificate)."""
    port, _, folder = tls_redis
    variables = {"CELERY_BROKER_URL": f"rediss://:{REDIS_PASSWORD}@localhost:{port}/0"}
    if case == "a CA that did not sign it":
        variables["REDIS_TLS_CA_FILE"] = str(make_tls(folder / "other", label="other").ca)
    answer = portal_python(PING_BROKER, **variables)
    assert answer.returncode != 0, answer.stdout
    assert "CERTIFICATE_VERIFY_FAILED" in answer.stderr or "certificate verify" in answer.stderr


@pytest.mark.slow
def test_a_broker_certificate_for_another_host_is_refused(tls_redis):
    """GIVEN the server's certificate names localhost and 127.0.0.1 WHEN the URL names the
    host by another name (::1's loopback alias is not in it) THEN refused: the host is checked."""
    port, tls, _ = tls_redis
    alias = socket.gethostname()
    with contextlib.suppress(OSError):
        if alias != "localhost" and socket.gethostbyname(alias) == "127.0.0.1":
            answer = portal_python(
                PING_BROKER,
                CELERY_BROKER_URL=f"rediss://:{REDIS_PASSWORD}@{alias}:{port}/0",
                REDIS_TLS_CA_FILE=str(tls.ca),
            )
            assert answer.returncode != 0, answer.stdout
            assert "mismatch" in answer.stderr, answer.stderr[-2000:]
            return
    pytest.skip("this machine's name does not lead to 127.0.0.1")


# --- PostgreSQL that accepts only TLS ---------------------------------------------------


@pytest.mark.slow
def test_the_database_is_reached_over_tls_only_when_the_url_asks(tmp_path):
    """GIVEN PostgreSQL accepting TCP connections only over TLS WHEN a portal process
    connects with sslmode=require, and with sslmode=verify-full and the CA THEN it runs its
    queries over TLS; with sslmode=disable the server turns it away."""
    root = Path(tempfile.mkdtemp(prefix="portal-tls-pg-"))
    root.chmod(0o755)
    tls = make_tls(root / "tls", label="postgres")
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        for path in (tls.cert, tls.key):
            shutil.chown(path, "postgres")
    port = free_port()
    subprocess.run(
        as_postgres_user(
            [pg_binary("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (data / "pg_hba.conf").write_text(
        "local all all trust\n"
        "hostssl all all 127.0.0.1/32 trust\n"
        "hostnossl all all 127.0.0.1/32 reject\n"
    )
    options = (
        f"-p {port} -h 127.0.0.1 -k {root} -c ssl=on -c ssl_cert_file={tls.cert} "
        f"-c ssl_key_file={tls.key} -c fsync=off"
    )
    pg_ctl = as_postgres_user([pg_binary("pg_ctl"), "-D", str(data)])
    subprocess.run(
        [*pg_ctl, "-o", options, "-l", str(root / "log"), "-w", "start"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        url = f"postgres://postgres@localhost:{port}/postgres"
        for query in ("sslmode=require", f"sslmode=verify-full&sslrootcert={tls.ca}"):
            answer = portal_python(DATABASE_SSL, DATABASE_URL=f"{url}?{query}")
            assert answer.returncode == 0, answer.stderr[-2000:]
            assert answer.stdout.split()[-2] == "True", answer.stdout
            assert answer.stdout.split()[-1].startswith("TLSv1."), answer.stdout
        refused = portal_python(DATABASE_SSL, DATABASE_URL=f"{url}?sslmode=disable")
        assert refused.returncode != 0
        assert "no encryption" in refused.stderr or "rejects connection" in refused.stderr
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], stdout=subprocess.DEVNULL)
        shutil.rmtree(root, ignore_errors=True)
