"""One settings module for every deployment shape, read from environment variables.

The defaults are the *embedded* shape: SQLite, private files and a Celery broker
under one data folder, so ``make run`` needs nothing installed beside Python.
``DATABASE_URL``, ``CELERY_BROKER_URL`` and the ``S3_*`` variables switch to the
*scaled* shape (PostgreSQL, Redis, S3) without a code change. Every variable is
listed in docs/operations/configuration.md and ``.env.example``.

``PORTAL_ENVIRONMENT=production`` turns on the production checks: the portal
refuses to start without ``SECRET_KEY`` and ``ALLOWED_HOSTS``, and
``manage.py check --deploy`` has nothing to warn about.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config.data_folder import ensure_private_data_folder
from config.install_secret import derived_key, install_secret

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

ENVIRONMENT = env.str("PORTAL_ENVIRONMENT", default="development")
if ENVIRONMENT not in {"development", "production", "test"}:
    raise ImproperlyConfigured(
        f"PORTAL_ENVIRONMENT must be development, production or test, not {ENVIRONMENT!r}."
    )
IS_PRODUCTION = ENVIRONMENT == "production"

DATA_DIR = Path(env.str("PORTAL_DATA_DIR", default=str(BASE_DIR / "data"))).resolve()
# Created only where the embedded shape keeps something in it (the SQLite database, the
# local broker): a scaled process (PostgreSQL, Redis, S3) may run on a read-only file
# system, and whatever else writes here (SMS outbox file, beat schedule, uploads spooled
# to the filesystem storage) makes its own folder when it first writes.
# Where the embedded shape uses it, the folder holds patients' data: this process writes
# everything in it 0600 (folders 0700), and refuses a folder other users can read.
_broker_url = env.str("CELERY_BROKER_URL", default="")
if (
    not env.str("DATABASE_URL", default="")
    or not _broker_url  # the default broker is the local one
    or _broker_url.startswith(("sqlite-queue://", "filesystem://"))
):
    ensure_private_data_folder(DATA_DIR)

# --- Core -------------------------------------------------------------------

if IS_PRODUCTION:
    for required in ("SECRET_KEY", "ALLOWED_HOSTS"):
        if not env.str(required, default=""):
            raise ImproperlyConfigured(
                f"{required} must be set when PORTAL_ENVIRONMENT=production."
            )
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    DEBUG = False
else:
    # Unset: a random secret made on first run in the data folder (never a constant in
    # the repository, which would let anyone sign sessions and storage policies).
    SECRET_KEY = env.str("SECRET_KEY", default="") or install_secret(DATA_DIR)
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
    DEBUG = env.bool("DEBUG", default=ENVIRONMENT == "development")

# Old secret keys still accepted for signatures and for reading encrypted fields
# (portal.encryption) while a new SECRET_KEY rolls out.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
# Fernet keys for fields encrypted at rest, newest first; unset: derived from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
# The key that signs the embedded storage's POST policies (files.tickets). Unset: derived
# from SECRET_KEY under its own label (HMAC-SHA256), so a policy signature, which any
# ticket holder sees, says nothing about the key that signs sessions.
STORAGE_SIGNING_KEY = env.str("STORAGE_SIGNING_KEY", default="") or derived_key(
    SECRET_KEY, purpose="portal.files.storage-signing-key.v1"
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "phonenumber_field",
    "django_otp",
    "dashboard.otp_apps.AuthenticatorAppsConfig",  # django_otp.plugins.otp_totp, renamed
    "portal.accounts",
    "portal.patients",
    "portal.audit",
    "portal.webhooks",
    "portal.ops",
    "files",
    "filerequests",
    "attachments",
    "dashboard",
    "fhirapi",
    # The project shell: its management commands (run_embedded), no models.
    "config",
]

MIDDLEWARE = [
    # First: every answer carries the request's id, and every line logged while it runs.
    "portal.requestid.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.PrivateAnswersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'portal.sqlite3'}"),
}
# Time budgets for PostgreSQL, so that a database that hangs (frozen, or a network that
# drops packets) is answered as 503 with Retry-After within seconds, well inside the
# proxy's and gunicorn's timeouts, instead of holding every request for as long as it
# lasts: connecting (libpq's connect_timeout, 2 s at least); each statement
# (PostgreSQL's statement_timeout, which also bounds lock waits; 0 turns it off, e.g.
# for a migration that rewrites a large table); each wait for an answer on this side, a
# second longer (config/postgres/base.py: a frozen server enforces no timeout of its
# own); and the check of a kept connection before a request uses it.
DATABASE_CONNECT_TIMEOUT_SECONDS = env.int("DATABASE_CONNECT_TIMEOUT_SECONDS", default=3)
DATABASE_STATEMENT_TIMEOUT_SECONDS = env.float("DATABASE_STATEMENT_TIMEOUT_SECONDS", default=5.0)
DATABASE_WAIT_BUDGET_SECONDS = (
    DATABASE_STATEMENT_TIMEOUT_SECONDS + 1.0 if DATABASE_STATEMENT_TIMEOUT_SECONDS else 0.0
)
DATABASE_HEALTH_CHECK_BUDGET_SECONDS = 1.0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the Celery worker share
    # one SQLite file without "database is locked" errors.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "config.postgres"  # Django's, with a wait budget
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options.setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT_SECONDS)
    if DATABASE_STATEMENT_TIMEOUT_SECONDS:
        _options["options"] = (
            f"{_options.get('options', '')} -c statement_timeout="
            f"{round(DATABASE_STATEMENT_TIMEOUT_SECONDS * 1000)}"
        ).strip()

# --- Passwords, sessions, cookies --------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if ENVIRONMENT == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 60 * 60)
CSRF_COOKIE_SAMESITE = "Lax"

# --- Security headers ---------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
    "script-src 'self'; connect-src 'self' {upload_origins}; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# True only when a proxy that terminates TLS is in front of every request and sets
# X-Forwarded-Proto itself: otherwise any client could claim "https" with that header.
PORTAL_BEHIND_PROXY = env.bool("PORTAL_BEHIND_PROXY", default=False)
if IS_PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    if PORTAL_BEHIND_PROXY:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=63072000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # A browser keeps a __Host- cookie only if this host set it over HTTPS, for Path=/
    # and no Domain: no sibling subdomain or plain-HTTP answer can plant a session key
    # or CSRF token. Production only: over plain HTTP (development) browsers refuse it.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Internationalisation -----------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
PHONENUMBER_DEFAULT_REGION = env.str("PHONENUMBER_DEFAULT_REGION", default="GB")
PHONENUMBER_DEFAULT_FORMAT = "E164"

# --- Static files and storage -------------------------------------------------

STATIC_URL = "/static/"
# Production serves collected static files through WhiteNoise; elsewhere WhiteNoise
# finds them in place, so nothing needs collecting for `make run` or the tests.
STATIC_ROOT = BASE_DIR / "staticfiles" if IS_PRODUCTION else None
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
STATICFILES_DIRS = [BASE_DIR / "static"]

S3_BUCKET = env.str("S3_BUCKET", default="")
S3_ENDPOINT_URL = env.str("S3_ENDPOINT_URL", default="") or None
S3_REGION = env.str("S3_REGION", default="us-east-1")
S3_ACCESS_KEY_ID = env.str("S3_ACCESS_KEY_ID", default="") or None
S3_SECRET_ACCESS_KEY = env.str("S3_SECRET_ACCESS_KEY", default="") or None
# A storage that stops answering must not hold a web request or a worker for
# botocore's default minute: time out, let botocore try twice more, then let the caller
# decide (a web request answers 503 with Retry-After, the processing task retries with
# back-off). The read timeout bounds each wait for the store's next bytes, not a whole
# transfer; S3_MAX_ATTEMPTS is botocore's retries' max_attempts, the tries after the first,
# so with the defaults a store that hangs is given up after three tries of 2 s, about 6 s,
# well inside the proxy's timeout.
S3_CONNECT_TIMEOUT_SECONDS = env.float("S3_CONNECT_TIMEOUT_SECONDS", default=2.0)
S3_READ_TIMEOUT_SECONDS = env.float("S3_READ_TIMEOUT_SECONDS", default=2.0)
S3_MAX_ATTEMPTS = env.int("S3_MAX_ATTEMPTS", default=2)
# How bucket URLs are built (files.s3_urls.s3_post_url derives the tickets' URL and the
# CSP's connect-src from the same client): "virtual" (bucket.s3.<region>.amazonaws.com,
# the default on AWS) or "path" (endpoint/bucket: the default with S3_ENDPOINT_URL, as
# most S3-compatible stores have no bucket subdomains). botocore's own "auto" would
# send tickets outside us-east-1 to the legacy global host, which redirects new buckets.
S3_ADDRESSING_STYLE = env.str("S3_ADDRESSING_STYLE", default="")
if S3_ADDRESSING_STYLE not in {"", "virtual", "path"}:
    raise ImproperlyConfigured(
        f"S3_ADDRESSING_STYLE must be virtual, path or empty, not {S3_ADDRESSING_STYLE!r}."
    )
# Days after which the bucket's lifecycle rule (``manage.py storage_setup``) deletes what
# is left under ``temp/``: uploads never confirmed or never processed. The stale-upload
# sweep removes them far sooner; this is the store's own backstop, for a portal that is
# down or a sweep that never ran. At least a day longer than a temporary object can be
# needed (the longest upload ticket plus FILES_STALE_TICKET_GRACE_SECONDS; a system check
# says so), so an upload still in use is never expired under the portal.
S3_TEMP_EXPIRE_DAYS = env.int("S3_TEMP_EXPIRE_DAYS", default=7)
# AWS's dual-stack (IPv4 and IPv6) endpoints: bucket.s3.dualstack.<region>.amazonaws.com.
S3_USE_DUALSTACK_ENDPOINT = env.bool("S3_USE_DUALSTACK_ENDPOINT", default=False)
# Server-side encryption asked of every object, by the storage and in every ticket's
# policy: "AES256" (SSE-S3), "aws:kms", or "" for a store that supports none.
S3_SERVER_SIDE_ENCRYPTION = env.str("S3_SERVER_SIDE_ENCRYPTION", default="AES256")
if S3_SERVER_SIDE_ENCRYPTION not in {"AES256", "aws:kms", ""}:
    raise ImproperlyConfigured(
        "S3_SERVER_SIDE_ENCRYPTION must be AES256, aws:kms or empty, "
        f"not {S3_SERVER_SIDE_ENCRYPTION!r}."
    )

FILES_ROOT = Path(env.str("PORTAL_FILES_ROOT", default=str(DATA_DIR / "files")))


def storage_settings_for(
    bucket: str,
    *,
    endpoint_url: str | None = S3_ENDPOINT_URL,
    region: str = S3_REGION,
    addressing_style: str = S3_ADDRESSING_STYLE,
    dualstack: bool = S3_USE_DUALSTACK_ENDPOINT,
    server_side_encryption: str = S3_SERVER_SIDE_ENCRYPTION,
) -> dict:
    """The ``default`` storage entry: S3 when a bucket is named, else private files.

    A function so tests can switch a running process to a fresh bucket (or another
    URL style) with ``override_settings(STORAGES=...)``, exactly as production
    configures it.
    """
    if bucket:
        from botocore.config import Config

        addressing_style = addressing_style or ("path" if endpoint_url else "virtual")

        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": endpoint_url,
                "region_name": region,
                "access_key": S3_ACCESS_KEY_ID,
                "secret_key": S3_SECRET_ACCESS_KEY,
                "signature_version": "s3v4",
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
                "object_parameters": (
                    {"ServerSideEncryption": server_side_encryption}
                    if server_side_encryption
                    else {}
                ),
                "client_config": Config(
                    signature_version="s3v4",
                    # One URL per bucket on AWS: the regional endpoint, also in us-east-1
                    # (botocore's default there is the legacy global s3.amazonaws.com).
                    s3={
                        "addressing_style": addressing_style,
                        "use_dualstack_endpoint": dualstack,
                        "us_east_1_regional_endpoint": "regional",
                    },
                    connect_timeout=S3_CONNECT_TIMEOUT_SECONDS,
                    read_timeout=S3_READ_TIMEOUT_SECONDS,
                    retries={"max_attempts": S3_MAX_ATTEMPTS, "mode": "standard"},
                ),
            },
        }
    return {
        "BACKEND": "files.storage.PrivateFileSystemStorage",
        "OPTIONS": {"location": str(FILES_ROOT)},
    }


STORAGES = {
    "default": storage_settings_for(S3_BUCKET),
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Django never holds an upload over this size in memory; larger ones are
# spooled to a temporary file while they stream in.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default="") or None
DATA_UPLOAD_MAX_NUMBER_FILES = 20

# --- Celery -----------------------------------------------------------------

BROKER_DIR = DATA_DIR / "broker"
# The embedded broker: a kombu transport on one SQLite file in the data folder
# (config/sqlite_broker.py says why not kombu's filesystem:// or SQLAlchemy transports).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="sqlite-queue://localhost")
if CELERY_BROKER_URL.startswith("sqlite-queue://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "database_path": str(DATA_DIR / "broker.sqlite3"),
        # A worker that vanishes without a word gives its messages back after this at
        # the latest (at once when another worker on this machine sees it is gone).
        "lease_seconds": env.float("CELERY_BROKER_LEASE_SECONDS", default=60.0),
    }
elif CELERY_BROKER_URL.startswith("filesystem://"):
    # Still possible, not advised (it reads half-written messages, celery/kombu#1551).
    for folder in ("queue", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # kombu writes its exchange tables here (default: ./control in the working folder).
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Longer than the longest task's hard time limit, so a slow task is never
    # handed to a second worker while the first is still on it.
    # Redis that hangs must not hold a web request that queues a task (the upload is
    # committed and answered; the stale-upload sweep queues it later) nor a probe: a
    # socket timeout for connecting and for every answer, and one retry of a publish.
    # Above the worker's 1 s blocking pop, which waits on the same socket.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=60 * 60),
        "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT_SECONDS", default=2.0),
        "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT_SECONDS", default=2.0),
    }
    CELERY_BROKER_CONNECTION_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT_SECONDS", default=2.0)
    CELERY_TASK_PUBLISH_RETRY_POLICY = {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
    }
    # How often a worker looks for messages a lost worker took and never acknowledged
    # (kombu's default: a scan about every 100 s). Fault tests shorten both.
    if restore_seconds := env.int("CELERY_UNACKED_RESTORE_SECONDS", default=0):
        CELERY_BROKER_TRANSPORT_OPTIONS.update(
            unacked_restore_interval=restore_seconds, unacked_restore_throttle=1
        )
# Redis over TLS (rediss://, with a password or an ACL user in the URL): the server's
# certificate must chain to REDIS_TLS_CA_FILE (unset: the system's CAs) and name the host
# in the URL; REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE add a client certificate where
# the server asks for one. kombu's own default for a bare rediss:// URL checks nothing.
if CELERY_BROKER_URL.startswith("rediss://"):
    import ssl

    CELERY_BROKER_USE_SSL = {
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
        "ssl_check_hostname": True,
        "ssl_ca_certs": env.str("REDIS_TLS_CA_FILE", default="") or None,
        "ssl_certfile": env.str("REDIS_TLS_CERT_FILE", default="") or None,
        "ssl_keyfile": env.str("REDIS_TLS_KEY_FILE", default="") or None,
    }
    # The same for a Redis result backend, should one be configured.
    CELERY_REDIS_BACKEND_USE_SSL = CELERY_BROKER_USE_SSL
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=200)
# A pool child whose resident memory passed this (KiB) after a task is replaced by a
# fresh one: a 64-megapixel image takes a few hundred MB, which is given back at once.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int(
    "CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=512 * 1024
)
CELERY_TASK_SOFT_TIME_LIMIT = 5 * 60
CELERY_TASK_TIME_LIMIT = 6 * 60
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    "worker-heartbeat": {"task": "ops.heartbeat", "schedule": 60.0},
}
# Beat may run on two hosts, one active (portal.ops.beat): the active one renews a lease
# in the database every BEAT_LEASE_RENEW_SECONDS at most; a standby asks every
# BEAT_STANDBY_POLL_SECONDS and takes over once the lease is BEAT_LEASE_SECONDS old, so
# with the defaults a beat killed outright is replaced within 35 s. The active one stops
# sending BEAT_LEASE_MARGIN_SECONDS before its lease could lapse.
CELERY_BEAT_SCHEDULER = "portal.ops.beat:LeasedScheduler"
BEAT_LEASE_SECONDS = env.float("BEAT_LEASE_SECONDS", default=30.0)
BEAT_LEASE_RENEW_SECONDS = env.float("BEAT_LEASE_RENEW_SECONDS", default=5.0)
BEAT_STANDBY_POLL_SECONDS = env.float("BEAT_STANDBY_POLL_SECONDS", default=5.0)
BEAT_LEASE_MARGIN_SECONDS = env.float("BEAT_LEASE_MARGIN_SECONDS", default=5.0)
if BEAT_LEASE_SECONDS < BEAT_LEASE_RENEW_SECONDS + 2 * BEAT_LEASE_MARGIN_SECONDS:
    raise ImproperlyConfigured(
        "BEAT_LEASE_SECONDS must be at least BEAT_LEASE_RENEW_SECONDS plus twice "
        "BEAT_LEASE_MARGIN_SECONDS, or the active beat would lose its lease between renewals."
    )

# --- REST framework and OpenAPI ------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.ApiKeyAuthentication",
        "portal.api.authentication.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.api.permissions.IsAccountCaller"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PortalPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON nested past a few levels is a 400, never a RecursionError (portal.api.parsers).
    "DEFAULT_PARSER_CLASSES": [
        "portal.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Clinic File Portal API",
    "DESCRIPTION": (
        "Patient files, file requests and attachments. Authenticate with an account's "
        "API key as `X-API-Key`, `Authorization: Bearer`, or HTTP Basic with the key "
        "as user name."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Operations are tagged by resource (patients, files, …), not by "v1".
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI's files come from our own static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.schema.add_error_responses",
    ],
}

# --- Portal -------------------------------------------------------------------

# Where patients' short links and upload tickets point. Unset: this machine on the port
# `make run` serves (PORT), so `PORT=8080 make run` moves every link with it.
PORTAL_PUBLIC_BASE_URL = env.str(
    "PORTAL_PUBLIC_BASE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}"
)
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)
# Proxies in front of the portal whose X-Forwarded-For is believed (networks or
# addresses, comma-separated). Empty: the header is ignored and the client is the
# socket's peer (portal.clientip).
PORTAL_TRUSTED_PROXIES = env.list("PORTAL_TRUSTED_PROXIES", default=[])
try:
    for _network in PORTAL_TRUSTED_PROXIES:
        ipaddress.ip_network(_network.strip(), strict=False)
except ValueError as _error:
    raise ImproperlyConfigured(f"PORTAL_TRUSTED_PROXIES: {_error}.") from None
API_KEY_LAST_USED_RESOLUTION_SECONDS = 60

# --- Logging: no patient data in log lines, ever -----------------------------

# Every handler redacts short links, reset and invitation links, API keys and mobile
# numbers (config.redaction). Django's own handlers ("Not Found: /r/<id>", runserver's
# request lines) are replaced by the redacting one: its loggers propagate to the root.
# LOG_FORMAT=json: one JSON object per line (time, level, logger, message, request_id,
# exception) from every process, for a log shipper (config.logs); "plain" for people.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
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
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

# Error reporting (config.sentry): off unless SENTRY_DSN is set; never patient data
# (no bodies, cookies, query strings, local variables; texts redacted as in the logs).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from importlib.metadata import PackageNotFoundError, version

    from config.sentry import sentry_init

    try:
        _release = f"clinic-file-portal@{version('clinic-file-portal')}"
    except PackageNotFoundError:
        _release = "clinic-file-portal"
    sentry_init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default=ENVIRONMENT),
        release=env.str("SENTRY_RELEASE", default=_release),
    )

# Development writes e-mail (reset and invitation links) to the console; production
# sends it by SMTP and refuses to start with a backend that would print, keep or drop it.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default=(
        "django.core.mail.backends.smtp.EmailBackend"
        if IS_PRODUCTION
        else "django.core.mail.backends.console.EmailBackend"
    ),
)
DEVELOPMENT_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}
if IS_PRODUCTION and EMAIL_BACKEND in DEVELOPMENT_EMAIL_BACKENDS:
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND={EMAIL_BACKEND} writes, keeps or drops e-mail instead of sending it; "
        "it cannot be used when PORTAL_ENVIRONMENT=production. Set EMAIL_BACKEND to "
        "django.core.mail.backends.smtp.EmailBackend (the default) and EMAIL_HOST."
    )
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")

# --- Files pipeline (files app) ------------------------------------------------

# The largest single file any door accepts (413 above it).
FILES_MAX_UPLOAD_BYTES = env.int("FILES_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
# The largest request body of an in-app upload (X-on's Base64 JSON carries several
# files, each a third larger than its bytes).
FILES_MAX_REQUEST_BYTES = env.int("FILES_MAX_REQUEST_BYTES", default=200 * 1024 * 1024)
# How long an upload ticket (presigned POST) may be used.
FILES_UPLOAD_TICKET_SECONDS = env.int("FILES_UPLOAD_TICKET_SECONDS", default=15 * 60)
# After a ticket expires, how long its uploaded-but-never-confirmed object may wait
# for the client's confirm call before the stale-ticket sweep removes it.
FILES_STALE_TICKET_GRACE_SECONDS = env.int("FILES_STALE_TICKET_GRACE_SECONDS", default=24 * 3600)
# After a ticket expires, how long an upload already in flight may still land before the
# sweep removes what the ticket may not hold (sub-paths, a second object) and measures it.
FILES_TICKET_SETTLE_SECONDS = env.int("FILES_TICKET_SETTLE_SECONDS", default=10 * 60)
# Bytes that may wait in storage unconfirmed (tickets issued, not yet confirmed or swept)
# for one file request, and for one patient: a ticket holder cannot park unbounded data.
FILES_UNCONFIRMED_MAX_BYTES_PER_REQUEST = env.int(
    "FILES_UNCONFIRMED_MAX_BYTES_PER_REQUEST", default=512 * 1024 * 1024
)
FILES_UNCONFIRMED_MAX_BYTES_PER_PATIENT = env.int(
    "FILES_UNCONFIRMED_MAX_BYTES_PER_PATIENT", default=1024 * 1024 * 1024
)
# The last resort for a lost message (a broker that dropped it, a queue purged): a file
# still pending or processing this long after upload is queued again by the stale sweep.
# A worker that dies is noticed far sooner, by its heartbeat (below).
FILES_REQUEUE_PENDING_AFTER_SECONDS = env.int(
    "FILES_REQUEUE_PENDING_AFTER_SECONDS", default=15 * 60
)
# A file whose processing was begun this often without ever finishing (worker killed,
# out of memory, over its time limit, an unforeseen error; storage, network and database
# faults do not count) is rejected with a reason instead of being tried again.
FILES_PROCESSING_MAX_ATTEMPTS = env.int("FILES_PROCESSING_MAX_ATTEMPTS", default=3)
# An imageSize request for a rendition not made yet waits this long for the worker to
# make it, then answers 409 with Retry-After; a rendition asked for this long ago and
# still not made (its message lost) is asked for again.
FILES_RENDITION_WAIT_SECONDS = env.float("FILES_RENDITION_WAIT_SECONDS", default=10.0)
FILES_RENDITION_REQUEUE_SECONDS = env.int("FILES_RENDITION_REQUEUE_SECONDS", default=120)
# Besides its ladder of kept sizes, a file keeps the answers to this many other imageSize
# sizes, the latest made (files.renditions); the stored object of one dropped is removed
# this many seconds later, once downloads that had just looked it up have opened it.
FILES_RENDITION_EXACT_SIZES_KEPT = env.int("FILES_RENDITION_EXACT_SIZES_KEPT", default=16)
FILES_RENDITION_REMOVE_DELAY_SECONDS = env.int("FILES_RENDITION_REMOVE_DELAY_SECONDS", default=30)
# Each worker writes its own heartbeat this often (portal.ops.heartbeat); one silent for
# OPS_WORKER_DEAD_AFTER_SECONDS is taken for dead and its files are queued again by the
# dead-worker sweep, run every FILES_DEAD_WORKER_SWEEP_SECONDS. Worst case with the
# defaults: 60 + 30 s after the last heartbeat, then the file's own processing time.
OPS_WORKER_HEARTBEAT_SECONDS = env.int("OPS_WORKER_HEARTBEAT_SECONDS", default=15)
OPS_WORKER_DEAD_AFTER_SECONDS = env.int("OPS_WORKER_DEAD_AFTER_SECONDS", default=60)
FILES_DEAD_WORKER_SWEEP_SECONDS = env.int("FILES_DEAD_WORKER_SWEEP_SECONDS", default=30)
if OPS_WORKER_DEAD_AFTER_SECONDS < 3 * OPS_WORKER_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "OPS_WORKER_DEAD_AFTER_SECONDS must be at least three OPS_WORKER_HEARTBEAT_SECONDS, "
        "or a busy worker would be taken for dead."
    )
# /metrics (config/metrics.py) answers 404 unless this token is set, then only to
# "Authorization: Bearer <METRICS_TOKEN>". The processing-time histogram covers files
# finished in the last METRICS_WINDOW_SECONDS.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_WINDOW_SECONDS = env.int("METRICS_WINDOW_SECONDS", default=3600)
# Days the bytes of an expired file are kept before the retention sweep removes them.
FILES_RETENTION_DAYS = env.int("FILES_RETENTION_DAYS", default=30)
# The thumbnail facet made for every image: aspect-fill to at least this box.
FILES_THUMBNAIL_SIZE = (
    env.int("FILES_THUMBNAIL_WIDTH", default=320),
    env.int("FILES_THUMBNAIL_HEIGHT", default=320),
)
# The bucket name the embedded storage's POST endpoint answers with (S3's PostResponse).
FILES_EMBEDDED_BUCKET = env.str("FILES_EMBEDDED_BUCKET", default="portal-files")
# Seconds a client should wait before asking again for a file still being processed.
FILES_NOT_READY_RETRY_AFTER = 5
# The in-app doors (X-on's files API, Claros's PDF upload) and the download of a file still
# processing wait this long for the worker before answering as "not ready yet": neither
# seed has a processing state (files.waiting). The test suite, which mostly runs without a
# worker, waits only where a test sets it.
FILES_SYNC_WAIT_SECONDS = env.float(
    "FILES_SYNC_WAIT_SECONDS", default=0.0 if ENVIRONMENT == "test" else 5.0
)
# Test hook, ignored in production: processing holds each file this long half-way
# through storing it (content stored, thumbnail not yet), and logs that it does, so
# fault tests can kill a worker in the middle of processing.
FILES_PROCESSING_PAUSE_SECONDS = (
    0.0 if IS_PRODUCTION else env.float("FILES_PROCESSING_PAUSE_SECONDS", default=0.0)
)
# A PDF listing more objects than this is refused rather than half-judged (files.pdf_check);
# pypdf judges about 15,000 objects a second.
FILES_PDF_MAX_OBJECTS = env.int("FILES_PDF_MAX_OBJECTS", default=200_000)
# What an image may cost to decode, judged from its header first (files.decoding): the
# pixels of a photo sent through a patient's link (the largest phone photo is 50 MP,
# 8192x6144); pixels per byte of the image file, for images above the free size; pixels
# decoded per patient link and per API key in an hour. And the data memory (RLIMIT_DATA)
# of each worker pool process: a 50 MP photo of any accepted format needs under 1 GB.
FILES_PATIENT_MAX_IMAGE_PIXELS = env.int("FILES_PATIENT_MAX_IMAGE_PIXELS", default=51_000_000)
FILES_DECODE_FREE_PIXELS = env.int("FILES_DECODE_FREE_PIXELS", default=4_000_000)
FILES_MAX_PIXELS_PER_BYTE = env.int("FILES_MAX_PIXELS_PER_BYTE", default=100)
FILES_DECODE_BUDGET_PIXELS_PER_LINK = env.int(
    "FILES_DECODE_BUDGET_PIXELS_PER_LINK", default=2_000_000_000
)
FILES_DECODE_BUDGET_PIXELS_PER_API_KEY = env.int(
    "FILES_DECODE_BUDGET_PIXELS_PER_API_KEY", default=100_000_000_000
)
FILES_WORKER_MEMORY_LIMIT_MB = env.int("FILES_WORKER_MEMORY_LIMIT_MB", default=1536)
# Seconds a client should wait before trying again while the database is unreachable.
SERVICE_UNAVAILABLE_RETRY_AFTER = 5

CELERY_BEAT_SCHEDULE.update(
    {
        "files-expiry-announce-sweep": {"task": "files.expiry_announce_sweep", "schedule": 60.0},
        "files-retention-sweep": {"task": "files.retention_sweep", "schedule": 3600.0},
        "files-stale-upload-sweep": {"task": "files.stale_upload_sweep", "schedule": 300.0},
        "files-dead-worker-requeue": {
            "task": "files.dead_worker_requeue",
            "schedule": float(FILES_DEAD_WORKER_SWEEP_SECONDS),
        },
    }
)

# --- File requests (filerequests app) -------------------------------------------
# Short links: how long a new link works unless the request asks otherwise (a
# request may ask for no expiry with "shortLinkExpiresAt": null, as seed 004 allows).
FILE_REQUEST_SHORT_LINK_TTL_SECONDS = env.int(
    "FILE_REQUEST_SHORT_LINK_TTL_SECONDS", default=7 * 24 * 60 * 60
)
# Date-of-birth check: wrong answers before the link locks, and the first lock's
# length; each further lockout doubles it, up to the maximum.
FILE_REQUEST_DOB_MAX_ATTEMPTS = env.int("FILE_REQUEST_DOB_MAX_ATTEMPTS", default=5)
FILE_REQUEST_LOCKOUT_SECONDS = env.int("FILE_REQUEST_LOCKOUT_SECONDS", default=30 * 60)
FILE_REQUEST_LOCKOUT_MAX_SECONDS = env.int("FILE_REQUEST_LOCKOUT_MAX_SECONDS", default=24 * 60 * 60)
# Failed checks one client address may make across all links in an hour.
FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR = env.int(
    "FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR", default=20
)
# How long a verified patient session may keep sending photos.
FILE_REQUEST_PATIENT_SESSION_SECONDS = env.int(
    "FILE_REQUEST_PATIENT_SESSION_SECONDS", default=60 * 60
)
# Photos confirmed without the patient pressing "Send" are announced after this quiet time.
FILE_REQUEST_ABANDONED_BATCH_SECONDS = env.int(
    "FILE_REQUEST_ABANDONED_BATCH_SECONDS", default=30 * 60
)
# Texts of one request (the first and every resend): the least time between two, and
# the most in any 24 hours (portal.sendlimits). Each text costs the clinic, and a
# patient's phone must not be flooded by repeated resends.
FILE_REQUEST_RESEND_COOLDOWN_SECONDS = env.int("FILE_REQUEST_RESEND_COOLDOWN_SECONDS", default=60)
FILE_REQUEST_TEXTS_PER_DAY = env.int("FILE_REQUEST_TEXTS_PER_DAY", default=5)
# SMS: filerequests.sms.ConsoleSmsBackend | FileSmsBackend | TwilioSmsBackend |
# NotifySmsBackend.
SMS_BACKEND = env.str(
    "SMS_BACKEND",
    default=(
        "filerequests.sms.TwilioSmsBackend"
        if IS_PRODUCTION
        else "filerequests.sms.FileSmsBackend"
        if ENVIRONMENT == "test"
        else "filerequests.sms.ConsoleSmsBackend"
    ),
)
# As for e-mail: production refuses a backend that prints or keeps texts instead of sending
# them (the console backend writes the patient's link to stdout, past the log redaction).
DEVELOPMENT_SMS_BACKENDS = {"filerequests.sms.ConsoleSmsBackend", "filerequests.sms.FileSmsBackend"}
if IS_PRODUCTION and SMS_BACKEND in DEVELOPMENT_SMS_BACKENDS:
    raise ImproperlyConfigured(
        f"SMS_BACKEND={SMS_BACKEND} prints or keeps text messages instead of sending them; "
        "it cannot be used when PORTAL_ENVIRONMENT=production. Set SMS_BACKEND to "
        "filerequests.sms.TwilioSmsBackend (the default) and the TWILIO_* settings."
    )
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(DATA_DIR / "sms" / "outbox.jsonl"))
SMS_SENDER_NAME = env.str("SMS_SENDER_NAME", default="")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
# Only for tests and sandboxes: where the Twilio client sends its requests.
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="")
# GOV.UK Notify (filerequests.sms.NotifySmsBackend): an API key, and a text message
# template whose whole body is ((body)). Its delivery receipts come to
# /sms/receipts/notify with the bearer token set here and in Notify's callback settings.
NOTIFY_API_KEY = env.str("NOTIFY_API_KEY", default="")
NOTIFY_SMS_TEMPLATE_ID = env.str("NOTIFY_SMS_TEMPLATE_ID", default="")
NOTIFY_SMS_SENDER_ID = env.str("NOTIFY_SMS_SENDER_ID", default="")
NOTIFY_CALLBACK_BEARER_TOKEN = env.str("NOTIFY_CALLBACK_BEARER_TOKEN", default="")
# Only for tests and sandboxes: where the Notify client sends its requests.
NOTIFY_API_BASE_URL = env.str("NOTIFY_API_BASE_URL", default="")
SMS_SEND_MAX_RETRIES = env.int("SMS_SEND_MAX_RETRIES", default=5)
CELERY_BEAT_SCHEDULE["file-requests-expire"] = {
    "task": "filerequests.expire_due",
    "schedule": 5 * 60.0,
}
# --- End of file requests -------------------------------------------------------

# --- Webhooks (portal.webhooks) ---------------------------------------------------
# Delay before each attempt of a delivery, in seconds: immediately, 5 s, 5 min, 30 min,
# 2 h, 5 h, 10 h, 10 h (Standard Webhooks' example schedule, cut to span about a
# day: the last attempt is ~27.6 h after the first). Each delay gets ±10 % jitter.
WEBHOOK_RETRY_SCHEDULE_SECONDS = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
# Multiplies every delay; tests run the whole schedule in moments with 0.
WEBHOOK_RETRY_SCALE = env.float("WEBHOOK_RETRY_SCALE", default=1.0)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_READ_TIMEOUT_SECONDS = env.float("WEBHOOK_READ_TIMEOUT_SECONDS", default=15.0)
# How long an attempt in flight holds its delivery; a worker that dies mid-attempt
# releases it when this passes. Default: both timeouts plus a minute.
WEBHOOK_ATTEMPT_LEASE_SECONDS = env.float(
    "WEBHOOK_ATTEMPT_LEASE_SECONDS",
    default=WEBHOOK_CONNECT_TIMEOUT_SECONDS + WEBHOOK_READ_TIMEOUT_SECONDS + 60,
)
# An endpoint is disabled after this many deliveries in a row failed for good (each
# after its whole schedule), or at once when it answers 410 Gone.
WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES = env.int(
    "WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES", default=5
)
WEBHOOK_RESPONSE_EXCERPT_BYTES = 1024
# The callable ``(host, port) -> [address, ...]`` that resolves a receiver's name, once
# per connection (portal.webhooks.transport). Tests name a scripted resolver here.
WEBHOOK_RESOLVER = "portal.webhooks.transport.system_resolve"
# Retry delays up to this long wait as Celery countdowns; longer ones (and anything
# a lost worker dropped) are picked up by the sweep, well inside Redis's visibility
# timeout so a countdown task is never handed out twice.
WEBHOOK_MAX_COUNTDOWN_SECONDS = 10 * 60
# The sweep: events not fanned out and deliveries overdue by this much are sent again.
WEBHOOK_SWEEP_INTERVAL_SECONDS = env.float("WEBHOOK_SWEEP_INTERVAL_SECONDS", default=60.0)
WEBHOOK_SWEEP_GRACE_SECONDS = env.float("WEBHOOK_SWEEP_GRACE_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE["webhooks-sweep"] = {
    "task": "webhooks.sweep",
    "schedule": WEBHOOK_SWEEP_INTERVAL_SECONDS,
}

# --- Staff dashboard (dashboard/) ----------------------------------------------

MIDDLEWARE.append("django_htmx.middleware.HtmxMiddleware")
TEMPLATES[0]["OPTIONS"]["context_processors"].append("dashboard.context.dashboard")
LOGOUT_REDIRECT_URL = "/login/"
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Clinic File Portal")
# The Django admin never shows an authenticator's key or QR code: whoever saw it could
# make the codes of the person it belongs to.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# A password-checked sign-in waits this long for its authentication code.
DASHBOARD_SIGN_IN_PENDING_SECONDS = 5 * 60
# Staff sign-in throttle (portal.accounts.signin_throttle): wrong passwords per e-mail
# address, and per client address, before sign-in pauses; the first pause's length,
# doubling with each further pause of the same key up to the maximum. Failures older
# than the window are forgotten; pauses (for the back-off) after the memory.
SIGN_IN_ACCOUNT_MAX_FAILURES = env.int("SIGN_IN_ACCOUNT_MAX_FAILURES", default=5)
SIGN_IN_ADDRESS_MAX_FAILURES = env.int("SIGN_IN_ADDRESS_MAX_FAILURES", default=20)
SIGN_IN_LOCKOUT_SECONDS = env.int("SIGN_IN_LOCKOUT_SECONDS", default=60)
SIGN_IN_LOCKOUT_MAX_SECONDS = env.int("SIGN_IN_LOCKOUT_MAX_SECONDS", default=60 * 60)
SIGN_IN_FAILURE_WINDOW_SECONDS = 15 * 60
SIGN_IN_LOCKOUT_MEMORY_SECONDS = 24 * 60 * 60
# Password reset e-mails to one address (as typed, however spelt): the least time
# between two asks, and the most in any 24 hours (portal.accounts.password_reset).
PASSWORD_RESET_COOLDOWN_SECONDS = env.int("PASSWORD_RESET_COOLDOWN_SECONDS", default=60)
PASSWORD_RESET_EMAILS_PER_DAY = env.int("PASSWORD_RESET_EMAILS_PER_DAY", default=5)
# How long a staff invitation's link works (portal.accounts.services.staff_invite).
STAFF_INVITATION_TTL_SECONDS = env.int("STAFF_INVITATION_TTL_SECONDS", default=7 * 24 * 60 * 60)
CELERY_BEAT_SCHEDULE["accounts-sign-in-throttle-sweep"] = {
    "task": "accounts.sign_in_throttle_sweep",
    "schedule": 60 * 60.0,
}
DASHBOARD_PAGE_SIZE = 25

# --- Patient attachments (attachments app) ---------------------------------------

# Free trial accounts keep at most this many files, of at most this many bytes in all
# (Cliniko's trial: "10 files that must not total more than 1 MB"; 1 MB = 1 MiB here).
FILES_TRIAL_MAX_FILES = env.int("FILES_TRIAL_MAX_FILES", default=10)
FILES_TRIAL_MAX_BYTES = env.int("FILES_TRIAL_MAX_BYTES", default=1024 * 1024)
# Claros's PDF upload answers 413 as soon as a file passes this size.
ATTACHMENTS_CLAROS_MAX_PDF_BYTES = env.int(
    "ATTACHMENTS_CLAROS_MAX_PDF_BYTES", default=50 * 1024 * 1024
)
# Medable's photo property: the largest photo, and how long its upload credentials last.
ATTACHMENTS_PHOTO_MAX_BYTES = env.int("ATTACHMENTS_PHOTO_MAX_BYTES", default=20 * 1024 * 1024)
ATTACHMENTS_PHOTO_UPLOAD_SECONDS = env.int("ATTACHMENTS_PHOTO_UPLOAD_SECONDS", default=15 * 60)
# How often the worker looks for photo uploads that have arrived (S3 sends no
# callback), and for how long after its credentials lapse an upload is looked for.
ATTACHMENTS_PHOTO_COLLECT_SECONDS = env.float("ATTACHMENTS_PHOTO_COLLECT_SECONDS", default=2.0)
ATTACHMENTS_PHOTO_COLLECT_GRACE_SECONDS = 10 * 60

CELERY_BEAT_SCHEDULE["attachments-photo-uploads-collect"] = {
    "task": "attachments.photo_uploads_collect",
    "schedule": ATTACHMENTS_PHOTO_COLLECT_SECONDS,
    # A tick that waits in the queue longer than the next is worth nothing.
    "options": {"expires": ATTACHMENTS_PHOTO_COLLECT_SECONDS * 2},
}
