"""Celery tasks of the files app, named here for Celery's discovery.

Each is defined beside the service it runs and that queues it: processing in
``files.pipeline.processing``, the renditions' in ``files.pipeline.renditions``, the
periodic sweeps in ``files.pipeline.sweeps``. Tasks take primary keys and call services."""

from files.pipeline.processing import file_process_task
from files.pipeline.renditions import rendition_objects_remove_task, rendition_render_task
from files.pipeline.sweeps import (
    dead_worker_requeue_task,
    expiry_announce_sweep_task,
    retention_sweep_task,
    stale_upload_sweep_task,
)

__all__ = [
    "dead_worker_requeue_task",
    "expiry_announce_sweep_task",
    "file_process_task",
    "rendition_objects_remove_task",
    "rendition_render_task",
    "retention_sweep_task",
    "stale_upload_sweep_task",
]
