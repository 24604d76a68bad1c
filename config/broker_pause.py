"""Queueing while the broker does not answer: one try, then a pause.

Every task is queued after its transaction commits, and a failure to queue it is logged,
never shown to the client: the upload or the message is stored, and the periodic sweeps
queue again whatever was never queued (files.pipeline.sweeps, filerequests.services). A broker
that hangs makes each try wait out its socket timeout and one retry (config/settings.py),
so a request that queues several tasks (X-on's upload of several files queues one per
file) would wait that long for each. After a try fails, this process queues nothing for
PAUSE_SECONDS: the tasks it skips fail at once, and are left to the sweeps like the one
that failed. The next try after the pause finds out whether the broker is back.
"""

from __future__ import annotations

import logging
import time

import redis.exceptions
from celery import Task
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

PAUSE_SECONDS = 10.0

# When this process last failed to queue a task (time.monotonic()); shared by its threads.
last_failure = {"at": float("-inf")}


# What a broker that is away raises (kombu turns most into its OperationalError).
BROKER_ERRORS = (
    OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
)


class BrokerPaused(OperationalError):
    """Not queued: the broker failed to take a message a moment ago."""


class PausingTask(Task):
    """The portal's tasks: queued as Celery queues them, but not tried again for
    PAUSE_SECONDS after the broker failed to take one."""

    def apply_async(self, *args, **kwargs):
        waited = time.monotonic() - last_failure["at"]
        if waited < PAUSE_SECONDS:
            raise BrokerPaused(
                f"{self.name} not queued: the broker failed {waited:.0f} s ago; "
                f"it is tried again {PAUSE_SECONDS:g} s after that, and the sweeps "
                "queue what was not"
            )
        try:
            return super().apply_async(*args, **kwargs)
        except BROKER_ERRORS:
            if not self.app.conf.task_always_eager:
                last_failure["at"] = time.monotonic()
                logger.warning("broker: %s not queued; pausing for %g s", self.name, PAUSE_SECONDS)
            raise
