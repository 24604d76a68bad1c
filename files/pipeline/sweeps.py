"""Periodic clean-up (Celery beat): nothing is left behind in storage, and nothing is lost.

* ``expiry_announce_sweep``: a ready file whose time ran out left the record (410 at
  once); its ``file.expired`` event is recorded once, within a minute.
* ``retention_sweep``: an expired file answers 410 at once, but its bytes stay
  ``FILES_RETENTION_DAYS`` longer; then its facets' objects are removed and the row
  is kept (``purged_at``) for the record.
* ``stale_upload_sweep``: tickets never confirmed well after they expired lose their
  objects, and every expired ticket keeps at most its one object (``files.tickets.sweeps``,
  recursive); finished files whose temporary object could not be deleted are retried;
  files stuck in ``pending``/``processing`` (a lost message) are queued again.
* ``dead_worker_requeue``: a worker killed outright (a lost machine) leaves its task
  unacknowledged in Redis until the visibility timeout (an hour). Its heartbeat
  stops, so its files are queued again within about two minutes instead.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from files.models import Facet, File
from files.pipeline.processing import (
    FINAL_STATES,
    file_enqueue_processing,
    file_give_up,
    temp_object_remove,
)
from files.tickets.sweeps import upload_tickets_sweep
from portal.audit.services import Actor, audit_record
from portal.ops.heartbeat import INSTANCE_MARK
from portal.ops.models import WorkerHeartbeat
from portal.webhooks import events
from portal.webhooks.services import event_record

logger = logging.getLogger(__name__)


# Files that expired longer ago than this before the sweep first saw them (a portal that
# was down, or files that expired before the event existed) are marked, not announced.
EXPIRY_ANNOUNCE_WITHIN = dt.timedelta(days=1)
EXPIRY_ANNOUNCE_BATCH = 500


def expiry_announce_sweep(*, now: dt.datetime | None = None) -> int:
    """Record ``file.expired`` for each ready file of a patient whose time has run out,
    once (``expiry_announced_at``); runs every minute. Safe to run twice at once: each
    file is claimed under its row lock (others skip it)."""
    now = now or timezone.now()
    due = File.objects.filter(
        expires_at__lte=now, expiry_announced_at__isnull=True, state=File.State.READY
    )
    File.objects.filter(
        expires_at__lt=now - EXPIRY_ANNOUNCE_WITHIN, pk__in=due.values("pk")[:EXPIRY_ANNOUNCE_BATCH]
    ).update(expiry_announced_at=now)
    announced = 0
    for file_id in list(
        due.order_by("expires_at").values_list("pk", flat=True)[:EXPIRY_ANNOUNCE_BATCH]
    ):
        with transaction.atomic():
            file = (
                File.objects.select_for_update(skip_locked=True)
                .filter(pk=file_id, expiry_announced_at__isnull=True)
                .first()
            )
            if file is None:
                continue
            file.expiry_announced_at = now
            file.save(update_fields=["expiry_announced_at"])
            if file.patient_id is None:
                continue
            event_record(
                account=file.account,
                type=events.FILE_EXPIRED,
                data={
                    "fileId": str(file.pk),
                    "patientId": str(file.patient_id),
                    "fileRequestId": str(file.file_request_id) if file.file_request_id else None,
                    "expiredAt": file.expires_at.isoformat(),
                },
            )
            announced += 1
    return announced


def retention_sweep(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.FILES_RETENTION_DAYS)
    purged = 0
    for file in File.objects.filter(expires_at__lte=cutoff, purged_at__isnull=True):
        with transaction.atomic():
            file = File.objects.select_for_update().get(pk=file.pk)
            if file.purged_at is not None:
                continue
            for facet in file.facets.all():
                if facet.storage_key and default_storage.exists(facet.storage_key):
                    default_storage.delete(facet.storage_key)
            if file.temp_key_in_place():
                default_storage.delete(file.temp_key)  # a key already gone is no error
            file.facets.update(state=Facet.State.FAILED, storage_key="")
            file.purged_at = now
            file.temp_key = ""
            file.save(update_fields=["purged_at", "temp_key"])
            audit_record(
                account=file.account, actor=Actor.system(), action="file.purge", target=file
            )
            purged += 1
    if purged:
        logger.info("retention sweep removed the bytes of %d expired files", purged)
    return purged


def stale_upload_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    counts = {"abandoned": 0, "temp_removed": 0, "requeued": 0}
    # Tickets whose policy has expired: one object each, found at any depth (files.tickets.sweeps).
    ticket_counts = upload_tickets_sweep(now=now)
    counts["abandoned"] = ticket_counts["abandoned"]
    counts["objects_removed"] = ticket_counts["objects_removed"]

    for file in File.objects.filter(state__in=FINAL_STATES).exclude(temp_key=""):
        temp_object_remove(file=file, key=file.temp_key)
        counts["temp_removed"] += 1

    stuck_before = now - dt.timedelta(seconds=settings.FILES_REQUEUE_PENDING_AFTER_SECONDS)
    counts["given_up"] = 0
    for file in File.objects.filter(
        state__in=[File.State.PENDING, File.State.PROCESSING], created_at__lte=stuck_before
    ):
        with transaction.atomic():
            if file.processing_attempts >= settings.FILES_PROCESSING_MAX_ATTEMPTS:
                # Begun that often and never finished: rejected here, not queued forever.
                locked = File.objects.select_for_update().get(pk=file.pk)
                if locked.state not in FINAL_STATES:
                    file_give_up(file=locked)
                    counts["given_up"] += 1
                continue
            file_enqueue_processing(file=file)
        counts["requeued"] += 1
    return counts


def dead_worker_requeue(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Queue again the files of workers whose heartbeat stopped.

    A worker writes its heartbeat every ``OPS_WORKER_HEARTBEAT_SECONDS`` from its main
    process (portal.ops.heartbeat) and removes it when it stops cleanly; one silent for
    ``OPS_WORKER_DEAD_AFTER_SECONDS`` is taken for dead. Its ``processing`` files are
    queued again, and so are ``pending`` files older than that window (the messages it
    had reserved but not begun). Processing is idempotent and row-locked, so a worker
    that was only slow, or the message coming back after the visibility timeout, does
    no harm: the second run finds the file finished. The dead worker's heartbeat row is
    then removed, so it is handled once.
    """

    now = now or timezone.now()
    window = dt.timedelta(seconds=settings.OPS_WORKER_DEAD_AFTER_SECONDS)
    counts = {"dead_workers": 0, "requeued": 0}
    # Only the rows each worker's own heartbeat thread writes (``name #instance``): the
    # beat-queued ops.heartbeat task writes plain names, whenever some worker takes it.
    own_rows = WorkerHeartbeat.objects.filter(worker__contains=INSTANCE_MARK)
    dead = list(own_rows.filter(seen_at__lte=now - window).values_list("worker", flat=True))
    live = set(own_rows.exclude(worker__in=dead).values_list("worker", flat=True))
    # Files begun by a worker that has no heartbeat row at all, for as long as the window.
    orphaned = (
        File.objects.filter(state=File.State.PROCESSING, processing_started_at__lte=now - window)
        .exclude(processing_worker="")
        .exclude(processing_worker__in=live | set(dead))
    )
    stuck = list(
        File.objects.filter(state=File.State.PROCESSING, processing_worker__in=dead)
    ) + list(orphaned)
    if dead:
        stuck += list(File.objects.filter(state=File.State.PENDING, created_at__lte=now - window))
    for file in stuck:
        with transaction.atomic():
            # Back to pending, no worker: queued once, not again at every sweep while the
            # queue is long (the stale sweep remains the backstop).
            File.objects.filter(
                pk=file.pk, state__in=[File.State.PENDING, File.State.PROCESSING]
            ).update(state=File.State.PENDING, processing_worker="")
            file_enqueue_processing(file=file)
        counts["requeued"] += 1
    if dead:
        WorkerHeartbeat.objects.filter(worker__in=dead, seen_at__lte=now - window).delete()
        counts["dead_workers"] = len(dead)
        logger.warning(
            "workers %s sent no heartbeat for %ss: %d files queued again",
            ", ".join(sorted(dead)),
            settings.OPS_WORKER_DEAD_AFTER_SECONDS,
            counts["requeued"],
        )
    return counts


# --- The periodic tasks (beat's schedule: config/settings/celery.py) ------------------


@shared_task(name="files.expiry_announce_sweep", acks_late=True, ignore_result=True)
def expiry_announce_sweep_task() -> None:
    expiry_announce_sweep()


@shared_task(name="files.retention_sweep", acks_late=True, ignore_result=True)
def retention_sweep_task() -> None:
    retention_sweep()


@shared_task(name="files.stale_upload_sweep", acks_late=True, ignore_result=True)
def stale_upload_sweep_task() -> None:
    stale_upload_sweep()


@shared_task(name="files.dead_worker_requeue", acks_late=True, ignore_result=True)
def dead_worker_requeue_task() -> None:
    dead_worker_requeue()
