"""Recording events. Delivery to webhook endpoints hangs off ``event_record``."""

from __future__ import annotations

from django.db import transaction

from portal.accounts.models import Account
from portal.webhooks.events import ALL_EVENT_TYPES, WEBHOOK_PING
from portal.webhooks.models import Event


def event_record(*, account: Account, type: str, payload: dict) -> Event:
    """Record an event inside the caller's transaction (the outbox row commits with
    the change it describes, or not at all)."""
    if type not in ALL_EVENT_TYPES and type != WEBHOOK_PING:
        raise ValueError(f"Unknown event type {type!r}")
    if not transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return Event.objects.create(account=account, type=type, payload=payload)
    return Event.objects.create(account=account, type=type, payload=payload)
