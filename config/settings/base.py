"""The settings every shape shares: where the environment and the data folder are, the
secrets, the apps and middleware, sign-in, security headers, languages, static files and the
REST framework. The other modules of this package build on these names.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config.data_folder import ensure_private_data_folder
from config.environment import env
from config.install_secret import derived_key, install_secret

BASE_DIR = Path(__file__).resolve().parents[2]

# A .env file beside manage.py, for development; never overrides the real environment.
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
_broker_url = env.str("PORTAL_CELERY_BROKER_URL", default="")
if (
    not env.str("PORTAL_DATABASE_URL", default="")
    or not _broker_url  # the default broker is the local one
    or _broker_url.startswith("sqlite-queue://")
):
    ensure_private_data_folder(DATA_DIR)

# --- Core -------------------------------------------------------------------

if IS_PRODUCTION:
    for required in ("PORTAL_SECRET_KEY", "PORTAL_ALLOWED_HOSTS"):
        if not env.str(required, default=""):
            raise ImproperlyConfigured(
                f"{required} must be set when PORTAL_ENVIRONMENT=production."
            )
    SECRET_KEY = env.str("PORTAL_SECRET_KEY")
    ALLOWED_HOSTS = env.list("PORTAL_ALLOWED_HOSTS")
    DEBUG = False
else:
    # Unset: a random secret made on first run in the data folder (never a constant in
    # the repository, which would let anyone sign sessions and storage policies).
    SECRET_KEY = env.str("PORTAL_SECRET_KEY", default="") or install_secret(DATA_DIR)
    ALLOWED_HOSTS = env.list(
        "PORTAL_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"]
    )
    DEBUG = env.bool("PORTAL_DEBUG", default=ENVIRONMENT == "development")

# Old secret keys still accepted for signatures and for reading encrypted fields
# (portal.encryption) while a new SECRET_KEY rolls out.
SECRET_KEY_FALLBACKS = env.list("PORTAL_SECRET_KEY_FALLBACKS", default=[])
# Fernet keys for fields encrypted at rest, newest first; unset: derived from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = env.list("PORTAL_FIELD_ENCRYPTION_KEYS", default=[])
# The key that signs the embedded storage's POST policies (files.tickets.policies). Unset: derived
# from SECRET_KEY under its own label (HMAC-SHA256), so a policy signature, which any
# ticket holder sees, says nothing about the key that signs sessions.
STORAGE_SIGNING_KEY = env.str("PORTAL_STORAGE_SIGNING_KEY", default="") or derived_key(
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
    # The staff dashboard's htmx requests.
    "django_htmx.middleware.HtmxMiddleware",
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
                "dashboard.context.dashboard",
            ],
        },
    },
]

# --- Passwords, sessions, cookies --------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("PORTAL_SESSION_COOKIE_AGE", default=12 * 60 * 60)
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
    SECURE_SSL_REDIRECT = env.bool("PORTAL_SECURE_SSL_REDIRECT", default=True)
    if PORTAL_BEHIND_PROXY:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("PORTAL_SECURE_HSTS_SECONDS", default=63072000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # A browser keeps a __Host- cookie only if this host set it over HTTPS, for Path=/
    # and no Domain: no sibling subdomain or plain-HTTP answer can plant a session key
    # or CSRF token. Production only: over plain HTTP (development) browsers refuse it.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    CSRF_TRUSTED_ORIGINS = env.list("PORTAL_CSRF_TRUSTED_ORIGINS", default=[])

# --- Internationalisation -----------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("PORTAL_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
PHONENUMBER_DEFAULT_REGION = env.str("PORTAL_PHONENUMBER_DEFAULT_REGION", default="GB")
PHONENUMBER_DEFAULT_FORMAT = "E164"

# --- Static files and storage -------------------------------------------------

STATIC_URL = "/static/"
# Production serves collected static files through WhiteNoise; elsewhere WhiteNoise
# finds them in place, so nothing needs collecting for `make run` or the tests.
STATIC_ROOT = BASE_DIR / "staticfiles" if IS_PRODUCTION else None
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
STATICFILES_DIRS = [BASE_DIR / "static"]

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
