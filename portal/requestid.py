"""One id per request, from nginx to the last webhook delivery it causes.

nginx gives each request an ``X-Request-ID`` (its own ``$request_id``, or the one a load
balancer sent); the portal keeps a well-formed one and makes one when there is none, so a
request reaching gunicorn directly has one too. The id is echoed in the answer (a clinic
quoting it to support finds every line), stamped on every log line written while the
request runs (``request_id`` in the JSON logs), carried in the headers of every Celery task
queued meanwhile (the task's own log lines carry it, and so do the tasks it queues in
turn), kept on the webhook events it records and sent as ``X-Request-ID`` with each of
their deliveries.

Only letters, digits and ``._:-``, 8 to 128 of them, are kept from outside: the id goes
into log lines and outgoing headers, so nothing that could break either is accepted.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import uuid

HEADER = "X-Request-ID"
TASK_HEADER = "request_id"
WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{8,128}")

_current: contextvars.ContextVar[str] = contextvars.ContextVar("portal_request_id", default="")


def request_id_current() -> str:
    """The id of the request (or task) this code runs for; "" outside both."""
    return _current.get()


def request_id_new() -> str:
    return uuid.uuid4().hex


def request_id_accepted(value: str | None) -> str | None:
    """``value`` when it may be used as it is, else None."""
    return value if value and WELL_FORMED.fullmatch(value) else None


@contextlib.contextmanager
def request_id_bound(value: str | None):
    """Lines logged in the block carry ``value`` (gunicorn's access line, after the
    request's own context has ended, from the id the answer carries)."""
    accepted = request_id_accepted(value)
    token = _current.set(accepted) if accepted else None
    try:
        yield
    finally:
        if token is not None:
            _current.reset(token)


class RequestIdMiddleware:
    """First in MIDDLEWARE: every answer, even a redirect or an error page, carries it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_accepted(request.headers.get(HEADER)) or request_id_new()
        request.request_id = request_id
        token = _current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every record (None outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            # Django logs a 4xx or 5xx answer ("Not Found: ...") with the request, after
            # the middleware has returned.
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None) or _current.get() or None
        return True


# --- Celery: carried in the task's message headers ------------------------------------

_task_tokens: dict[str, contextvars.Token] = {}


def task_headers_add(headers: dict | None) -> None:
    """Before a task is published: the current id goes with it."""
    request_id = _current.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


def task_started(task_id: str, task) -> None:
    """In the worker, before the task runs: its id is the one it was queued with."""
    request = getattr(task, "request", None)
    request_id = getattr(request, TASK_HEADER, None) or (
        (getattr(request, "headers", None) or {}).get(TASK_HEADER)
    )
    request_id = request_id_accepted(request_id)
    if request_id and task_id:
        _task_tokens[task_id] = _current.set(request_id)


def task_finished(task_id: str) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        _current.reset(token)
