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
