"""Celery tasks of the files app: thin wrappers that take primary keys and call services.

Tasks import their services, never the other way round: a service that queues a task
imports this module inside the function that queues it (see
``files.services.file_enqueue_processing``).
"""

from __future__ import annotations

from celery import shared_task

from files.processing import TRANSIENT_FAULTS, file_process
from files.renditions import facet_rendition_render, rendition_objects_remove
from files.sweeps import (
    dead_worker_requeue,
    expiry_announce_sweep,
    retention_sweep,
    stale_upload_sweep,
)
from portal.ops.heartbeat import worker_identity


@shared_task(
    name="files.process",
    acks_late=True,
    autoretry_for=TRANSIENT_FAULTS,
    retry_backoff=5,
    retry_backoff_max=10 * 60,
    retry_jitter=True,
    max_retries=8,
    # Sized for a 12-megapixel photo or a large PDF on a slow worker.
    soft_time_limit=4 * 60,
    time_limit=5 * 60,
    ignore_result=True,
    bind=True,
)
def file_process_task(self, file_id: str) -> None:
    file_process(file_id=file_id, worker=worker_identity(self.request.hostname or ""))


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


@shared_task(
    name="files.render_rendition",
    acks_late=True,
    autoretry_for=TRANSIENT_FAULTS,
    retry_backoff=2,
    max_retries=5,
    soft_time_limit=2 * 60,
    time_limit=3 * 60,
    ignore_result=True,
)
def rendition_render_task(file_id: str, width: int, height: int) -> None:
    """The answer to ``imageSize=<width>x<height>``, made in the worker (files.renditions)."""
    facet_rendition_render(file_id=file_id, width=width, height=height)


@shared_task(
    name="files.remove_rendition_objects",
    acks_late=True,
    autoretry_for=TRANSIENT_FAULTS,
    retry_backoff=5,
    max_retries=5,
    ignore_result=True,
)
def rendition_objects_remove_task(file_id: str, keys: list[str]) -> None:
    """The stored objects of renditions a file no longer keeps (files.renditions)."""
    rendition_objects_remove(file_id=file_id, keys=keys)
