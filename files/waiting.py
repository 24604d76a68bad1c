"""Waiting, within a bound, for the worker to finish processing files.

Two of the seeds (X-on's files API, Claros's PDF upload) have no "processing" state:
a client uploads and may download at once. The in-app doors therefore wait up to
``FILES_SYNC_WAIT_SECONDS`` for the worker (processing never runs in the web process)
before answering, and so does a download of a file still processing. Past the bound
they answer as before (201 with what is known; 409 with ``Retry-After``), so a slow
queue costs a web thread no more than the bound.

The wait polls the file rows by primary key, quickly at first (most photos are done
within a few hundred milliseconds) and less often as it goes on.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.conf import settings
from django.db import connection

from files.models import File

FINISHED = (File.State.READY, File.State.REJECTED)
FIRST_POLL_SECONDS = 0.02
LONGEST_POLL_SECONDS = 0.25


def files_wait_processed(*, files: Iterable[File], timeout: float | None = None) -> list[File]:
    """The same files, reloaded once each is ready or rejected, or when ``timeout``
    (default ``FILES_SYNC_WAIT_SECONDS``) has passed, whichever comes first.

    Call it outside a transaction: the worker must see the files committed, and each
    poll must see what the worker committed since.
    """
    files = list(files)
    timeout = settings.FILES_SYNC_WAIT_SECONDS if timeout is None else timeout
    if timeout <= 0 or all(file.state in FINISHED for file in files):
        return files
    if connection.in_atomic_block:
        raise RuntimeError("files_wait_processed inside a transaction would wait for nothing")
    ids = [file.pk for file in files]
    deadline = time.monotonic() + max(0.0, timeout)
    pause = FIRST_POLL_SECONDS
    while True:
        pending = [file for file in files if file.state not in FINISHED]
        remaining = deadline - time.monotonic()
        if not pending or remaining <= 0:
            return files
        time.sleep(min(pause, remaining))
        pause = min(pause * 1.6, LONGEST_POLL_SECONDS)
        states = dict(File.objects.filter(pk__in=ids).values_list("pk", "state"))
        if any(states.get(file.pk) != file.state for file in pending):
            reloaded = File.objects.in_bulk(ids)
            files = [reloaded.get(file.pk, file) for file in files]


def file_wait_processed(file: File, *, timeout: float | None = None) -> File:
    """One file, as ``files_wait_processed``; already finished files return at once."""
    if file.state in FINISHED:
        return file
    (waited,) = files_wait_processed(files=[file], timeout=timeout)
    if waited is not file:
        waited.account = file.account  # the caller's, already loaded
    return waited
