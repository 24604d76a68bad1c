"""Text messages: the file backend, Twilio's library against a local server, and the
send service's queued → sent | failed states with retries of temporary failures."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from filerequests.models import Notification
from filerequests.services import notification_queue, notification_send
from filerequests.sms import SmsTemporaryError, file_outbox_messages
from portal.audit.models import AuditEvent
from tests.factories import FileRequestFactory, PatientFactory

pytestmark = pytest.mark.django_db

ACCOUNT_SID = "AC" + "0" * 32


class FakeTwilio:
    """A local HTTP server answering Twilio's Messages API with queued answers."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                fake.requests.append(
                    {
                        "path": self.path,
                        "form": {key: values[0] for key, values in form.items()},
                        "authorization": self.headers.get("Authorization", ""),
                    }
                )
                status, body = fake.answers.pop(0) if fake.answers else (201, None)
                body = body or {
                    "sid": "SM" + "1" * 32,
                    "status": "queued",
                    "to": form.get("To", [""])[0],
                    "account_sid": ACCOUNT_SID,
                }
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_twilio(settings):
    fake = FakeTwilio()
    settings.SMS_BACKEND = "filerequests.sms.TwilioSmsBackend"
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = "secret-token"
    settings.TWILIO_FROM_NUMBER = "+447700900000"
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_API_BASE_URL = fake.url
    yield fake
    fake.close()


@pytest.fixture
def file_request(account):
    patient = PatientFactory(account=account, mobile="+447700900123")
    return FileRequestFactory(account=account, patient=patient)


@pytest.fixture
def outbox(settings, tmp_path):
    settings.SMS_BACKEND = "filerequests.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms" / "outbox.jsonl")
    return settings.SMS_FILE_PATH


def test_file_backend_writes_the_link_and_nothing_clinical(file_request, outbox, settings):
    """GIVEN the file backend and a public base URL
    WHEN a request's message is sent
    THEN one line holds the patient's number and the link built from the setting, and
    neither the prompt nor the date of birth; the notification is 'sent'."""
    settings.PORTAL_PUBLIC_BASE_URL = "https://photos.clinic.example"
    notification = notification_queue(file_request=file_request)

    sent = notification_send(notification_id=notification.id)

    (message,) = file_outbox_messages(outbox)
    assert message["to"] == "+447700900123"
    assert f"https://photos.clinic.example/r/{file_request.short_link_id}" in message["body"]
    assert file_request.account.name in message["body"]
    assert "rash" not in message["body"]
    assert "1980" not in message["body"]
    assert (sent.status, sent.attempts, sent.backend) == ("sent", 1, "file")
    assert sent.provider_message_id == message["id"]


def test_sending_twice_sends_once(file_request, outbox):
    """GIVEN a message already sent
    WHEN the task runs again (acks_late redelivery)
    THEN nothing more is sent."""
    notification = notification_queue(file_request=file_request)
    notification_send(notification_id=notification.id)
    notification_send(notification_id=notification.id)

    assert len(file_outbox_messages(outbox)) == 1


def test_twilio_backend_posts_the_message_through_twilios_library(file_request, fake_twilio):
    """GIVEN the Twilio backend pointed at a local server
    WHEN a message is sent
    THEN the server got Twilio's Messages call with our credentials, number and body,
    and the message id Twilio gave is kept."""
    notification = notification_queue(file_request=file_request)

    sent = notification_send(notification_id=notification.id)

    (call,) = fake_twilio.requests
    assert call["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert call["form"]["To"] == "+447700900123"
    assert call["form"]["From"] == "+447700900000"
    assert file_request.short_link_id in call["form"]["Body"]
    expected = base64.b64encode(f"{ACCOUNT_SID}:secret-token".encode()).decode()
    assert call["authorization"] == f"Basic {expected}"
    assert (sent.status, sent.backend) == ("sent", "twilio")
    assert sent.provider_message_id == "SM" + "1" * 32


def test_twilio_server_error_is_retried_then_marked_failed(file_request, fake_twilio):
    """GIVEN Twilio answering 503
    WHEN the first attempt runs, and later the final attempt
    THEN the first raises a temporary error for Celery to retry (still 'queued', one
    attempt recorded) and the final one marks the message 'failed' with an audit event."""
    fake_twilio.answers = [
        (503, {"code": 20503, "message": "Service unavailable", "status": 503}),
        (503, {"code": 20503, "message": "Service unavailable", "status": 503}),
    ]
    notification = notification_queue(file_request=file_request)

    with pytest.raises(SmsTemporaryError):
        notification_send(notification_id=notification.id, final_attempt=False)
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("queued", 1)
    assert "503" in notification.error

    notification_send(notification_id=notification.id, final_attempt=True)
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("failed", 2)
    assert AuditEvent.objects.filter(action="file_request.notification_failed").count() == 1


def test_twilio_refusing_the_number_fails_at_once(file_request, fake_twilio):
    """GIVEN Twilio answering 400 (code 21211, invalid 'To' number)
    WHEN a message is sent on a non-final attempt
    THEN it is not retried: the message is 'failed' at once."""
    fake_twilio.answers = [(400, {"code": 21211, "message": "Invalid 'To'", "status": 400})]
    notification = notification_queue(file_request=file_request)

    notification_send(notification_id=notification.id, final_attempt=False)

    notification.refresh_from_db()
    assert notification.status == "failed"
    assert "21211" in notification.error


def test_unreachable_twilio_is_a_temporary_failure(file_request, fake_twilio, settings):
    """GIVEN Twilio's address refusing connections
    WHEN a message is sent on a non-final attempt
    THEN it is a temporary failure to retry."""
    fake_twilio.close()
    notification = notification_queue(file_request=file_request)

    with pytest.raises(SmsTemporaryError):
        notification_send(notification_id=notification.id, final_attempt=False)
    assert Notification.objects.get(pk=notification.pk).status == "queued"


def test_staff_see_the_notification_status_in_the_api(api, file_request, fake_twilio):
    """GIVEN a request whose message failed
    WHEN staff read the request
    THEN the API shows the notification as failed with the reason."""
    fake_twilio.answers = [(400, {"code": 21211, "message": "Invalid 'To'", "status": 400})]
    notification_send(notification_id=notification_queue(file_request=file_request).id)

    body = api.get(f"/api/v1/file-requests/{file_request.id}").json()

    assert body["notification"]["status"] == "failed"
    assert "21211" in body["notification"]["error"]


def test_messages_never_tried_are_queued_again_by_the_sweep(file_request):
    """GIVEN a message queued eleven minutes ago and never tried (the broker was down),
    and one queued a minute ago
    WHEN the sweep looks for stale messages
    THEN only the old one is queued again."""
    from datetime import timedelta

    from django.utils import timezone

    from filerequests.services import notification_requeue_stale

    old = notification_queue(file_request=file_request)
    Notification.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    notification_queue(file_request=file_request)

    assert notification_requeue_stale() == 1
