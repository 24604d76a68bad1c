"""Delivery receipts staff can see: GOV.UK Notify's callback and Twilio's status callback,
posted as each provider documents them (never to or from the real providers).

Each message on the request page reads "Delivered to the phone", "Not delivered:
<reason>" or "Waiting for the network"; a text not delivered puts its request in the
inbox with the reason. Families: every status of each provider, unknown messages, bad
tokens and signatures, replays and receipts out of order, another clinic's message."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from filerequests.models import FileRequest, Notification
from portal.audit.models import AuditEvent
from tests.dashboard.conftest import signed_in_client
from tests.factories import FileRequestFactory, PatientFactory, StaffFactory

pytestmark = pytest.mark.django_db

BASE = "https://photos.clinic.example"
NOTIFY_TOKEN = "notify-callback-token-0123456789abcdef"
TWILIO_TOKEN = "12345678901234567890123456789012"
ACCOUNT_SID = "AC" + "0" * 32


@pytest.fixture(autouse=True)
def providers(settings):
    settings.PORTAL_PUBLIC_BASE_URL = BASE
    settings.NOTIFY_CALLBACK_BEARER_TOKEN = NOTIFY_TOKEN
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN


def sent_text(account, backend: str, *, patient=None) -> Notification:
    patient = patient or PatientFactory(account=account, first_name="Nadia", last_name="Rahman")
    request = FileRequestFactory(account=account, patient=patient, prompt="The rash on your arm")
    message_id = str(uuid.uuid4()) if backend == "notify" else "SM" + uuid.uuid4().hex
    return Notification.objects.create(
        file_request=request,
        status=Notification.Status.SENT,
        backend=backend,
        provider_message_id=message_id,
        sent_at=timezone.now(),
        attempts=1,
    )


# --- GOV.UK Notify: its documented callback body, with the bearer token ------------------


def notify_body(text: Notification, status: str, **changes) -> dict:
    """The body Notify posts (its API documentation's callback example)."""
    return {
        "id": text.provider_message_id,
        "reference": str(text.pk),
        "to": "07700912345",
        "status": status,
        "created_at": "2026-07-01T13:05:00.000000Z",
        "completed_at": "2026-07-01T13:05:09.000000Z",
        "sent_at": "2026-07-01T13:05:01.000000Z",
        "notification_type": "sms",
        **changes,
    }


def notify_post(body, *, token=NOTIFY_TOKEN, authorization=None, raw=None):
    headers = {"HTTP_AUTHORIZATION": authorization or f"Bearer {token}"}
    return Client().post(
        "/sms/receipts/notify",
        raw if raw is not None else json.dumps(body),
        content_type="application/json",
        **headers,
    )


def request_page(account, text) -> str:
    client = signed_in_client(StaffFactory(account=account))
    return client.get(f"/file-requests/{text.file_request_id}/").content.decode()


def inbox(account) -> str:
    return signed_in_client(StaffFactory(account=account)).get("/inbox/").content.decode()


@pytest.mark.parametrize(
    ("status", "words", "delivery"),
    [
        ("delivered", "Delivered to the phone", "delivered"),
        (
            "permanent-failure",
            "Not delivered: the number does not exist or cannot receive texts",
            "failed",
        ),
        (
            "temporary-failure",
            "Not delivered: the phone was off or out of signal for 72 hours",
            "failed",
        ),
        (
            "technical-failure",
            "Not delivered: a problem at the text provider; it was not sent",
            "failed",
        ),
    ],
)
def test_each_notify_receipt_reads_in_words(account, status, words, delivery):
    text = sent_text(account, "notify")
    assert "Waiting for the network" in request_page(account, text)
    answer = notify_post(notify_body(text, status))
    assert answer.status_code == 204, answer.content
    text.refresh_from_db()
    assert (text.delivery, text.delivery_status) == (delivery, status)
    assert text.delivery_at.isoformat() == "2026-07-01T13:05:09+00:00"
    assert words in request_page(account, text)
    listed = inbox(account)
    if delivery == "failed":
        assert f'data-testid="inbox-{text.file_request_id}"' in listed
        assert words in listed
        event = AuditEvent.objects.get(action="file_request.notification_not_delivered")
    else:
        assert f'data-testid="inbox-{text.file_request_id}"' not in listed
        event = AuditEvent.objects.get(action="file_request.notification_delivered")
    assert event.detail["status"] == status


@pytest.mark.parametrize(
    "authorization",
    [
        None,  # no header at all
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong-token",
        f"Bearer {NOTIFY_TOKEN[:-1]}",
        f"Bearer {NOTIFY_TOKEN}x",
        f"bearer{NOTIFY_TOKEN}",
        f"Basic {NOTIFY_TOKEN}",
        NOTIFY_TOKEN,
        f"Bearer  {NOTIFY_TOKEN}",
        f"Bearer {NOTIFY_TOKEN.upper()}",
    ],
)
def test_a_notify_receipt_without_the_token_changes_nothing(account, authorization):
    text = sent_text(account, "notify")
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    answer = Client().post(
        "/sms/receipts/notify",
        json.dumps(notify_body(text, "permanent-failure")),
        content_type="application/json",
        **headers,
    )
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"].startswith("Bearer")
    text.refresh_from_db()
    assert text.delivery == ""


def test_notify_receipts_are_refused_when_no_token_is_set(account, settings):
    settings.NOTIFY_CALLBACK_BEARER_TOKEN = ""
    text = sent_text(account, "notify")
    assert notify_post(notify_body(text, "delivered"), token="").status_code == 404
    text.refresh_from_db()
    assert text.delivery == ""


@pytest.mark.parametrize(
    "change",
    [
        {"id": str(uuid.uuid4())},  # no such message
        {"id": ""},
        {"reference": str(uuid.uuid4())},  # the message is not the one it names
        {"reference": None},
        {"reference": "not-an-id"},
    ],
)
def test_a_notify_receipt_for_no_message_of_ours_is_404(account, change):
    text = sent_text(account, "notify")
    answer = notify_post(notify_body(text, "delivered", **change))
    assert answer.status_code == 404
    text.refresh_from_db()
    assert text.delivery == ""
    assert not AuditEvent.objects.filter(action__startswith="file_request.notification_").exists()


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        "null",
        json.dumps({"status": "delivered"}),
        json.dumps({"id": 12, "status": "delivered"}),
        json.dumps({"id": "x", "status": ["delivered"]}),
    ],
)
def test_a_notify_body_that_is_not_a_receipt_is_400(account, raw):
    assert notify_post(None, raw=raw).status_code == 400


def test_a_notify_status_it_does_not_document_or_an_email_is_400(account):
    text = sent_text(account, "notify")
    assert notify_post(notify_body(text, "exploded")).status_code == 400
    assert notify_post(notify_body(text, "delivered", notification_type="email")).status_code == 400
    text.refresh_from_db()
    assert text.delivery == ""


def test_a_notify_receipt_is_taken_once_and_never_goes_back(account):
    """Replays answer 204 and change nothing; a failure after delivery does not undo it;
    the receipt of a message of the same request sent before does not touch the new one."""
    text = sent_text(account, "notify")
    for _ in range(3):
        assert notify_post(notify_body(text, "delivered")).status_code == 204
    assert notify_post(notify_body(text, "permanent-failure")).status_code == 204
    text.refresh_from_db()
    assert (text.delivery, text.delivery_status) == ("delivered", "delivered")
    assert AuditEvent.objects.filter(action="file_request.notification_delivered").count() == 1
    assert not AuditEvent.objects.filter(action="file_request.notification_not_delivered").exists()


def test_a_notify_receipt_never_reaches_another_clinics_message(account, other_account):
    """Clinic B's message id with clinic A's reference (or the other way round) is no
    message: 404, and neither changes."""
    ours = sent_text(account, "notify")
    theirs = sent_text(other_account, "notify")
    crossed = notify_body(ours, "permanent-failure", id=theirs.provider_message_id)
    assert notify_post(crossed).status_code == 404
    crossed = notify_body(theirs, "permanent-failure", id=ours.provider_message_id)
    assert notify_post(crossed).status_code == 404
    ours.refresh_from_db(), theirs.refresh_from_db()
    assert ours.delivery == theirs.delivery == ""
    assert "Not delivered" not in inbox(account)


def test_a_twilio_message_id_is_not_taken_by_the_notify_door(account):
    text = sent_text(account, "twilio")
    body = notify_body(text, "delivered")
    assert notify_post(body).status_code == 404


# --- Twilio: its status callback, signed as its documentation says ------------------------


def twilio_signature(url: str, params: dict, token: str = TWILIO_TOKEN) -> str:
    """Twilio's documented algorithm: the full URL, then each POST field's name and value
    sorted by name, HMAC-SHA1 with the auth token, Base64."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_params(text: Notification, status: str, **changes) -> dict:
    """The fields Twilio posts to a message's StatusCallback."""
    params = {
        "SmsSid": text.provider_message_id,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": "+447700912345",
        "MessageSid": text.provider_message_id,
        "AccountSid": ACCOUNT_SID,
        "From": "+447700900000",
        "ApiVersion": "2010-04-01",
    }
    if status in ("undelivered", "failed"):
        params["ErrorCode"] = "30003"
    params.update(changes)
    return {name: value for name, value in params.items() if value is not None}


def twilio_post(text_id, params: dict, *, signature=None, signed_url=None):
    path = f"/sms/receipts/twilio/{text_id}"
    url = signed_url or f"{BASE}{path}"
    headers = {}
    if signature is not False:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature or twilio_signature(url, params)
    return Client().post(path, params, **headers)


@pytest.mark.parametrize(
    ("status", "error_code", "words", "delivery"),
    [
        ("queued", None, "Waiting for the network", "waiting"),
        ("sending", None, "Waiting for the network", "waiting"),
        ("sent", None, "Waiting for the network", "waiting"),
        ("delivered", None, "Delivered to the phone", "delivered"),
        (
            "undelivered",
            "30003",
            "Not delivered: the phone is switched off or out of signal",
            "failed",
        ),
        (
            "undelivered",
            "30005",
            "Not delivered: the number does not exist or is no longer in use",
            "failed",
        ),
        ("failed", "30007", "Not delivered: the network filtered it as spam", "failed"),
        (
            "failed",
            "21610",
            "Not delivered: the patient has replied STOP to the clinic&#x27;s texts",
            "failed",
        ),
        (
            "undelivered",
            "39999",
            "Not delivered: the network could not deliver it (error 39999)",
            "failed",
        ),
        ("failed", "", "Not delivered: the text provider could not send it", "failed"),
    ],
)
def test_each_twilio_status_reads_in_words(account, status, error_code, words, delivery):
    text = sent_text(account, "twilio")
    params = twilio_params(text, status, ErrorCode=error_code)
    answer = twilio_post(text.pk, params)
    assert answer.status_code == 204, answer.content
    text.refresh_from_db()
    assert (text.delivery, text.delivery_status) == (delivery, status)
    assert text.delivery_error_code == (error_code or "")
    assert words in request_page(account, text)
    listed = inbox(account)
    assert (f'data-testid="inbox-{text.file_request_id}"' in listed) == (delivery == "failed")
    if delivery == "failed":
        assert words in listed


def test_twilio_is_told_where_to_send_receipts(account, settings):
    """The message's StatusCallback is this message's receipt address on the portal's
    public address (the real library, a local server answering as Twilio)."""
    from filerequests.services import notification_queue, notification_send
    from tests.filerequests.test_filerequests_sms import FakeTwilio

    fake = FakeTwilio()
    try:
        settings.SMS_BACKEND = "filerequests.sms.TwilioSmsBackend"
        settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
        settings.TWILIO_FROM_NUMBER = "+447700900000"
        settings.TWILIO_MESSAGING_SERVICE_SID = ""
        settings.TWILIO_API_BASE_URL = fake.url
        request = FileRequestFactory(account=account)
        text = notification_queue(file_request=request)
        notification_send(notification_id=text.id)
    finally:
        fake.close()
    (sent,) = fake.requests
    assert sent["form"]["StatusCallback"] == f"{BASE}/sms/receipts/twilio/{text.pk}"


@pytest.mark.parametrize(
    "forge",
    [
        "missing",
        "empty",
        "garbage",
        "wrong token",
        "another url",
        "http not https",
        "status changed after signing",
        "error code added after signing",
        "another message's signature",
    ],
)
def test_a_twilio_callback_without_a_valid_signature_changes_nothing(account, forge):
    text = sent_text(account, "twilio")
    other = sent_text(account, "twilio")
    params = twilio_params(text, "undelivered")
    url = f"{BASE}/sms/receipts/twilio/{text.pk}"
    signature = {
        "missing": False,
        "empty": "",
        "garbage": "bm90IGEgc2lnbmF0dXJl",
        "wrong token": twilio_signature(url, params, token="f" * 32),
        "another url": twilio_signature(f"{BASE}/sms/receipts/twilio/{other.pk}", params),
        "http not https": twilio_signature(url.replace("https://", "http://"), params),
        "status changed after signing": twilio_signature(
            url, {**params, "MessageStatus": "delivered"}
        ),
        "error code added after signing": twilio_signature(
            url, {k: v for k, v in params.items() if k != "ErrorCode"}
        ),
        "another message's signature": twilio_signature(
            f"{BASE}/sms/receipts/twilio/{other.pk}", twilio_params(other, "undelivered")
        ),
    }[forge]
    if forge == "empty":
        answer = Client().post(
            f"/sms/receipts/twilio/{text.pk}", params, HTTP_X_TWILIO_SIGNATURE=""
        )
    else:
        answer = twilio_post(text.pk, params, signature=signature)
    assert answer.status_code == 403
    text.refresh_from_db(), other.refresh_from_db()
    assert text.delivery == other.delivery == ""


def test_twilio_callbacks_are_refused_when_no_auth_token_is_set(account, settings):
    text = sent_text(account, "twilio")
    params = twilio_params(text, "delivered")
    signature = twilio_signature(f"{BASE}/sms/receipts/twilio/{text.pk}", params)
    settings.TWILIO_AUTH_TOKEN = ""
    assert twilio_post(text.pk, params, signature=signature).status_code == 404


@pytest.mark.parametrize(
    "case",
    ["unknown sid", "empty sid", "unknown message address", "malformed address", "notify id"],
)
def test_a_twilio_callback_for_no_message_of_ours_is_404(account, case):
    text = sent_text(account, "twilio")
    notify_text = sent_text(account, "notify")
    address = text.pk
    params = twilio_params(text, "delivered")
    if case == "unknown sid":
        params = twilio_params(text, "delivered", MessageSid="SM" + "9" * 32)
    elif case == "empty sid":
        params = twilio_params(text, "delivered", MessageSid="")
    elif case == "unknown message address":
        address = uuid.uuid4()
    elif case == "malformed address":
        address = "not-a-message"
    else:
        address = notify_text.pk
        params = twilio_params(text, "delivered", MessageSid=notify_text.provider_message_id)
    assert twilio_post(address, params).status_code == 404
    text.refresh_from_db(), notify_text.refresh_from_db()
    assert text.delivery == notify_text.delivery == ""


def test_twilio_receipts_out_of_order_never_take_delivered_back(account):
    """Twilio posts queued, sent and delivered; they may arrive in any order, and twice.
    Delivered stays delivered; sent after queued moves forward; one audit row."""
    text = sent_text(account, "twilio")
    for status in ("queued", "sent", "queued"):
        assert twilio_post(text.pk, twilio_params(text, status)).status_code == 204
    text.refresh_from_db()
    assert (text.delivery, text.delivery_status) == ("waiting", "sent")
    for status in ("delivered", "sent", "delivered", "queued", "undelivered", "failed"):
        assert twilio_post(text.pk, twilio_params(text, status)).status_code == 204
    text.refresh_from_db()
    assert (text.delivery, text.delivery_status) == ("delivered", "delivered")
    assert "Delivered to the phone" in request_page(account, text)
    assert AuditEvent.objects.filter(action="file_request.notification_delivered").count() == 1


def test_a_twilio_receipt_never_reaches_another_clinics_message(account, other_account):
    """Clinic B's MessageSid posted (validly signed) to clinic A's message address is no
    message: 404, and neither changes."""
    ours = sent_text(account, "twilio")
    theirs = sent_text(other_account, "twilio")
    params = twilio_params(ours, "undelivered", MessageSid=theirs.provider_message_id)
    assert twilio_post(ours.pk, params).status_code == 404
    params = twilio_params(theirs, "undelivered", MessageSid=ours.provider_message_id)
    assert twilio_post(theirs.pk, params).status_code == 404
    ours.refresh_from_db(), theirs.refresh_from_db()
    assert ours.delivery == theirs.delivery == ""


# --- The inbox: a text not delivered, until it is sent again or the request is over -----


def test_an_undelivered_text_leaves_the_inbox_once_resent_or_over(account):
    text = sent_text(account, "notify")
    notify_post(notify_body(text, "permanent-failure"))
    row = f'data-testid="inbox-{text.file_request_id}"'
    assert row in inbox(account)
    resent = Notification.objects.create(file_request=text.file_request)
    assert row not in inbox(account)  # a new text is on its way
    resent.delete()
    FileRequest.objects.filter(pk=text.file_request_id).update(status="cancelled")
    assert row not in inbox(account)


def test_twilio_refusing_the_number_reads_in_words(account, settings):
    """Twilio's refusal when sending (21211) is "Not delivered: the mobile number is not
    valid" on the request page, with the code kept for whoever asks Twilio."""
    from filerequests.services import notification_queue, notification_send
    from tests.filerequests.test_filerequests_sms import FakeTwilio

    fake = FakeTwilio()
    fake.answers = [(400, {"code": 21211, "message": "Invalid 'To'", "status": 400})]
    try:
        settings.SMS_BACKEND = "filerequests.sms.TwilioSmsBackend"
        settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
        settings.TWILIO_FROM_NUMBER = "+447700900000"
        settings.TWILIO_MESSAGING_SERVICE_SID = ""
        settings.TWILIO_API_BASE_URL = fake.url
        text = notification_queue(file_request=FileRequestFactory(account=account))
        notification_send(notification_id=text.id, final_attempt=False)
    finally:
        fake.close()
    text.refresh_from_db()
    assert text.status == "failed"
    assert "Not delivered: the mobile number is not valid (Twilio code 21211)" in request_page(
        account, text
    )


def test_a_text_the_provider_refused_is_in_the_inbox_too(account):
    request = FileRequestFactory(account=account)
    Notification.objects.create(
        file_request=request,
        status=Notification.Status.FAILED,
        error="Twilio answered 400 (code 21211)",
        failed_at=timezone.now(),
    )
    listed = inbox(account)
    assert f'data-testid="inbox-{request.id}"' in listed
    assert "Not delivered: Twilio answered 400 (code 21211)" in listed


# --- The Notify backend, against a local server answering as Notify does -------------------


class FakeNotify:
    """A local HTTP server answering Notify's POST /v2/notifications/sms."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(
                    {
                        "path": self.path,
                        "body": body,
                        "authorization": self.headers.get("Authorization", ""),
                    }
                )
                status, answer = fake.answers.pop(0) if fake.answers else (201, None)
                answer = answer or {
                    "id": "740e5834-3a29-46b4-9a6f-16142fde533a",
                    "reference": body.get("reference"),
                    "content": {"body": "...", "from_number": "GOVUK"},
                    "uri": "https://api.notifications.service.gov.uk/v2/notifications/x",
                    "template": {"id": body.get("template_id"), "version": 1, "uri": "x"},
                }
                payload = json.dumps(answer).encode()
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


TEMPLATE_ID = "f33517ff-2a88-4f6e-b855-c550268ce08a"


@pytest.fixture
def fake_notify(settings):
    fake = FakeNotify()
    settings.SMS_BACKEND = "filerequests.sms.NotifySmsBackend"
    settings.NOTIFY_API_KEY = f"portal_test-{uuid.uuid4()}-{uuid.uuid4()}"
    settings.NOTIFY_SMS_TEMPLATE_ID = TEMPLATE_ID
    settings.NOTIFY_SMS_SENDER_ID = ""
    settings.NOTIFY_API_BASE_URL = fake.url
    yield fake
    fake.close()


def test_the_notify_backend_sends_the_text_with_our_reference(account, fake_notify):
    """GIVEN the Notify backend WHEN a request's text is sent THEN Notify is asked for its
    template with the whole text as ((body)) and the message's id as reference, signed
    with a JWT; Notify's id is kept, and its receipt then finds the message."""
    from filerequests.services import notification_queue, notification_send

    request = FileRequestFactory(account=account)
    text = notification_queue(file_request=request)
    notification_send(notification_id=text.id)

    (sent,) = fake_notify.requests
    assert sent["path"] == "/v2/notifications/sms"
    assert sent["authorization"].startswith("Bearer ey")
    assert sent["body"]["template_id"] == TEMPLATE_ID
    assert sent["body"]["reference"] == str(text.pk)
    assert f"{BASE}/r/{request.short_link_id}" in sent["body"]["personalisation"]["body"]
    text.refresh_from_db()
    assert (text.status, text.backend) == ("sent", "notify")
    assert text.provider_message_id == "740e5834-3a29-46b4-9a6f-16142fde533a"
    assert notify_post(notify_body(text, "delivered")).status_code == 204
    text.refresh_from_db()
    assert text.delivery == "delivered"


@pytest.mark.parametrize(
    ("status", "final"),
    [(400, "failed"), (403, "failed"), (429, "queued"), (500, "queued"), (503, "queued")],
)
def test_notify_refusals_fail_and_outages_are_tried_again(account, fake_notify, status, final):
    from filerequests.services import notification_queue, notification_send
    from filerequests.sms import SmsTemporaryError

    fake_notify.answers.append((status, {"errors": [{"error": "X", "message": "no"}]}))
    text = notification_queue(file_request=FileRequestFactory(account=account))
    if final == "queued":
        with pytest.raises(SmsTemporaryError):
            notification_send(notification_id=text.id, final_attempt=False)
    else:
        notification_send(notification_id=text.id, final_attempt=False)
    text.refresh_from_db()
    assert text.status == final
    assert f"Notify answered {status}" in text.error
