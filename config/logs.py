"""Log lines an operator can ship: one JSON object per line, and routine lines kept quiet.

``LOG_FORMAT=json`` makes every process of the portal (Django under gunicorn, gunicorn's
own lines, the Celery worker and beat) write each record as one JSON object on one line:
``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``request_id``, and where
there is one the ``exception`` (its traceback, as one string) and the Celery ``task`` and
``task_id``. The message and the traceback are those the redacting filter left
(config.redaction): JSON changes the shape of a line, never what it may say.

``RoutineTaskFilter`` turns the worker's "received" and "succeeded" lines of the tasks beat
sends every few seconds or minutes into DEBUG lines, and a periodic task that failed only
because the database does not answer into one WARNING line instead of a traceback: beat
sends it again on its next tick.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys

from django.conf import settings

from portal.requestid import request_id_current

LOG_FORMATS = ("plain", "json")
# Beat's tasks that run this often or more are routine: their lines are DEBUG.
ROUTINE_MAX_INTERVAL_SECONDS = 300


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None)
            or getattr(getattr(record, "request", None), "request_id", None)
            or current_request_id(),
        }
        task = current_task()
        if task is not None:
            entry["task"] = task.name
            entry["task_id"] = task.request.id
        exception = record.exc_text
        if record.exc_info and not exception:
            exception = self.formatException(record.exc_info)
        if exception:
            entry["exception"] = exception
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def current_request_id() -> str | None:
    return request_id_current() or None


def current_task():
    """The Celery task running in this process, if Celery is loaded and one runs."""
    state = sys.modules.get("celery._state")
    if state is None:
        return None
    task = state.get_current_task()
    return task if task is not None and getattr(task.request, "id", None) else None


# --- routine lines ------------------------------------------------------------------

TASK_LINE = re.compile(r"Task (?P<name>[\w.]+)\[[^\]]*\] (?P<what>received|succeeded)")
DATABASE_FAILURES = {"OperationalError", "InterfaceError"}


def routine_tasks() -> frozenset[str]:
    names = set()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        schedule = entry.get("schedule")
        if isinstance(schedule, int | float) and schedule <= ROUTINE_MAX_INTERVAL_SECONDS:
            names.add(entry["task"])
    return frozenset(names)


class RoutineTaskFilter(logging.Filter):
    """On the Celery worker's handlers (config.celery)."""

    _routine: frozenset[str] | None = None

    def routine(self) -> frozenset[str]:
        if self._routine is None:
            try:
                self._routine = routine_tasks()
            except Exception:  # settings not loaded yet: nothing is routine
                return frozenset()
        return self._routine

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("celery") or record.levelno not in (
            logging.INFO,
            logging.ERROR,
        ):
            return True
        try:
            message = record.getMessage()
        except Exception:
            return True
        line = TASK_LINE.match(message)
        if record.levelno == logging.INFO:
            if line and line["name"] in self.routine():
                record.levelno, record.levelname = logging.DEBUG, "DEBUG"
                return logging.getLogger().isEnabledFor(logging.DEBUG)
            return True
        # ERROR: a periodic task that met a database that does not answer.
        error = record.exc_info[1] if record.exc_info else None
        name = re.match(r"Task (?P<name>[\w.]+)\[", message)
        if (
            error is not None
            and type(error).__name__ in DATABASE_FAILURES
            and name
            and name["name"] in self.routine()
        ):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            record.msg = "%s skipped: the database does not answer (%s: %s); beat sends it again."
            record.args = (name["name"], type(error).__name__, first)
            record.exc_info, record.exc_text = None, None
        return True
