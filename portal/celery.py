"""The Celery application. Configuration comes from Django settings (``CELERY_*``)."""

import os

from celery import Celery, signals

from portal import sqlite_broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# The embedded shape's broker (``sqlite-queue://``, portal/sqlite_broker.py).
sqlite_broker.register()

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def redact_worker_logs(logger, **kwargs):
    """A worker replaces the root logger's handlers with its own (Celery's default), so
    the redacting filter of LOGGING is put on them here too (portal.redaction)."""
    from portal.redaction import RedactingFilter

    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


@signals.worker_init.connect
def load_processing_code(**kwargs):
    """Before the pool forks: the imaging and PDF code, shared by every child
    (files/worker_warmup.py), instead of loaded inside each child's first photo."""
    from files.worker_warmup import processing_code_load

    processing_code_load()


@signals.worker_process_init.connect
def bound_pool_process_memory(**kwargs):
    """In each pool process, before its first task: the operating system refuses it more
    than FILES_WORKER_MEMORY_LIMIT_MB of data memory, so a decoder that asks for more
    fails there (the file is rejected) instead of taking the machine's memory
    (files/decoding.py)."""
    from files.decoding import worker_memory_limit_apply

    worker_memory_limit_apply()
