"""Credentials and mobile numbers never reach a log line.

The real code paths run and the real log configuration writes: Django's request log
through the portal's LOGGING handler (its stream swapped for a buffer the test reads),
and gunicorn started with the shipped config/gunicorn_conf.py, whose access log the test
reads from gunicorn's own output. ``caplog`` is the control that the request was
logged at all, so a clean output means redaction, not silence. (The filter rewrites the
record itself, so every later handler, caplog's included, gets the redacted text too.)
"""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys

import pytest
import requests

from deploy.services import free_port, wait_until
from filerequests.services import notification_queue, notification_send
from filerequests.shortlinks import short_link_id_new
from portal.accounts.services import api_key_create
from tests.factories import FileRequestFactory, PatientFactory
from tests.filerequests.test_filerequests_sms import fake_twilio  # noqa: F401
from tests.support.worker import BASE_DIR, worker_env

MOBILE = "+447911123456"


@pytest.fixture
def portal_log():
    """What the portal's configured log handler writes, as text."""
    handlers = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    assert handlers, "LOGGING has no console handler on the root logger"
    buffer = io.StringIO()
    previous = [handler.setStream(buffer) for handler in handlers]
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)


def logged_messages(caplog) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_django_request_log_never_shows_a_short_link(client, account, settings, portal_log, caplog):
    """GIVEN a patient's live link and a made-up one WHEN the made-up link is opened (404)
    and the live one is locked by wrong answers (429) THEN Django logs both requests, and
    the log output shows /r/[redacted], never either link id."""
    settings.FILE_REQUEST_DOB_MAX_ATTEMPTS = 2
    live = FileRequestFactory(account=account).short_link_id
    unknown = short_link_id_new()
    caplog.set_level(logging.INFO)

    client.get(f"/r/{unknown}")
    for _ in range(3):
        client.post(f"/r/{live}", {"day": "1", "month": "1", "year": "1901"})

    assert "Not Found: /r/" in logged_messages(caplog)  # control: both were logged
    assert "Too Many Requests: /r/" in logged_messages(caplog)
    written = portal_log.getvalue()
    assert "/r/[redacted]" in written
    assert unknown not in written and live not in written


@pytest.mark.django_db
def test_invitation_and_reset_links_are_redacted_in_the_request_log(client, portal_log, caplog):
    """GIVEN an invitation link and a reset link that no longer work WHEN they are opened
    THEN whatever Django logs about them shows neither token."""
    caplog.set_level(logging.INFO)
    invitation_token = "eyJpbnZpdGF0aW9uIjoxfQ:1abcde:SECRETinvitationTOKEN"
    reset = "/password-reset/MQ/c4b2xz-0123456789abcdefSECRET/"

    client.get(f"/invitations/{invitation_token}/")
    client.get(reset)
    client.get(
        f"/r/{short_link_id_new()}", HTTP_REFERER=f"http://x/invitations/{invitation_token}/"
    )

    written = portal_log.getvalue()
    assert "SECRETinvitationTOKEN" not in written
    assert "0123456789abcdefSECRET" not in written


@pytest.mark.django_db
def test_an_sms_failure_quoting_the_number_is_logged_without_it(
    account,
    fake_twilio,  # noqa: F811
    portal_log,
    caplog,
):
    """GIVEN Twilio refusing a message with an error that quotes the patient's number
    WHEN the message is sent and fails THEN Twilio's library logs its request and the
    portal logs the failure, and the number is in neither."""
    caplog.set_level(logging.INFO)
    patient = PatientFactory(account=account, mobile=MOBILE)
    file_request = FileRequestFactory(account=account, patient=patient)
    fake_twilio.answers = [
        (
            400,
            {
                "code": 21211,
                "message": f"The 'To' number {MOBILE} is not a valid phone number.",
                "status": 400,
            },
        )
    ]

    notification_send(
        notification_id=notification_queue(file_request=file_request).id, final_attempt=True
    )

    written = portal_log.getvalue()
    assert "BEGIN Twilio API Request" in written  # control: Twilio's library logs its calls
    assert "SMS for file request" in written
    assert MOBILE not in written and MOBILE.removeprefix("+") not in written


def test_redaction_leaves_ordinary_lines_alone(portal_log):
    """GIVEN ordinary log lines (times with offsets, ids, sizes, token-free patient
    pages) WHEN logged THEN they are written as they are."""
    lines = [
        "2026-11-30T17:00:00+00:00 file 7fecfb58-bfd6-462e-9e6e-f9ede76c7c95 ready",
        "embedded storage accepted an upload of 12345678901 bytes",
        "GET /r/upload/ticket 200",
        "GET /password-reset/sent/ 200",
    ]
    for line in lines:
        logging.getLogger("portal.test").warning(line)
    written = portal_log.getvalue()
    for line in lines:
        assert line in written


# --- Encoded paths, query strings, national numbers: the family ---------------------------

LINK = "AbCdEfGhIjKlMnOpQrStUv"


def encodings_of_r() -> dict[str, str]:
    """``/r/<link>`` with each subset of its three characters percent-encoded, in upper
    and lower case hex, and encoded twice and three times over."""
    forms = {}
    for mask in range(8):
        for case in ("upper", "lower"):
            chars = []
            for index, char in enumerate("/r/"):
                if mask & (1 << index):
                    code = f"%{ord(char):02X}"
                    chars.append(code if case == "upper" else code.lower())
                else:
                    chars.append(char)
            forms[f"encoded-{mask:03b}-{case}"] = "".join(chars) + LINK
    forms["twice"] = f"/%2572/{LINK}"
    forms["twice-slashes"] = f"%252F%2572%252F{LINK}"
    forms["three-times"] = f"/%252572/{LINK}"
    forms["upper-R"] = f"/R/{LINK}"
    forms["encoded-upper-R"] = f"/%52/{LINK}"
    forms["doubled-slashes"] = f"//r//{LINK}"
    forms["encoded-link-chars"] = "/r/" + "".join(f"%{ord(c):02x}" for c in LINK)
    return forms


LINK_FORMS = encodings_of_r()


@pytest.mark.parametrize("path", LINK_FORMS.values(), ids=LINK_FORMS.keys())
def test_a_short_link_is_redacted_however_it_is_encoded(portal_log, path):
    """GIVEN a request line, a Referer and Django's "Not Found" line for a short link
    written with percent-encoding, double encoding or another case WHEN logged THEN the
    link is in none of them, decoded or not."""
    for line in (
        f'127.0.0.1 "GET {path} HTTP/1.1" 404 "-"',
        f'"GET /healthz HTTP/1.1" 200 "https://portal.example{path}"',
        f"Not Found: {path}",
    ):
        logging.getLogger("portal.test").warning(line)
    written = portal_log.getvalue()
    assert written.count("\n") >= 3  # control: the lines were written
    assert LINK not in written, written
    assert "".join(f"%{ord(c):02x}" for c in LINK) not in written.lower()


SECRET_PATHS = {
    "reset, encoded": ("/password-reset/MQ/%63c1-abcdef0123456789/", "abcdef0123456789"),
    "reset, twice": ("/%2570assword-reset/MQ/cc1-abcdef0123456789/", "abcdef0123456789"),
    "reset, capitals": ("/PASSWORD-RESET/MQ/cc1-abcdef0123456789/", "abcdef0123456789"),
    "invitation, encoded": ("/%69nvitations/eyJzZWNyZXQiOiJ4In0:1abc/", "eyJzZWNyZXQi"),
    "invitation, twice": ("/invitations%252Fey%4AzZWNyZXQiOiJ4In0:1abc/", "ZWNyZXQi"),
}


@pytest.mark.parametrize("path, secret", SECRET_PATHS.values(), ids=SECRET_PATHS.keys())
def test_reset_and_invitation_tokens_are_redacted_however_encoded(portal_log, path, secret):
    logging.getLogger("portal.test").warning(f'"GET {path} HTTP/1.1" 404')
    written = portal_log.getvalue()
    assert "GET" in written
    assert secret not in written, written


QUERIES = {
    "api patient search": "/api/v1/patients?name=Smith&birthdate=1980-06-17",
    "api, encoded": "/api/v1/patients?name=%53mith&date_of_birth=1980%2D06%2D17",
    "dashboard search": "/patients/?q=Nadia+Smith+17%2F06%2F1980",
    "fhir patient": "/fhir/R4/Patient?birthdate=eq1980-06-17&name:exact=Smith",
    "fhir telecom": "/fhir/R4/Patient?telecom=07911123456&family=Smith",
    "fhir chained": "/fhir/R4/DocumentReference?patient.name=Smith&patient.birthdate=1980-06-17",
    "fhir _id and dates": "/fhir/R4/Patient?_lastUpdated=gt1980-06-17&given=Smith",
    "file request list": "/api/v1/file-requests?patientMobile=%2B447911123456&staffName=Smith",
    "dates in words": "/patients/?q=17+June+1980+Smith",
    "audit filters": "/settings/audit/?patient=Smith&occurred_from=1980-06-17",
}


@pytest.mark.parametrize("target", QUERIES.values(), ids=QUERIES.keys())
def test_query_strings_are_never_logged(portal_log, target):
    """GIVEN an API, FHIR or dashboard request whose query names a patient, a date of
    birth or a mobile WHEN its request line and a Referer carrying it are logged THEN
    the path is kept and the query is not: no name, date or number."""
    logging.getLogger("portal.test").warning(f'"GET {target} HTTP/1.1" 200')
    logging.getLogger("portal.test").warning(f'Referer "https://portal.example{target}"')
    written = portal_log.getvalue()
    assert target.partition("?")[0] in written  # the path is still there to read
    for secret in ("Smith", "1980", "06-17", "7911123456", "17%2F06"):
        assert secret not in written, (secret, written)


MOBILES = [
    "07911123456",
    "07911 123456",
    "07911 123 456",
    "07911-123-456",
    "(07911) 123456",
    "+44 7911 123456",
    "+44 (0)7911 123456",
    "+44-7911-123-456",
    "0044 7911 123456",
    "447911123456",
    "%2B447911123456",
    "+447911123456",
]


@pytest.mark.parametrize("mobile", MOBILES)
def test_mobile_numbers_in_any_usual_form_are_redacted(portal_log, mobile):
    """GIVEN a message quoting a mobile number as people and providers write it
    WHEN logged THEN none of its digits' run is left."""
    logging.getLogger("portal.test").warning(f"SMS to {mobile} failed: unreachable")
    logging.getLogger("portal.test").warning(f'"GET /api/v1/x/{mobile} HTTP/1.1" 404')
    written = portal_log.getvalue()
    assert "failed: unreachable" in written
    assert "7911123456" not in re.sub(r"[\s()+-]", "", written), written
    assert "123456" not in written and "123 456" not in written, written


def test_ordinary_lines_with_numbers_and_encodings_are_left_alone(portal_log):
    """GIVEN lines with percent signs, long numbers, ids and times but no secret WHEN
    logged THEN they are written as they are."""
    lines = [
        "GET /static/css/portal.css 200 12345",
        "GET /api/v1/files/7fecfb58-bfd6-462e-9e6e-f9ede76c7c95 200",
        "processing 100% done in 0.0123 s, 2026-12-06T04:27:42+00:00",
        "GET /r/upload/status 200",
        "worker 12 took 1234567 us for 98765 rows",
    ]
    for line in lines:
        logging.getLogger("portal.test").warning(line)
    written = portal_log.getvalue()
    for line in lines:
        assert line in written


@pytest.mark.django_db
@pytest.mark.parametrize("path", [f"/%72/{LINK}", f"/%2572/{LINK}", f"/%72%2F{LINK}", f"/R/{LINK}"])
def test_django_request_log_redacts_encoded_links(client, portal_log, caplog, path):
    """GIVEN a made-up link requested percent-encoded, double-encoded or in capitals
    WHEN Django answers (404) and logs it THEN its log line does not hold the link."""
    caplog.set_level(logging.INFO)
    assert client.get(path).status_code == 404
    assert "Not Found" in logged_messages(caplog)  # control: Django logged it
    assert LINK not in portal_log.getvalue()


# --- gunicorn, as shipped ------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_access_log_redacts_credentials(account, tmp_path):
    """GIVEN gunicorn started with config/gunicorn_conf.py (the shipped config), access
    log on, its format naming every atom that carries the path or the query WHEN a
    short link (plain, percent-encoded, encoded twice, in capitals), an API key in a
    query string, a reset link, an invitation as Referer, a mobile number, a patient's
    name and date of birth in API, FHIR and dashboard queries are requested THEN each
    request has its access-log line, and none of the secrets is in gunicorn's output."""
    key = api_key_create(account=account).plaintext
    link_id = FileRequestFactory(account=account).short_link_id
    reset_token = "c4b2xz-0123456789abcdefSECRET"
    invitation = "eyJpbnZpdGF0aW9uIjoxfQ:1abcde:SECRETinvitationTOKEN"
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "config/gunicorn_conf.py",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        # The default format's atoms, and every other one that carries the query string.
        "--access-logformat",
        '%(h)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" U=%(U)s q=%(q)s '
        "qs=%({query_string}e)s raw=%({raw_uri}e)s",
    ]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=worker_env({}), stdout=log_file, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: requests.get(f"{base}/healthz", timeout=2).status_code in (200, 503),
            what="gunicorn",
            timeout=60,
        )
        requests.get(f"{base}/r/{link_id}", timeout=10)
        requests.get(f"{base}/api/v1/patients?api_key={key}", timeout=10)
        requests.get(f"{base}/password-reset/MQ/{reset_token}/", timeout=10)
        requests.get(
            f"{base}/healthz", headers={"Referer": f"{base}/invitations/{invitation}/"}, timeout=10
        )
        requests.get(f"{base}/healthz?to={MOBILE}", timeout=10)
        # Encoded links, patient data in query strings, a national mobile.
        requests.get(f"{base}/%72/{link_id}", timeout=10)
        requests.get(f"{base}/%2572/{link_id}", timeout=10)
        requests.get(f"{base}/R/{link_id}", timeout=10)
        requests.get(f"{base}/api/v1/patients?name=Quartermaine&birthdate=1980-06-17", timeout=10)
        requests.get(f"{base}/fhir/R4/Patient?birthdate=eq1980-06-17&telecom=07911123456")
        requests.get(
            f"{base}/healthz",
            headers={"Referer": f"{base}/patients/?q=Quartermaine+17%2F06%2F1980"},
            timeout=10,
        )
    finally:
        process.terminate()
        process.wait(timeout=15)

    output = log_path.read_text(errors="replace")
    assert 'GET /r/[redacted] HTTP/1.1" 200' in output, output[-3000:]
    assert "/password-reset/[redacted]/" in output
    for secret in (link_id, key.split("_", 2)[2], reset_token, invitation, MOBILE[1:]):
        assert secret not in output, secret
    assert output.count("/api/v1/patients?[redacted]") >= 1, output[-3000:]
    for secret in ("Quartermaine", "1980", "07911123456", "17%2F06"):
        assert secret not in output, (secret, output[-3000:])


def test_nginx_access_log_redacts_credentials(tmp_path):
    """GIVEN the shipped nginx configuration (deploy/nginx), rendered as run-scaled renders
    it, in front of a stand-in upstream WHEN a short link (plain, encoded, encoded twice,
    in capitals, with doubled slashes), a reset link, an invitation link, URLs whose
    query strings name a patient and a date of birth, and paths holding a mobile number
    in national and international forms are requested THEN the access log has a line
    for each, and none carries the secret part, the query or the number; an ordinary
    id is still logged."""
    import shutil
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from pathlib import Path

    from tests.support import nginx as nginx_support

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("nginx is installed by make system-deps")

    class Upstream(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    # Rendered as run-scaled renders it; requests go to its plain-HTTP loopback listener.
    port = nginx_support.render(tmp_path, upstreams=[upstream.server_address[1]]).port
    server = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")])
    try:
        wait_until(
            lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok,
            what="nginx",
        )
        secrets = [
            "/r/AbCdEfGhIjKlMnOpQrStUv",
            "/password-reset/MQ/cc1-abcdef0123456789/",
            "/invitations/eyJzZWNyZXQiOiJ4In0:1abc/",
            "/api/v1/files?token=cfp_secret_key",
            # Encoded, encoded twice, in capitals, with doubled slashes.
            "/%72/BcDeFgHiJkLmNoPqRsTuVw",
            "/%2572/CdEfGhIjKlMnOpQrStUvWx",
            "/R/DeFgHiJkLmNoPqRsTuVwXy",
            "//r//EfGhIjKlMnOpQrStUvWxYz",
            "/%70assword-reset/MQ/dd2-fedcba9876543210/",
            # Patient data in query strings and paths.
            "/api/v1/patients?name=Quartermaine&birthdate=1980-06-17",
            "/fhir/R4/Patient?birthdate=eq1980-06-17&telecom=07911123456",
            "/patients/?q=Quartermaine+17%2F06%2F1980",
            "/api/v1/x/07911%20123456",
            "/api/v1/x/%2B447911123456",
            "/api/v1/x/+44%20(0)7911%20123%20456",
        ]
        ordinary = "/api/v1/files/7fecfb58-bfd6-462e-9e6e-f9ede76c7c95"
        for path in [*secrets, ordinary]:
            requests.get(f"http://127.0.0.1:{port}{path}", timeout=5)
        log = tmp_path / "portal-access.log"
        lines = len(secrets) + 2  # and /healthz
        wait_until(
            lambda: log.read_text().count("\n") >= lines, what="access log lines", timeout=10
        )
        text = log.read_text()
    finally:
        server.terminate()
        server.wait(timeout=10)
        upstream.shutdown()
    for secret in (
        "AbCdEfGhIjKlMnOpQrStUv",
        "cc1-abcdef",
        "eyJzZWNyZXQi",
        "cfp_secret_key",
        "BcDeFgHiJkLmNoPqRsTuVw",
        "CdEfGhIjKlMnOpQrStUvWx",
        "DeFgHiJkLmNoPqRsTuVwXy",
        "EfGhIjKlMnOpQrStUvWxYz",
        "fedcba9876543210",
        "Quartermaine",
        "1980",
        "7911",
        "123456",
        "123 456",
    ):
        assert secret not in text, (secret, text)
    assert "/r/[redacted]" in text and "/api/v1/files" in text
    assert ordinary in text  # an id is not a number to hide
