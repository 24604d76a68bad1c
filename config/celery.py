"""The Celery application. Configuration comes from Django settings (``CELERY_*``)."""

from celery import Celery, signals
from django.conf import settings

from config import sqlite_broker
from config.logs import JsonFormatter, RoutineTaskFilter
from config.redaction import RedactingFilter
from files.pipeline.worker_warmup import processing_code_load
from portal.requestid import RequestIdFilter, task_finished, task_headers_add, task_started

# DJANGO_SETTINGS_MODULE is set by the package (config/__init__.py) before this runs.

# The embedded shape's broker (``sqlite-queue://``, config/sqlite_broker.py).
sqlite_broker.register()

# PausingTask: after the broker fails to take a task, none is tried for a few seconds
# (config/broker_pause.py), so a request that queues several does not wait for each.
app = Celery("portal", task_cls="config.broker_pause:PausingTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def redact_worker_logs(logger, **kwargs):
    """A worker replaces the root logger's handlers with its own (Celery's default), so
    the redacting filter of LOGGING is put on them here too (config.redaction)."""

    for handler in logger.handlers:
        kinds = {type(f) for f in handler.filters}
        # Routine lines first: one it rewrites is then redacted like any other.
        if RoutineTaskFilter not in kinds:
            handler.filters.insert(0, RoutineTaskFilter())
        if RedactingFilter not in kinds:
            handler.addFilter(RedactingFilter())
        if RequestIdFilter not in kinds:
            handler.addFilter(RequestIdFilter())
        if settings.LOG_FORMAT == "json":
            handler.setFormatter(JsonFormatter())


@signals.before_task_publish.connect
def request_id_send(headers=None, **kwargs):
    """A task queued while a request (or a task) runs carries its id (portal.requestid)."""
    task_headers_add(headers)


@signals.task_prerun.connect
def request_id_adopt(task_id=None, task=None, **kwargs):
    task_started(task_id, task)


@signals.task_postrun.connect
def request_id_drop(task_id=None, **kwargs):
    task_finished(task_id)


@signals.worker_init.connect
def load_processing_code(**kwargs):
    """Before the pool forks: the imaging and PDF code, shared by every child
    (files/pipeline/worker_warmup.py), instead of loaded inside each child's first photo."""
    processing_code_load()


@signals.worker_process_init.connect
def bound_pool_process_memory(**kwargs):
    """In each pool process, before its first task: the operating system refuses it more
    than FILES_WORKER_MEMORY_LIMIT_MB of data memory, so a decoder that asks for more
    fails there (the file is rejected) instead of taking the machine's memory
    (files/pipeline/decoding.py)."""
    # Django app loading: this module is imported with the config package, before the
    # apps load, and the decoder's budget reads the file models.
    from files.pipeline.decoding import worker_memory_limit_apply

    worker_memory_limit_apply()
