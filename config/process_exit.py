"""How a portal process ends: without walking its whole heap on the way out.

As Python exits it clears every module and runs its cyclic garbage collector over what is
left. In a process that has loaded Django, the apps, DRF, Celery and boto3 that is some
150,000 objects, and the walk cost 0.3 CPU-seconds at the end of every ``manage.py``
command, gunicorn worker and Celery worker: a third of what starting one costs, paid
again by every backup from cron and every worker a supervisor restarts.

Nothing a clinic needs happens in that walk. Log handlers are flushed and closed by
logging's own exit hook, and the standard streams by the interpreter; this process's
database connections are closed here, first, so that none is left to a collection that
will not come (a SQLite file is checkpointed as it closes, a PostgreSQL backend ends at
once). Then the heap is frozen (``gc.freeze``): the exit's collections pass it by, each
module is still torn down (so a file only a module holds is still closed), and memory
held only by a cycle goes back with the process.
"""

from __future__ import annotations

import atexit
import gc
import sys


def database_connections_close() -> None:
    """Close the connections this thread opened, if Django got as far as opening any."""
    if "django.db" not in sys.modules:
        return
    from django.apps import apps  # imported only when Django already is

    if not apps.ready:
        return
    from django.db import DatabaseError, connections  # likewise

    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except DatabaseError:
            # The server went first (a PostgreSQL stopped before its clients): there is
            # nothing left to close, and an exit is no place to report it.
            continue


def end_without_heap_walk() -> None:
    database_connections_close()
    gc.freeze()


def register() -> None:
    """Run ``end_without_heap_walk`` as this process exits (atexit: not on os._exit, which
    Celery's pool processes and a forked child use, and which walks nothing anyway)."""
    atexit.register(end_without_heap_walk)
