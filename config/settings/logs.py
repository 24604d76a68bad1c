"""Logging (never patient data in a line) and error reporting (Sentry, off unless
``PORTAL_SENTRY_DSN`` is set)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.environment import env
from config.settings.base import ENVIRONMENT

# --- Logging: no patient data in log lines, ever -----------------------------

# Every handler redacts short links, reset and invitation links, API keys and mobile
# numbers (config.redaction). Django's own handlers ("Not Found: /r/<id>", runserver's
# request lines) are replaced by the redacting one: its loggers propagate to the root.
# LOG_FORMAT=json: one JSON object per line (time, level, logger, message, request_id,
# exception) from every process, for a log shipper (config.logs); "plain" for people.
LOG_FORMAT = env.str("PORTAL_LOG_FORMAT", default="plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"PORTAL_LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "config.redaction.RedactingFilter"},
        "request_id": {"()": "portal.requestid.RequestIdFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact", "request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("PORTAL_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

# Error reporting (config.sentry): off unless SENTRY_DSN is set; never patient data
# (no bodies, cookies, query strings, local variables; texts redacted as in the logs).
SENTRY_DSN = env.str("PORTAL_SENTRY_DSN", default="")
if SENTRY_DSN:
    from importlib.metadata import PackageNotFoundError, version

    from config.sentry import sentry_init

    try:
        _release = f"clinic-file-portal@{version('clinic-file-portal')}"
    except PackageNotFoundError:
        _release = "clinic-file-portal"
    sentry_init(
        dsn=SENTRY_DSN,
        environment=env.str("PORTAL_SENTRY_ENVIRONMENT", default=ENVIRONMENT),
        release=env.str("PORTAL_SENTRY_RELEASE", default=_release),
    )

# Development writes e-mail (reset and invitation links) to the console; production
