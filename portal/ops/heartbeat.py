"""Each Celery worker's own heartbeat, written from its main process on a timer.

The ``ops.heartbeat`` task queued by beat proves that *some* worker takes messages;
it cannot tell which worker died, since any worker may take it. This thread writes
the row of *this* worker (its ``-n`` host name) every ``OPS_WORKER_HEARTBEAT_SECONDS``,
whatever its pool is busy with, and removes the row when the worker stops cleanly.
A worker killed outright leaves its row to age, and ``files.dead_worker_requeue``
queues its files again (the Redis visibility timeout would wait an hour).
"""

from __future__ import annotations

import logging
import os
import threading
import uuid

from celery.signals import worker_init, worker_ready, worker_shutdown
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from portal.ops.models import WorkerHeartbeat
from portal.ops.services import heartbeat_record

logger = logging.getLogger(__name__)

_state: dict[str, object] = {}
# Set in the worker's main process before its pool forks, so its children inherit it.
INSTANCE_VARIABLE = "PORTAL_WORKER_INSTANCE"
INSTANCE_MARK = " #"


def worker_identity(hostname: str) -> str:
    """This worker *process*'s name: its ``-n`` host name and an id made at its start.

    A worker restarted under the same name (systemd, make run-scaled) is another
    instance: the files the killed one held must not look alive by the new one's
    heartbeat. Outside a worker (no instance id) it is the host name alone.
    """
    instance = os.environ.get(INSTANCE_VARIABLE, "")
    return f"{hostname}{INSTANCE_MARK}{instance}"[:200] if instance else hostname[:200]


@worker_init.connect(dispatch_uid="portal.ops.heartbeat.instance")
def heartbeat_instance(sender=None, **kwargs) -> None:
    os.environ[INSTANCE_VARIABLE] = uuid.uuid4().hex[:12]


def _beat(worker: str, stop: threading.Event) -> None:
    failing = False
    while not stop.wait(settings.OPS_WORKER_HEARTBEAT_SECONDS):
        try:
            close_old_connections()
            heartbeat_record(worker=worker)
        except DatabaseError as error:
            # The database may be away for a while: said once, tried again each time.
            connection.close()
            if not failing:
                logger.warning(
                    "worker heartbeat could not be written: the database does not answer "
                    "(%s); trying again every %s s.",
                    type(error).__name__,
                    settings.OPS_WORKER_HEARTBEAT_SECONDS,
                )
            failing = True
        except Exception:
            logger.warning("worker heartbeat could not be written", exc_info=True)
        else:
            if failing:
                logger.info("worker heartbeat written again: the database answers.")
            failing = False
    connection.close()


@worker_ready.connect(dispatch_uid="portal.ops.heartbeat.start")
def heartbeat_start(sender=None, **kwargs) -> None:
    hostname = getattr(sender, "hostname", "") or ""
    worker = worker_identity(hostname)
    if not hostname or settings.OPS_WORKER_HEARTBEAT_SECONDS <= 0:
        return
    try:
        heartbeat_record(worker=worker)
    except Exception:
        logger.warning("worker heartbeat could not be written", exc_info=True)
    stop = threading.Event()
    thread = threading.Thread(
        target=_beat, args=(worker, stop), name="portal-heartbeat", daemon=True
    )
    thread.start()
    _state.update(worker=worker, stop=stop, thread=thread)


@worker_shutdown.connect(dispatch_uid="portal.ops.heartbeat.stop")
def heartbeat_stop(sender=None, **kwargs) -> None:
    """A clean stop: the worker finished or handed back its tasks, so it is not dead."""
    stop = _state.pop("stop", None)
    worker = _state.pop("worker", None)
    if stop is None:
        return
    stop.set()
    try:
        WorkerHeartbeat.objects.filter(worker=worker).delete()
    except Exception:
        logger.warning("worker heartbeat could not be removed", exc_info=True)
