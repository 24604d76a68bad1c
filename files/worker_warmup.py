"""What a Celery worker loads before its pool forks, so no photo pays for it.

A prefork child starts empty-handed: the first task it runs imports the imaging and
PDF code and Pillow loads its format plugins on the first ``Image.open``, about a
quarter of a second inside that photo's processing. A child is new at every worker
start and again after ``CELERY_WORKER_MAX_TASKS_PER_CHILD`` tasks, so this was paid
over and over. Loaded once in the parent (``worker_init``), it is shared by every
child it forks. Nothing here opens a connection: children must open their own.
"""

from __future__ import annotations

import importlib

# The modules a processing or rendition task imports on its first run.
PROCESSING_MODULES = (
    "files.processing",
    "files.renditions",
    "files.rendering",
    "files.cleaning",
    "files.sniffing",
    "files.pdf_check",
    "portal.webhooks.services",
    "attachments.services",
)


def processing_code_load() -> list[str]:
    """Import the processing code and Pillow's plugins; the modules loaded, for the log."""
    for name in PROCESSING_MODULES:
        importlib.import_module(name)
    from PIL import Image

    Image.init()  # every format plugin, as the first Image.open would
    return list(PROCESSING_MODULES)
