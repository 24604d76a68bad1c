"""Operational state changes."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Case, F, Q, When
from django.db.models.functions import Now
from django.utils import timezone

from portal.ops.models import BeatLease, WorkerHeartbeat


def heartbeat_record(*, worker: str) -> WorkerHeartbeat:
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        worker=worker[:200], defaults={"seen_at": timezone.now()}
    )
    return heartbeat


def heartbeat_latest() -> WorkerHeartbeat | None:
    return WorkerHeartbeat.objects.order_by("-seen_at").first()


BEAT_LEASE = "beat"


def beat_lease_take(*, holder: str, lease_seconds: float) -> bool:
    """Take or renew beat's lease for ``holder``; False while another beat holds it.

    One conditional UPDATE, judged on the database's clock: it succeeds when ``holder``
    already has the lease, nobody has it, or its holder has not ticked for
    ``lease_seconds``. Two beats asking at once are serialised by the row's lock (on
    PostgreSQL the second re-reads the row the first wrote), so at most one succeeds.
    """
    fresh_enough = Now() - timedelta(seconds=lease_seconds)
    for _ in range(2):
        taken = (
            BeatLease.objects.filter(name=BEAT_LEASE)
            .filter(Q(holder=holder) | Q(holder="") | Q(ticked_at__lt=fresh_enough))
            .update(
                holder=holder,
                ticked_at=Now(),
                taken_at=Case(When(holder=holder, then=F("taken_at")), default=Now()),
            )
        )
        if taken:
            return True
        if BeatLease.objects.filter(name=BEAT_LEASE).exists():
            return False
        BeatLease.objects.bulk_create([BeatLease(name=BEAT_LEASE)], ignore_conflicts=True)
    return False


def beat_lease_release(*, holder: str) -> None:
    """A beat that stops cleanly lets a standby take over at once (its last tick stays)."""
    BeatLease.objects.filter(name=BEAT_LEASE, holder=holder).update(holder="")


def beat_lease_current() -> BeatLease | None:
    return BeatLease.objects.filter(name=BEAT_LEASE).first()
