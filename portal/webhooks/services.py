"""Recording events (the outbox). Delivery to webhook endpoints hangs off ``event_record``."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from portal.accounts.models import Account
from portal.webhooks.events import ALL_EVENT_TYPES, WEBHOOK_PING
from portal.webhooks.models import Event


def event_envelope(*, event_id, type: str, occurred_at, data: dict) -> dict:
    """The default delivered body: ``{"id", "type", "timestamp", "data"}``."""
    return {
        "id": str(event_id),
        "type": type,
        "timestamp": occurred_at.isoformat(),
        "data": data,
    }


def event_record(
    *,
    account: Account,
    type: str,
    data: dict,
    body: dict | None = None,
    extra_urls: tuple[str, ...] | list[str] = (),
) -> Event:
    """Record an event inside the caller's transaction: the outbox row commits with the
    change it describes, or not at all.

    ``data`` is thin (ids and non-identifying facts). ``body``, when given, is
    the exact JSON delivered instead of the default envelope (X-on's
    ``{"event": {...}}`` for ``file-request.files.update``). ``extra_urls`` are
    one-off receivers beside the account's subscribed endpoints (X-on's
    per-request ``filesUpdateWebhookUrl``).
    """
    if type not in ALL_EVENT_TYPES and type != WEBHOOK_PING:
        raise ValueError(f"Unknown event type {type!r}")
    with transaction.atomic():
        event = Event(
            account=account, type=type, created_at=timezone.now(), extra_urls=list(extra_urls)
        )
        event.payload = (
            body
            if body is not None
            else event_envelope(
                event_id=event.id, type=type, occurred_at=event.created_at, data=data
            )
        )
        event.save()
    return event
