"""The environment the portal reads its settings from: one prefix, ``PORTAL_``.

Every variable the portal reads is named ``PORTAL_<WHAT>`` (``PORTAL_DATABASE_URL``,
``PORTAL_S3_BUCKET``, ``PORTAL_FILES_MAX_UPLOAD_BYTES``), so a deployer's environment file
says at a glance which lines are the portal's, and docs/operations/configuration.md lists
each once. The names the portal read before it took one prefix (``DATABASE_URL``,
``S3_BUCKET``, ...) are still read where the new name is not set, so an environment file
from an earlier release keeps working; each one in use is named, with its new name, by
``manage.py check`` (and so by ``migrate`` and ``run_embedded``, which run the checks):
config/checks.py.

Only ``PORT`` (where ``make run`` serves, the convention platforms set),
``DJANGO_SETTINGS_MODULE`` and gunicorn's own variables (config/gunicorn_conf.py:
``WEB_CONCURRENCY``, ``GUNICORN_*``) keep their names.
"""

from __future__ import annotations

import os

import environ
from django.core.exceptions import ImproperlyConfigured

PREFIX = "PORTAL_"

# Names read before the one prefix: each is read as the former name of PREFIX + itself.
FORMER_NAMES = frozenset(
    {
        "ALLOWED_HOSTS",
        "ATTACHMENTS_CLAROS_MAX_PDF_BYTES",
        "ATTACHMENTS_PHOTO_COLLECT_SECONDS",
        "ATTACHMENTS_PHOTO_MAX_BYTES",
        "ATTACHMENTS_PHOTO_UPLOAD_SECONDS",
        "BEAT_LEASE_MARGIN_SECONDS",
        "BEAT_LEASE_RENEW_SECONDS",
        "BEAT_LEASE_SECONDS",
        "BEAT_STANDBY_POLL_SECONDS",
        "CELERY_BROKER_LEASE_SECONDS",
        "CELERY_BROKER_URL",
        "CELERY_UNACKED_RESTORE_SECONDS",
        "CELERY_VISIBILITY_TIMEOUT",
        "CELERY_WORKER_MAX_MEMORY_PER_CHILD",
        "CELERY_WORKER_MAX_TASKS_PER_CHILD",
        "CSRF_TRUSTED_ORIGINS",
        "DATABASE_CONNECT_TIMEOUT_SECONDS",
        "DATABASE_CONN_MAX_AGE",
        "DATABASE_STATEMENT_TIMEOUT_SECONDS",
        "DATABASE_URL",
        "DEBUG",
        "DEFAULT_FROM_EMAIL",
        "EMAIL_BACKEND",
        "EMAIL_HOST",
        "EMAIL_HOST_PASSWORD",
        "EMAIL_HOST_USER",
        "EMAIL_PORT",
        "EMAIL_TIMEOUT",
        "EMAIL_USE_TLS",
        "FIELD_ENCRYPTION_KEYS",
        "FILES_DEAD_WORKER_SWEEP_SECONDS",
        "FILES_DECODE_BUDGET_PIXELS_PER_API_KEY",
        "FILES_DECODE_BUDGET_PIXELS_PER_LINK",
        "FILES_DECODE_FREE_PIXELS",
        "FILES_EMBEDDED_BUCKET",
        "FILES_MAX_PIXELS_PER_BYTE",
        "FILES_MAX_REQUEST_BYTES",
        "FILES_MAX_UPLOAD_BYTES",
        "FILES_PATIENT_MAX_IMAGE_PIXELS",
        "FILES_PDF_MAX_OBJECTS",
        "FILES_PROCESSING_MAX_ATTEMPTS",
        "FILES_PROCESSING_PAUSE_SECONDS",
        "FILES_RENDITION_EXACT_SIZES_KEPT",
        "FILES_RENDITION_REMOVE_DELAY_SECONDS",
        "FILES_RENDITION_REQUEUE_SECONDS",
        "FILES_RENDITION_WAIT_SECONDS",
        "FILES_REQUEUE_PENDING_AFTER_SECONDS",
        "FILES_RETENTION_DAYS",
        "FILES_STALE_TICKET_GRACE_SECONDS",
        "FILES_SYNC_WAIT_SECONDS",
        "FILES_THUMBNAIL_HEIGHT",
        "FILES_THUMBNAIL_WIDTH",
        "FILES_TICKET_SETTLE_SECONDS",
        "FILES_TRIAL_MAX_BYTES",
        "FILES_TRIAL_MAX_FILES",
        "FILES_UNCONFIRMED_MAX_BYTES_PER_PATIENT",
        "FILES_UNCONFIRMED_MAX_BYTES_PER_REQUEST",
        "FILES_UPLOAD_TICKET_SECONDS",
        "FILES_WORKER_MEMORY_LIMIT_MB",
        "FILE_REQUEST_ABANDONED_BATCH_SECONDS",
        "FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR",
        "FILE_REQUEST_DOB_MAX_ATTEMPTS",
        "FILE_REQUEST_LOCKOUT_MAX_SECONDS",
        "FILE_REQUEST_LOCKOUT_SECONDS",
        "FILE_REQUEST_PATIENT_SESSION_SECONDS",
        "FILE_REQUEST_RESEND_COOLDOWN_SECONDS",
        "FILE_REQUEST_SHORT_LINK_TTL_SECONDS",
        "FILE_REQUEST_TEXTS_PER_DAY",
        "FILE_UPLOAD_TEMP_DIR",
        "LOG_FORMAT",
        "LOG_LEVEL",
        "METRICS_TOKEN",
        "METRICS_WINDOW_SECONDS",
        "NOTIFY_API_BASE_URL",
        "NOTIFY_API_KEY",
        "NOTIFY_CALLBACK_BEARER_TOKEN",
        "NOTIFY_SMS_SENDER_ID",
        "NOTIFY_SMS_TEMPLATE_ID",
        "OPS_WORKER_DEAD_AFTER_SECONDS",
        "OPS_WORKER_HEARTBEAT_SECONDS",
        "OTP_TOTP_ISSUER",
        "PASSWORD_RESET_COOLDOWN_SECONDS",
        "PASSWORD_RESET_EMAILS_PER_DAY",
        "PHONENUMBER_DEFAULT_REGION",
        "REDIS_CONNECT_TIMEOUT_SECONDS",
        "REDIS_SOCKET_TIMEOUT_SECONDS",
        "REDIS_TLS_CA_FILE",
        "REDIS_TLS_CERT_FILE",
        "REDIS_TLS_KEY_FILE",
        "S3_ACCESS_KEY_ID",
        "S3_ADDRESSING_STYLE",
        "S3_BUCKET",
        "S3_CONNECT_TIMEOUT_SECONDS",
        "S3_ENDPOINT_URL",
        "S3_MAX_ATTEMPTS",
        "S3_READ_TIMEOUT_SECONDS",
        "S3_REGION",
        "S3_SECRET_ACCESS_KEY",
        "S3_SERVER_SIDE_ENCRYPTION",
        "S3_TEMP_EXPIRE_DAYS",
        "S3_USE_DUALSTACK_ENDPOINT",
        "SECRET_KEY",
        "SECRET_KEY_FALLBACKS",
        "SECURE_HSTS_SECONDS",
        "SECURE_SSL_REDIRECT",
        "SENTRY_DSN",
        "SENTRY_ENVIRONMENT",
        "SENTRY_RELEASE",
        "SESSION_COOKIE_AGE",
        "SIGN_IN_ACCOUNT_MAX_FAILURES",
        "SIGN_IN_ADDRESS_MAX_FAILURES",
        "SIGN_IN_LOCKOUT_MAX_SECONDS",
        "SIGN_IN_LOCKOUT_SECONDS",
        "SMS_BACKEND",
        "SMS_FILE_PATH",
        "SMS_SENDER_NAME",
        "SMS_SEND_MAX_RETRIES",
        "STAFF_INVITATION_TTL_SECONDS",
        "STORAGE_SIGNING_KEY",
        "TIME_ZONE",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_API_BASE_URL",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM_NUMBER",
        "TWILIO_MESSAGING_SERVICE_SID",
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS",
        "WEBHOOK_ATTEMPT_LEASE_SECONDS",
        "WEBHOOK_CONNECT_TIMEOUT_SECONDS",
        "WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES",
        "WEBHOOK_READ_TIMEOUT_SECONDS",
        "WEBHOOK_RETRY_SCALE",
        "WEBHOOK_SWEEP_GRACE_SECONDS",
        "WEBHOOK_SWEEP_INTERVAL_SECONDS",
    }
)


class Environment:
    """django-environ's typed reads (``str``, ``int``, ``float``, ``bool``, ``list``,
    ``db``), each of a ``PORTAL_`` name, falling back to its former name.

    ``names`` is every variable read, in order; ``former_in_use`` maps each former name
    that supplied a value to the name that should have."""

    KINDS = ("str", "int", "float", "bool", "list", "db")
    # What a value of each kind that can be unreadable must be, in a deployer's words.
    READABLE_AS = {"int": "a whole number", "float": "a number", "db": "a database URL"}
    # Kinds whose values may hold a password: a refusal, which lands in the start-up log,
    # does not repeat them.
    SECRET_KINDS = frozenset({"db"})

    def __init__(self, environment: os._Environ | dict | None = None) -> None:
        self.environment = os.environ if environment is None else environment
        self.reader = environ.Env()
        self.reader.ENVIRON = self.environment
        self.names: list[str] = []
        self.former_in_use: dict[str, str] = {}

    def name_to_read(self, name: str) -> str:
        """The variable that supplies ``name``: itself when set, else its former name
        when that is set (noted in ``former_in_use``), else itself (for the default)."""
        if name not in self.names:
            self.names.append(name)
        former = name.removeprefix(PREFIX)
        if (
            name not in self.environment
            and former != name
            and former in FORMER_NAMES
            and former in self.environment
        ):
            self.former_in_use[former] = name
            return former
        return name

    def __getattr__(self, kind: str):
        if kind not in self.KINDS:
            raise AttributeError(kind)
        read = getattr(self.reader, kind)

        def typed(name: str, *args, **kwargs):
            supplier = self.name_to_read(name)
            try:
                return read(supplier, *args, **kwargs)
            except ValueError:
                # django-environ's own words are a bare ValueError naming no variable (and
                # may repeat a value: it is not chained).
                was = (
                    " (its value is not repeated: it may hold a password)"
                    if kind in self.SECRET_KINDS
                    else f", not {self.environment.get(supplier)!r}"
                )
                raise ImproperlyConfigured(
                    f"{supplier} must be {self.READABLE_AS.get(kind, kind)}{was}."
                ) from None

        return typed


env = Environment()
