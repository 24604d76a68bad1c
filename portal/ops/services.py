"""Operational state changes."""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.utils import timezone

from portal.ops.models import WorkerHeartbeat


def heartbeat_record(*, worker: str) -> WorkerHeartbeat:
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        worker=worker[:200], defaults={"seen_at": timezone.now()}
    )
    return heartbeat


def heartbeat_request() -> None:
    """Ask a worker to check in, once the current transaction commits."""
    from portal.ops.tasks import heartbeat_task

    transaction.on_commit(partial(heartbeat_task.delay))


def heartbeat_latest() -> WorkerHeartbeat | None:
    return WorkerHeartbeat.objects.order_by("-seen_at").first()
