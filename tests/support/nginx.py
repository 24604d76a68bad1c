"""nginx for tests: the shipped configuration (deploy/nginx/), rendered as `make run-scaled`
renders it, in front of the given upstreams: plain HTTP on one loopback port, TLS (a
self-signed certificate made here) on another, the HTTP-to-HTTPS redirect on a third."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from string import Template

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from deploy.services import free_port, wait_until

BASE_DIR = Path(__file__).resolve().parent.parent.parent
TEMPLATES = BASE_DIR / "deploy" / "nginx"


def nginx_binary() -> str:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("nginx is installed by make system-deps")
    return nginx


def self_signed_certificate(folder: Path, names=("localhost",), addresses=("127.0.0.1",)):
    """A P-256 key and a certificate for ``names`` and ``addresses``, valid for a day;
    the two PEM paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = dt.datetime.now(dt.UTC)
    alternative = [x509.DNSName(n) for n in names] + [
        x509.IPAddress(ipaddress.ip_address(a)) for a in addresses
    ]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "portal.crt", folder / "portal.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


@dataclass
class Nginx:
    folder: Path
    port: int  # plain HTTP, served (a loopback listener, as run-scaled has)
    https_port: int
    http_port: int  # plain HTTP that only redirects to HTTPS (port 80 in production)
    certificate: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def access_log(self) -> str:
        path = self.folder / "portal-access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def render(folder: Path, *, upstreams: list[int], upstream_options: str = "") -> Nginx:
    """Render deploy/nginx/*.template into ``folder`` (nginx.conf and portal.conf)."""
    temp = folder / "temp"
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (temp / sub).mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(LookupError, PermissionError):  # workers run as nobody
            shutil.chown(temp / sub, "nobody")
    cert, key = self_signed_certificate(folder)
    server = Nginx(folder, free_port(), free_port(), free_port(), cert)
    values = {
        "PORTAL_HTTPS_LISTEN": f"127.0.0.1:{server.https_port}",
        "PORTAL_HTTP_LISTEN": f"127.0.0.1:{server.http_port}",
        "PORTAL_HTTPS_ORIGIN": server.https_url,
        "PORTAL_PLAIN_LISTEN": f"listen 127.0.0.1:{server.port};",
        "PORTAL_TLS_CERTIFICATE": str(cert),
        "PORTAL_TLS_CERTIFICATE_KEY": str(key),
        "PORTAL_SERVER_NAME": "127.0.0.1 localhost",
        "PORTAL_UPSTREAMS": " ".join(
            f"server 127.0.0.1:{port}{upstream_options};" for port in upstreams
        ),
        "PORTAL_METRICS_ALLOW": "",
        "PORTAL_NGINX_TEMP": str(temp),
        "PORTAL_NGINX_DIR": str(folder),
        "PORTAL_NGINX_LOG_DIR": str(folder),
    }
    for source, target in (("portal.conf", "portal.conf"), ("run-scaled.conf", "nginx.conf")):
        text = (TEMPLATES / f"{source}.template").read_text()
        (folder / target).write_text(Template(text).safe_substitute(values))
    return server


def check(server: Nginx) -> subprocess.CompletedProcess:
    """``nginx -t`` on the rendered configuration."""
    return subprocess.run(
        [nginx_binary(), "-t", "-p", str(server.folder), "-c", str(server.folder / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )


@contextlib.contextmanager
def running(folder: Path, *, upstreams: list[int], upstream_options: str = ""):
    """nginx in front of ``upstreams`` (ports on loopback) until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    server = render(folder, upstreams=upstreams, upstream_options=upstream_options)
    tested = check(server)
    assert tested.returncode == 0, tested.stderr
    server.process = subprocess.Popen(
        [nginx_binary(), "-p", str(folder), "-c", str(folder / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "stderr.log").open("wb"),
    )
    try:
        wait_until(
            lambda: (
                requests.get(f"{server.url}/livez", timeout=2).status_code < 500
                or server.process.poll() is not None
            ),
            what="nginx",
        )
        assert server.process.poll() is None, (folder / "stderr.log").read_text()
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
