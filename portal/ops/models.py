"""What operators need to see about the running system."""

from django.db import models


class WorkerHeartbeat(models.Model):
    """The last time a Celery worker ran the heartbeat task, per worker host name.

    Beat queues the heartbeat every minute; ``/healthz`` reports how long ago a
    worker last answered, so "uploads stuck in pending" has a visible cause.
    """

    worker = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.worker} at {self.seen_at:%H:%M:%S}"


class BeatLease(models.Model):
    """Which Celery beat process sends the periodic tasks, and when it last ticked.

    Beat may run on two hosts; the one whose lease is fresh sends, the other waits.
    The active one renews its lease on every tick (``ticked_at``); a standby takes it
    once it is older than ``BEAT_LEASE_SECONDS``, so a beat killed outright is replaced
    within that time (portal.ops.beat). Times are the database's own clock, so the hosts'
    clocks need not agree. ``/metrics`` shows ``ticked_at`` as
    ``portal_beat_last_tick_seconds``.
    """

    name = models.CharField(max_length=50, unique=True)
    holder = models.CharField(max_length=200, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    ticked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.holder or 'nobody'}"
