"""What a Celery worker loads before its pool forks, so no photo pays for it.

A prefork child starts empty-handed: the first task it runs imports the imaging and
PDF code, and Pillow loads its format plugins on the first ``Image.open``, all inside
that photo's processing. A child is new at every worker start and again after
``CELERY_WORKER_MAX_TASKS_PER_CHILD`` tasks, so this was paid over and over. Loaded
once in the parent (``worker_init``), it is shared by every child it forks. Nothing
here opens a connection: children must open their own.
"""

from __future__ import annotations

import importlib

from PIL import Image

# What a processing or rendition task imports on its first run (with what they import:
# rendering, cleaning, sniffing, the webhooks outbox), the PDF check (with pypdf), which
# processing imports when a PDF comes, and the receiver of ``file_processed``, which
# imports its service lazily.
TASK_MODULES = (
    "files.pipeline.processing",
    "files.pipeline.pdf_check",
    "files.pipeline.renditions",
    "attachments.services",
)


def processing_code_load() -> None:
    """Import the processing code and every Pillow format plugin."""
    for name in TASK_MODULES:
        importlib.import_module(name)

    Image.init()  # every format plugin, as the first Image.open would
