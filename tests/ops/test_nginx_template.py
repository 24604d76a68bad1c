"""The shipped nginx configuration (deploy/nginx/portal.conf.template), rendered as
`make run-scaled` renders it (tests/support/nginx.py) with a self-signed certificate made
here, checked by ``nginx -t`` and run in front of a real gunicorn: TLS 1.2 and 1.3 only,
HSTS, plain HTTP redirected, no version in the Server header, rate limits answered 429,
and every link the API answers through it resolves through it."""

from __future__ import annotations

import base64
import re
import socket
import ssl
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from portal.accounts.services import api_key_create
from tests.factories import AccountFactory, PatientFactory
from tests.faults.conftest import photo
from tests.support import clients, nginx
from tests.support.stack import portal_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

TEMPLATE = Path(nginx.TEMPLATES / "portal.conf.template")


@pytest.fixture
def clinic(transactional_db):
    """An account with a patient and an API key, committed (gunicorn reads them)."""
    account = AccountFactory(name="Proxied Clinic")
    return {
        "patient": PatientFactory(account=account),
        "key": api_key_create(account=account, name="nginx tests").plaintext,
    }


@pytest.fixture
def proxied(tmp_path, clinic):
    """gunicorn (one process) behind the rendered nginx."""
    with (
        portal_server(tmp_path, workers=1, threads=4) as gunicorn,
        nginx.running(tmp_path / "nginx", upstreams=[gunicorn.port]) as proxy,
    ):
        yield proxy


def test_the_rendered_template_passes_nginx_t_with_its_tls_server(tmp_path):
    """GIVEN the template rendered with a self-signed certificate and key made here
    THEN ``nginx -t`` accepts it, and the template itself (not only run-scaled's
    wrapper) turns server_tokens off in each server block and listens with ssl."""
    server = nginx.render(tmp_path, upstreams=[9])
    checked = nginx.check(server)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr
    text = TEMPLATE.read_text()
    assert len(re.findall(r"^server \{", text, re.M)) == 2
    assert text.count("server_tokens off;") == 2
    assert re.search(r"listen \$\{PORTAL_HTTPS_LISTEN\} ssl", text)
    assert "proxy_set_header Host $http_host;" in text


def test_every_folder_nginx_makes_at_start_is_in_the_run_folder(tmp_path):
    """GIVEN the configuration make run-scaled starts (as the portal's own user, not root)
    THEN every temporary folder nginx was built to make at start-up (``nginx -V``: its
    compiled-in ``/var/lib/nginx/...``, which only root may make) is set at the http level
    to a folder inside the run folder. Set only in the server block, nginx still made the
    compiled-in ones and refused to start on a machine where root had not yet run it."""
    server = nginx.render(tmp_path, upstreams=[9])
    built = subprocess.run(
        [nginx.nginx_binary(), "-V"], capture_output=True, text=True, check=True
    ).stderr
    compiled = dict(re.findall(r"--http-([a-z-]+)-temp-path=(\S+)", built))
    assert set(compiled) == {"client-body", "proxy", "fastcgi", "uwsgi", "scgi"}
    http_level = (tmp_path / "nginx.conf").read_text()
    for kind in compiled:
        directive = f"{kind.replace('-', '_')}_temp_path"
        [folder] = re.findall(rf"^\s*{directive} (\S+?)[ ;]", http_level, re.M)
        assert Path(folder).is_relative_to(server.folder), (directive, folder)
        assert Path(folder).is_dir()


def tls_handshake(port: int, version: ssl.TLSVersion) -> str | None:
    """The protocol agreed when the client offers only ``version``; None when refused."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        context.minimum_version = version
        context.maximum_version = version
        if version < ssl.TLSVersion.TLSv1_2:
            context.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        return None  # this OpenSSL cannot even offer it
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw) as tls,
        ):
            return tls.version()
    except (ssl.SSLError, ConnectionResetError):
        return None


def test_tls_1_2_and_1_3_only_with_hsts_and_plain_http_redirected(proxied):
    """GIVEN nginx serving the portal over TLS WHEN clients offer each TLS version, and
    ask over plain HTTP THEN only TLS 1.2 and 1.3 are agreed (1.0 and 1.1 refused); every
    HTTPS answer, nginx's own included, carries Strict-Transport-Security; the Server
    header names no version; plain HTTP answers 301 to the same path and query on the
    HTTPS origin, serving nothing."""
    agreed = {
        version.name: tls_handshake(proxied.https_port, version)
        for version in (
            ssl.TLSVersion.TLSv1,
            ssl.TLSVersion.TLSv1_1,
            ssl.TLSVersion.TLSv1_2,
            ssl.TLSVersion.TLSv1_3,
        )
    }
    assert agreed == {"TLSv1": None, "TLSv1_1": None, "TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}

    for path in ("/livez", "/no-such-page", "/api/v1/patients"):
        answer = requests.get(f"{proxied.https_url}{path}", verify=False, timeout=10)
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=63072000"), path
        assert answer.headers.get("Strict-Transport-Security", "").count("max-age") == 1
        assert answer.headers["Server"] == "nginx", answer.headers["Server"]

    for path in ("/", "/login/?next=/patients/", "/api/v1/patients?limit=1", "/r/abc"):
        answer = requests.get(
            f"http://127.0.0.1:{proxied.http_port}{path}", allow_redirects=False, timeout=10
        )
        assert answer.status_code == 301, (path, answer.status_code)
        assert answer.headers["Location"] == f"{proxied.https_url}{path}"
        assert answer.headers["Server"] == "nginx"
        post = requests.post(
            f"http://127.0.0.1:{proxied.http_port}{path}", allow_redirects=False, timeout=10
        )
        assert post.status_code == 301


def statuses(url: str, count: int, **kwargs) -> list[int | str]:
    """Each answer's status, "nginx 429" where nginx itself refused (the portal has
    throttles of its own, answered 429 in its own words)."""
    found = []
    with requests.Session() as session:
        for _ in range(count):
            answer = session.get(url, timeout=10, allow_redirects=False, verify=False, **kwargs)
            by_nginx = answer.status_code == 429 and "<center>nginx</center>" in answer.text
            found.append("nginx 429" if by_nginx else answer.status_code)
    return found


@pytest.mark.parametrize(
    ("path", "allowed_at_once"),
    [
        ("/login/", 20),
        ("/login/verify/", 20),
        ("/r/AbCdEfGhIjKlMnOpQrStUv", 60),
        ("/r/upload/status", 60),
        ("/storage/upload", 60),
    ],
)
def test_sign_in_and_patient_pages_are_rate_limited_with_429(proxied, path, allowed_at_once):
    """GIVEN nginx in front of the portal WHEN one address asks for a sign-in or patient
    page many times at once THEN the burst is let through and what follows it is
    answered 429 by nginx with Retry-After, over HTTPS and plain HTTP alike."""
    answers = statuses(f"{proxied.url}{path}", allowed_at_once + 15)
    assert "nginx 429" not in answers[: allowed_at_once - 5], answers
    assert answers[-10:].count("nginx 429") >= 8, answers
    with requests.Session() as session:
        over_tls = [session.get(f"{proxied.https_url}{path}", verify=False) for _ in range(5)]
    [refused, *_] = [a for a in over_tls if a.status_code == 429 and "nginx" in a.text]
    assert refused.headers["Retry-After"] == "2"
    assert refused.headers["Strict-Transport-Security"]


def test_the_api_and_other_pages_are_not_rate_limited_by_nginx(proxied, clinic):
    """The limits are on sign-in and the patient pages only: an integrator's 150
    requests at once, and the health probes, are all answered by the portal."""
    key = {"X-API-Key": clinic["key"]}
    assert set(statuses(f"{proxied.url}/api/v1/patients", 150, headers=key)) == {200}
    assert set(statuses(f"{proxied.url}/livez", 100)) == {200}


LINK_KEYS = {"self", "url", "fullUrl", "next", "previous", "prev", "first", "last", "href"}


def links_in(value, key: str = "") -> list[str]:
    """Every absolute URL under a key that names a link, however deep."""
    if isinstance(value, dict):
        return [link for k, v in value.items() for link in links_in(v, k)]
    if isinstance(value, list):
        return [link for item in value for link in links_in(item, key)]
    if isinstance(value, str) and key in LINK_KEYS and re.match(r"https?://", value):
        return [value]
    return []


def test_every_link_the_api_answers_through_nginx_resolves_through_it(proxied, clinic):
    """GIVEN the portal behind nginx on a port that is not 80 WHEN a patient's files are
    sent through X-on's and Cliniko's doors and the API and FHIR answers about them are
    read through nginx THEN every link in them (Cliniko's links.self, file URLs, FHIR's
    fullUrl and paging links) names nginx's own origin, port included, and answers (no
    404, no error) when followed through nginx with the same key."""
    session = clients.keyed(clinic["key"])
    patient_id = clinic["patient"].id
    base = proxied.url
    for index in range(3):
        sent = session.post(
            f"{base}/api/v1/files",
            json={
                "files": [
                    {
                        "name": f"p{index}.jpg",
                        "type": "image/jpeg",
                        "contents": base64.b64encode(photo(index)).decode(),
                    }
                ],
                "userId": str(patient_id),
            },
            timeout=30,
        )
        assert sent.status_code == 201, sent.text
    attached = clients.cliniko_upload(
        session, base, patient_id=patient_id, filename="letter.pdf", data=b"%PDF-1.4\n%%EOF\n"
    )
    assert attached.status_code in (200, 201), attached.text

    answers = [attached.json()]
    for path in (
        f"/api/v1/patients/{patient_id}/patient_attachments",
        "/api/v1/patient_attachments?per_page=1",
        "/api/v1/patients",
        f"/fhir/R4/DocumentReference?patient={patient_id}&_count=1",
        "/fhir/R4/Patient?_count=1",
    ):
        answer = session.get(f"{base}{path}", timeout=30)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        answers.append(answer.json())
    links = sorted({link for answer in answers for link in links_in(answer)})
    origins = {f"{urlsplit(link).scheme}://{urlsplit(link).netloc}" for link in links}
    assert origins == {base}, links
    assert any("/attachments" in link or "attachment" in link for link in links), links
    assert any("_count=1" in link and "DocumentReference" in link for link in links), links

    followed = {link: session.get(link, timeout=30).status_code for link in links}
    broken = {link: status for link, status in followed.items() if status == 404 or status >= 500}
    assert not broken, broken
    assert len(links) >= 6, links
