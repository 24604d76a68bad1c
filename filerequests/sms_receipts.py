"""Delivery receipts of text messages: what Twilio's status callback and GOV.UK Notify's
delivery receipt say became of a message after the provider took it.

Each provider's words are read into one of three things staff see (waiting for the
network, delivered to the phone, not delivered with a reason in words). Receipts come
more than once and out of order (Twilio may post "sent" after "delivered"), so a
message's delivery only moves forward: a receipt that would take it back, or repeats
what it already says, changes nothing. A receipt is found by the provider's own id of
the message and must name the portal's message it came for (the reference Notify
returns, the address Twilio posts to), so a receipt never lands on another clinic's
message.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from filerequests.models import Notification
from filerequests.sms import TWILIO_ERROR_WORDS
from portal.audit.services import Actor, audit_record
from portal.ids import parse_uuid

logger = logging.getLogger(__name__)

Delivery = Notification.Delivery


@dataclass(frozen=True)
class Reading:
    """A provider's status read: where it stands (``rank``: later states rank higher,
    the final ones highest) and what staff see."""

    delivery: str
    rank: int
    reason: str = ""


FINAL = 9

# Twilio's MessageStatus values (its status callback documentation).
TWILIO_STATUSES = {
    "accepted": Reading(Delivery.WAITING, 1),
    "scheduled": Reading(Delivery.WAITING, 1),
    "queued": Reading(Delivery.WAITING, 2),
    "sending": Reading(Delivery.WAITING, 3),
    "sent": Reading(Delivery.WAITING, 4),
    "delivered": Reading(Delivery.DELIVERED, FINAL),
    "read": Reading(Delivery.DELIVERED, FINAL),
    "undelivered": Reading(Delivery.FAILED, FINAL, "the network could not deliver it"),
    "failed": Reading(Delivery.FAILED, FINAL, "the text provider could not send it"),
    "canceled": Reading(Delivery.FAILED, FINAL, "it was cancelled before it was sent"),
}

# GOV.UK Notify's statuses of a text message (its callback documentation).
NOTIFY_STATUSES = {
    "created": Reading(Delivery.WAITING, 1),
    "sending": Reading(Delivery.WAITING, 3),
    "pending": Reading(Delivery.WAITING, 4),
    "sent": Reading(Delivery.WAITING, 4),
    "delivered": Reading(Delivery.DELIVERED, FINAL),
    "permanent-failure": Reading(
        Delivery.FAILED, FINAL, "the number does not exist or cannot receive texts"
    ),
    "temporary-failure": Reading(
        Delivery.FAILED, FINAL, "the phone was off or out of signal for 72 hours"
    ),
    "technical-failure": Reading(
        Delivery.FAILED, FINAL, "a problem at the text provider; it was not sent"
    ),
    "validation-failed": Reading(Delivery.FAILED, FINAL, "the mobile number is not valid"),
}

READINGS = {"twilio": TWILIO_STATUSES, "notify": NOTIFY_STATUSES}


class ReceiptUnknown(Exception):
    """No message of the portal matches this receipt (an unknown id, or one that names
    another message than the one it was sent for)."""


class ReceiptInvalid(ValueError):
    """A receipt whose status the provider does not document."""


def rank_of(notification: Notification) -> int:
    readings = READINGS.get(notification.backend, {})
    current = readings.get(notification.delivery_status)
    return current.rank if current is not None else 0


def reason_for(backend: str, reading: Reading, error_code: str) -> str:
    if backend == "twilio" and error_code:
        return TWILIO_ERROR_WORDS.get(error_code, f"{reading.reason} (error {error_code})")
    return reading.reason


@transaction.atomic
def receipt_record(
    *,
    backend: str,
    provider_message_id: str,
    status: str,
    reference: str | None = None,
    error_code: str = "",
    occurred_at: dt.datetime | None = None,
) -> tuple[Notification, bool]:
    """Apply one receipt to the message the provider calls ``provider_message_id``;
    ``(message, changed)``. ``reference`` is the portal's id of the message the receipt
    says it is for: it must be that message's. Raises ``ReceiptUnknown`` and
    ``ReceiptInvalid``; a receipt that is stale or repeated changes nothing."""
    readings = READINGS[backend]
    reading = readings.get(status)
    if reading is None:
        raise ReceiptInvalid(f"unknown status {status!r}")
    if not provider_message_id:
        raise ReceiptUnknown("no message id")
    notification = (
        Notification.objects.select_for_update(of=("self",))
        .select_related("file_request__account")
        .filter(backend=backend, provider_message_id=provider_message_id)
        .first()
    )
    if notification is None or (reference is not None and parse_uuid(reference) != notification.pk):
        raise ReceiptUnknown(provider_message_id)
    if reading.rank <= rank_of(notification):
        return notification, False
    notification.delivery = reading.delivery
    notification.delivery_status = status
    notification.delivery_error_code = (error_code or "")[:20]
    failed = reading.delivery == Delivery.FAILED
    notification.delivery_reason = reason_for(backend, reading, error_code)[:200] if failed else ""
    notification.delivery_at = occurred_at or timezone.now()
    notification.save(
        update_fields=[
            "delivery",
            "delivery_status",
            "delivery_error_code",
            "delivery_reason",
            "delivery_at",
        ]
    )
    if reading.rank == FINAL:
        file_request = notification.file_request
        audit_record(
            account=file_request.account,
            actor=Actor.system(),
            action=(
                "file_request.notification_delivered"
                if reading.delivery == Delivery.DELIVERED
                else "file_request.notification_not_delivered"
            ),
            target=file_request,
            detail={
                "notification_id": str(notification.pk),
                "backend": backend,
                "status": status,
                "error_code": notification.delivery_error_code,
            },
        )
        if failed:
            logger.warning(
                "text for file request %s not delivered: %s (%s)",
                file_request.pk,
                status,
                error_code or "no code",
            )
    return notification, True


def notify_time(value) -> dt.datetime | None:
    """Notify's timestamps (``2024-03-31T11:01:00.000000Z``), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None
