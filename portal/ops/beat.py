"""Celery beat for more than one host: every host may run beat, one of them sends.

Beat is what queues every sweep (dead workers, stale uploads, webhook retries, expired
requests, Medable's photo collector): one beat alone is a single point of failure, and
two plain beats would queue everything twice. ``LeasedScheduler`` (the
``CELERY_BEAT_SCHEDULER``) holds a lease in the database (portal.ops.models.BeatLease),
renewed on every tick. While another beat's lease is fresh, this one is a standby: it
asks again every ``BEAT_STANDBY_POLL_SECONDS`` and sends nothing. A beat killed outright
stops renewing, and a standby takes over once the lease is ``BEAT_LEASE_SECONDS`` old;
one stopped cleanly hands over at once.

Never two at once: an entry is sent only while this process's own clock says the lease
it last renewed still has ``BEAT_LEASE_MARGIN_SECONDS`` to run (measured from before the
renewal was asked), so a beat that stalls (a slow broker, a paused VM) stops sending
before a standby may take its place.

The database unreachable: beat cannot know whether it is the active one, so it sends
nothing, says so once at WARNING (not a traceback per tick), and says when it is back.
The routine "Sending due task" line (the photo collector's, every 2 s) is at DEBUG.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid

from celery.beat import PersistentScheduler
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from portal.ops.services import beat_lease_current, beat_lease_release, beat_lease_take

logger = logging.getLogger("portal.beat")


def beat_identity() -> str:
    """Host, process and a random part: a beat restarted with the same pid is another."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:200]


class LeasedScheduler(PersistentScheduler):
    """The schedule file of Celery's default scheduler, sent only while the lease is ours."""

    def __init__(self, *args, **kwargs):
        self.holder = beat_identity()
        self.lease_seconds = float(settings.BEAT_LEASE_SECONDS)
        self.margin_seconds = float(settings.BEAT_LEASE_MARGIN_SECONDS)
        self.renew_seconds = float(settings.BEAT_LEASE_RENEW_SECONDS)
        self.standby_seconds = float(settings.BEAT_STANDBY_POLL_SECONDS)
        self.active = False
        self.valid_until = 0.0  # monotonic: this process may send until then
        self.renew_at = 0.0
        self.database_down = False
        super().__init__(*args, **kwargs)

    # --- the lease ------------------------------------------------------------------

    def lease_held(self) -> bool:
        """Whether this beat may send now: renews the lease when it is due."""
        now = time.monotonic()
        if self.active and now < self.renew_at and now < self.valid_until:
            return True

        asked_at = time.monotonic()
        try:
            close_old_connections()
            held = beat_lease_take(holder=self.holder, lease_seconds=self.lease_seconds)
            current = beat_lease_current() if not held and self.role != "standby" else None
        except DatabaseError as error:
            connection.close()
            self.database_unreachable(error)
            self.active = False
            return False
        if self.database_down:
            self.database_down = False
            logger.info("beat: the database answers again.")
        self.active = held
        if held:
            self.valid_until = asked_at + self.lease_seconds - self.margin_seconds
            self.renew_at = asked_at + self.renew_seconds
        role = "active" if held else "standby"
        if role != self.role:
            self.role = role
            if held:
                logger.info("beat: %s is active; it sends the periodic tasks.", self.holder)
            else:
                logger.info(
                    "beat: %s is a standby; %s is the active beat.",
                    self.holder,
                    (current.holder if current else "") or "another",
                )
        return held

    role: str | None = None

    def database_unreachable(self, error: Exception) -> None:
        if not self.database_down:
            self.database_down = True
            logger.warning(
                "beat: the database does not answer (%s: %s); no periodic task is sent "
                "until it does.",
                type(error).__name__,
                str(error).strip().splitlines()[0] if str(error).strip() else "",
            )
        else:
            logger.debug("beat: the database still does not answer (%s).", type(error).__name__)

    # --- Celery's scheduler -----------------------------------------------------------

    def tick(self, *args, **kwargs):
        if not self.lease_held():
            return self.standby_seconds
        interval = super().tick(*args, **kwargs)
        return min(interval, max(0.0, self.renew_at - time.monotonic()))

    def apply_entry(self, entry, producer=None):
        """Celery's, with the routine line at DEBUG and no sending past the lease."""
        if time.monotonic() >= self.valid_until:
            logger.warning(
                "beat: %s not sent: this beat's lease may have lapsed (a standby may "
                "have taken over).",
                entry.name,
            )
            self.active = False
            return
        logger.debug("Scheduler: Sending due task %s (%s)", entry.name, entry.task)
        try:
            self.apply_async(entry, producer=producer, advance=False)
        except Exception as exc:  # one entry that cannot be sent must not stop the others
            logger.error("beat: %s could not be sent: %s", entry.name, exc, exc_info=True)

    def close(self):
        try:
            super().close()
        finally:
            if self.active:
                self.active = False  # close() may be called twice: hand over once
                try:
                    close_old_connections()
                    beat_lease_release(holder=self.holder)
                    logger.info("beat: %s stopped and handed over its lease.", self.holder)
                except DatabaseError:
                    pass  # a standby takes over when the lease runs out
