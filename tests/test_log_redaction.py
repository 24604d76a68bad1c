"""Credentials and mobile numbers never reach a log line (issue 13 #16).

The real code paths run and the real log configuration writes: Django's request log
through the portal's LOGGING handler (its stream swapped for a buffer the test reads),
and gunicorn started with the shipped portal/gunicorn_conf.py, whose access log the test
reads from gunicorn's own output. ``caplog`` is the control that the request was
logged at all, so a clean output means redaction, not silence. (The filter rewrites the
record itself, so every later handler, caplog's included, gets the redacted text too.)
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys

import pytest
import requests

from filerequests.services import notification_queue, notification_send
from filerequests.shortlinks import short_link_id_new
from portal.accounts.services import api_key_create
from tests.factories import FileRequestFactory, PatientFactory
from tests.plugins.services import free_port, wait_until
from tests.support.worker import BASE_DIR, worker_env
from tests.test_filerequests_sms import fake_twilio  # noqa: F401

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


# --- gunicorn, as shipped ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_gunicorn_access_log_redacts_credentials(account, tmp_path):
    """GIVEN gunicorn started with portal/gunicorn_conf.py (the shipped config), access
    log on WHEN a short link, an API key in a query string, a reset link, an invitation
    as Referer and a mobile number in a query string are requested THEN each request has
    its access-log line, and none of the secrets is in gunicorn's output."""
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
        "portal/gunicorn_conf.py",
        "portal.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
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
    finally:
        process.terminate()
        process.wait(timeout=15)

    output = log_path.read_text(errors="replace")
    assert 'GET /r/[redacted] HTTP/1.1" 200' in output, output[-3000:]
    assert "/password-reset/[redacted]/" in output
    for secret in (link_id, key.split("_", 2)[2], reset_token, invitation, MOBILE[1:]):
        assert secret not in output, secret


def test_nginx_access_log_redacts_credentials(tmp_path):
    """GIVEN the shipped nginx configuration (deploy/nginx), rendered as run-scaled renders
    it, in front of a stand-in upstream WHEN a short link, a reset link, an invitation
    link and a URL with a query string are requested THEN the access log has a line for
    each, and none carries the secret part or the query."""
    import shutil
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from pathlib import Path
    from string import Template

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
    port = free_port()
    temp = tmp_path / "temp"
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (temp / sub).mkdir(parents=True)
        shutil.chown(temp / sub, "nobody")
    values = {
        "PORTAL_LISTEN": f"127.0.0.1:{port}",
        "PORTAL_SERVER_NAME": "127.0.0.1",
        "PORTAL_UPSTREAMS": f"server 127.0.0.1:{upstream.server_address[1]};",
        "PORTAL_METRICS_ALLOW": "",
        "PORTAL_NGINX_TEMP": str(temp),
        "PORTAL_NGINX_DIR": str(tmp_path),
        "PORTAL_NGINX_LOG_DIR": str(tmp_path),
    }
    for source, target in (("portal.conf", "portal.conf"), ("run-scaled.conf", "nginx.conf")):
        text = (BASE_DIR / "deploy" / "nginx" / f"{source}.template").read_text()
        (tmp_path / target).write_text(Template(text).safe_substitute(values))
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
        ]
        for path in secrets:
            requests.get(f"http://127.0.0.1:{port}{path}", timeout=5)
        log = tmp_path / "portal-access.log"
        wait_until(lambda: log.read_text().count("\n") >= 5, what="access log lines", timeout=10)
        text = log.read_text()
    finally:
        server.terminate()
        server.wait(timeout=10)
        upstream.shutdown()
    for secret in ("AbCdEfGhIjKlMnOpQrStUv", "cc1-abcdef", "eyJzZWNyZXQi", "cfp_secret_key"):
        assert secret not in text, text
    assert "/r/[redacted]" in text and "/api/v1/files" in text
