"""Sending text messages: one small interface, a backend chosen by ``SMS_BACKEND``.

* ``ConsoleSmsBackend``: development; prints the message to the console.
* ``FileSmsBackend``: development and tests; appends one JSON line per message
  to ``SMS_FILE_PATH``, which tests read back.
* ``TwilioSmsBackend``: production, through Twilio's own library; its status callback
  comes to ``/sms/receipts/twilio/<message id>``.
* ``NotifySmsBackend``: production, GOV.UK Notify through its own client; its delivery
  receipts come to ``/sms/receipts/notify`` (``sms_receipts``).

``reference`` is the portal's id of the message: the receipt names it back.

A backend raises ``SmsTemporaryError`` for what may work later (network, the
provider's 5xx or 429) and ``SmsPermanentError`` for what never will (a number
the provider refuses, bad credentials); the Celery task retries only the first.
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string

# Twilio's error codes of a message it refused, could not send or could not deliver,
# in the words staff read ("Not delivered: <words>").
TWILIO_ERROR_WORDS = {
    "30001": "the text provider's queue overflowed",
    "30002": "the text provider's account is suspended",
    "30003": "the phone is switched off or out of signal",
    "30004": "the number blocks messages",
    "30005": "the number does not exist or is no longer in use",
    "30006": "the number is a landline or cannot receive texts",
    "30007": "the network filtered it as spam",
    "30008": "the network gave no reason",
    "30034": "the sender is not registered with the network",
    "21211": "the mobile number is not valid",
    "21408": "texts to this country are not enabled",
    "21610": "the patient has replied STOP to the clinic's texts",
    "21614": "the number is not a mobile",
}


class SmsError(Exception):
    pass


class SmsTemporaryError(SmsError):
    """Sending failed for a reason that may pass: try again later."""


class SmsPermanentError(SmsError):
    """Sending failed and trying again will not help."""


@dataclass(frozen=True)
class SmsReceipt:
    provider_message_id: str


class SmsBackend:
    name = "base"

    def send(self, *, to: str, body: str, reference: str = "") -> SmsReceipt:
        raise NotImplementedError


def receipt_url(backend: str, reference: str) -> str:
    """Where a provider posts the receipts of one message (Twilio's status callback)."""
    return f"{settings.PORTAL_PUBLIC_BASE_URL.rstrip('/')}/sms/receipts/{backend}/{reference}"


class ConsoleSmsBackend(SmsBackend):
    name = "console"

    def send(self, *, to: str, body: str, reference: str = "") -> SmsReceipt:
        message_id = f"console-{uuid.uuid4().hex[:12]}"
        # The development console is where a developer plays the patient: the text goes to
        # the process's own stdout, not through the Celery worker's redirect into the
        # (redacting) log, so the link stays readable here and nowhere else.
        out = sys.__stdout__ or sys.stdout
        out.write(f"--- SMS to {to} ({message_id})\n{body}\n---\n")
        out.flush()
        return SmsReceipt(provider_message_id=message_id)


class FileSmsBackend(SmsBackend):
    name = "file"
    _lock = threading.Lock()

    def send(self, *, to: str, body: str, reference: str = "") -> SmsReceipt:
        message_id = f"file-{uuid.uuid4().hex[:12]}"
        path = Path(settings.SMS_FILE_PATH)
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {"id": message_id, "to": to, "body": body, "sent_at": timezone.now().isoformat()}
        )
        with self._lock, path.open("a", encoding="utf-8") as outbox:
            outbox.write(line + "\n")
        return SmsReceipt(provider_message_id=message_id)


def file_outbox_messages(path: str | Path | None = None) -> list[dict]:
    """Every message the file backend has written, oldest first."""
    outbox = Path(path or settings.SMS_FILE_PATH)
    if not outbox.exists():
        return []
    return [json.loads(line) for line in outbox.read_text().splitlines() if line.strip()]


class TwilioSmsBackend(SmsBackend):
    """Twilio's Messages API through the ``twilio`` library.

    ``TWILIO_API_BASE_URL`` points the client at another server; the tests run
    a local HTTP server that answers as Twilio does.
    """

    name = "twilio"

    def __init__(self):
        if not settings.TWILIO_ACCOUNT_SID or not settings.TWILIO_AUTH_TOKEN:
            raise ImproperlyConfigured(
                "TwilioSmsBackend needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN."
            )
        if not settings.TWILIO_FROM_NUMBER and not settings.TWILIO_MESSAGING_SERVICE_SID:
            raise ImproperlyConfigured(
                "TwilioSmsBackend needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID."
            )

    def client(self):
        # Each provider's library is imported where its backend uses it: Twilio's is large,
        # and a portal on another provider (or the console) never loads it.
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=TwilioHttpClient(timeout=15),
        )
        if settings.TWILIO_API_BASE_URL:
            client.api.base_url = settings.TWILIO_API_BASE_URL.rstrip("/")
        return client

    def send(self, *, to: str, body: str, reference: str = "") -> SmsReceipt:
        from twilio.base.exceptions import TwilioException, TwilioRestException  # as client()

        sender = (
            {"messaging_service_sid": settings.TWILIO_MESSAGING_SERVICE_SID}
            if settings.TWILIO_MESSAGING_SERVICE_SID
            else {"from_": settings.TWILIO_FROM_NUMBER}
        )
        if reference:
            sender["status_callback"] = receipt_url(self.name, reference)
        try:
            message = self.client().messages.create(to=to, body=body, **sender)
        except TwilioRestException as exc:
            words = TWILIO_ERROR_WORDS.get(str(exc.code))
            reason = (
                f"{words} (Twilio code {exc.code})"
                if words
                else f"Twilio answered {exc.status} (code {exc.code})"
            )
            if exc.status == 429 or exc.status >= 500:
                raise SmsTemporaryError(reason) from exc
            raise SmsPermanentError(reason) from exc
        except (requests.RequestException, TwilioException) as exc:
            raise SmsTemporaryError(f"Twilio could not be reached: {type(exc).__name__}") from exc
        return SmsReceipt(provider_message_id=message.sid or "")


class NotifySmsBackend(SmsBackend):
    """GOV.UK Notify through ``notifications-python-client``: one text message template
    whose body is ``((body))``, filled with the whole message.

    ``NOTIFY_API_BASE_URL`` points the client at another server; the tests run a local
    HTTP server that answers as Notify does.
    """

    name = "notify"

    def __init__(self):
        if not settings.NOTIFY_API_KEY or not settings.NOTIFY_SMS_TEMPLATE_ID:
            raise ImproperlyConfigured(
                "NotifySmsBackend needs NOTIFY_API_KEY and NOTIFY_SMS_TEMPLATE_ID."
            )

    def client(self):
        # GOV.UK Notify's library, only where Notify is the provider (as Twilio's above).
        from notifications_python_client.notifications import NotificationsAPIClient

        base_url = settings.NOTIFY_API_BASE_URL or "https://api.notifications.service.gov.uk"
        return NotificationsAPIClient(settings.NOTIFY_API_KEY, base_url=base_url, timeout=15)

    def send(self, *, to: str, body: str, reference: str = "") -> SmsReceipt:
        from notifications_python_client.errors import APIError  # as client() above

        try:
            answer = self.client().send_sms_notification(
                phone_number=to,
                template_id=settings.NOTIFY_SMS_TEMPLATE_ID,
                personalisation={"body": body},
                reference=reference or None,
                sms_sender_id=settings.NOTIFY_SMS_SENDER_ID or None,
            )
        except APIError as exc:
            if exc.status_code == 429 or exc.status_code >= 500:
                raise SmsTemporaryError(f"Notify answered {exc.status_code}") from exc
            if exc.status_code in (401, 403):
                reason = "the clinic's text provider key was refused"
            else:
                reason = "the text provider refused the message"
            raise SmsPermanentError(f"{reason} (Notify answered {exc.status_code})") from exc
        return SmsReceipt(provider_message_id=str(answer.get("id", "")))


def sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()
