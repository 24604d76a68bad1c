"""Error reporting to Sentry, off unless ``SENTRY_DSN`` is set, and never patient data.

An error in a request or a task is sent with its type, its stack (file, line, function;
no local variables), the request's method and path (credentials in the path redacted as in
the logs, no query string), the request id and the release. Not the exception's text,
nor the values in a logged message: either may quote a patient's details; the portal's
own log lines, found by the request id, have them. Nothing else of the request
goes: no body (dates of birth, notes, photos), no cookies (sessions), no query string
(searches by name and date of birth), no headers but a few harmless ones, no user. Every
message and exception text is put through the log redaction (config.redaction) first, and
log lines kept as breadcrumbs are too. ``before_send`` is the last word on what leaves:
whatever an integration adds that it does not know is dropped, not passed on.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

from config.redaction import redact
from portal.requestid import request_id_current

WITHHELD = "(text withheld: see the portal's log lines with this request_id)"
# Request headers that say nothing about the patient or the caller's credentials.
KEPT_HEADERS = {"content-type", "content-length", "user-agent", "x-request-id"}
# Top-level parts of an event that may go as they are (after the steps below).
KEPT_EVENT_KEYS = {
    "event_id",
    "timestamp",
    "level",
    "logger",
    "platform",
    "sdk",
    "release",
    "environment",
    "server_name",
    "transaction",
    "transaction_info",
    "exception",
    "threads",
    "message",
    "logentry",
    "request",
    "tags",
    "contexts",
    "breadcrumbs",
    "modules",
    "fingerprint",
    "type",
}
# Contexts that describe the machine and the runtime, not the request.
KEPT_CONTEXTS = {"runtime", "os", "device", "trace", "celery"}


def sentry_init(*, dsn: str, environment: str, release: str) -> None:
    # Sentry's SDK only where SENTRY_DSN turns error reporting on.
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        send_default_pii=False,
        include_local_variables=False,
        include_source_context=False,
        max_request_body_size="never",
        traces_sample_rate=None,
        profiles_sample_rate=None,
        default_integrations=True,
        integrations=[
            DjangoIntegration(middleware_spans=False, signals_spans=False, cache_spans=False),
            CeleryIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
    )


def _redacted(value):
    return redact(value) if isinstance(value, str) else value


def _url_without_query(url: str) -> str:
    parts = urlsplit(url)
    return redact(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))


def _request(request: dict) -> dict:
    kept = {"method": request.get("method")}
    if request.get("url"):
        kept["url"] = _url_without_query(request["url"])
    headers = request.get("headers") or {}
    kept["headers"] = {
        name: _redacted(value) for name, value in headers.items() if name.lower() in KEPT_HEADERS
    }
    return {key: value for key, value in kept.items() if value}


def _exception(exception: dict) -> dict:
    for value in exception.get("values") or []:
        # An exception's text may quote anything it was given: a database error quotes the
        # row (a mobile number and a date of birth), a validation error the value. Its type
        # and stack go; its text stays in the portal's own logs, found by the request id.
        if value.get("value"):
            value["value"] = WITHHELD
        for frame in (value.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
            for key in ("pre_context", "context_line", "post_context"):
                frame.pop(key, None)
    return exception


def before_send(event: dict, hint: dict) -> dict:
    event = {key: value for key, value in event.items() if key in KEPT_EVENT_KEYS}
    if "request" in event:
        event["request"] = _request(event["request"])
    if "exception" in event:
        event["exception"] = _exception(event["exception"])
    for frames_of in (event.get("threads") or {}).get("values") or []:
        for frame in (frames_of.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    if isinstance(event.get("message"), str):
        event["message"] = redact(event["message"])
    if isinstance(event.get("logentry"), dict):
        # The logged line's template (code's own words), not the values put into it.
        template = event["logentry"].get("message") or ""
        event["logentry"] = {"message": redact(str(template)), "params": []}
    if isinstance(event.get("transaction"), str):
        event["transaction"] = redact(event["transaction"])
    event["contexts"] = {
        name: value
        for name, value in (event.get("contexts") or {}).items()
        if name in KEPT_CONTEXTS
    }
    if "breadcrumbs" in event:
        crumbs = event["breadcrumbs"]
        values = crumbs.get("values", []) if isinstance(crumbs, dict) else crumbs
        cleaned = [c for c in (before_breadcrumb(dict(c), {}) for c in values) if c]
        event["breadcrumbs"] = {"values": cleaned}
    tags = {name: _redacted(value) for name, value in (event.get("tags") or {}).items()}
    request_id = request_id_current()
    if request_id:
        tags["request_id"] = request_id
    event["tags"] = tags
    return event


def before_breadcrumb(crumb: dict, hint: dict) -> dict | None:
    """Log lines and HTTP calls as breadcrumbs: messages redacted, data dropped (an HTTP
    breadcrumb's data holds the URL with its query string)."""
    if crumb.get("category") in {"query", "redis"}:
        return None  # SQL with its parameters, Redis commands with their keys
    kept = {
        key: value
        for key, value in crumb.items()
        if key in {"type", "category", "level", "timestamp", "message"}
    }
    if isinstance(kept.get("message"), str):
        kept["message"] = redact(kept["message"])
    data = crumb.get("data") or {}
    if crumb.get("type") == "http":
        kept["data"] = {
            "method": data.get("method"),
            "url": _url_without_query(str(data.get("url", ""))),
            "status_code": data.get("status_code"),
        }
    return kept
