"""Where files are kept: private files under the data folder (embedded), or an S3 bucket
named by ``PORTAL_S3_BUCKET`` (scaled), with the time budgets that keep a hung store from
holding a request; and how uploads are spooled."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.environment import env
from config.settings.base import DATA_DIR, IS_PRODUCTION

# --- S3 -----------------------------------------------------------------------

S3_BUCKET = env.str("PORTAL_S3_BUCKET", default="")
S3_ENDPOINT_URL = env.str("PORTAL_S3_ENDPOINT_URL", default="") or None
S3_REGION = env.str("PORTAL_S3_REGION", default="us-east-1")
S3_ACCESS_KEY_ID = env.str("PORTAL_S3_ACCESS_KEY_ID", default="") or None
S3_SECRET_ACCESS_KEY = env.str("PORTAL_S3_SECRET_ACCESS_KEY", default="") or None
# A storage that stops answering must not hold a web request or a worker for
# botocore's default minute: time out, let botocore try twice more, then let the caller
# decide (a web request answers 503 with Retry-After, the processing task retries with
# back-off). The read timeout bounds each wait for the store's next bytes, not a whole
# transfer; S3_MAX_ATTEMPTS is botocore's retries' max_attempts, the tries after the first,
# so with the defaults a store that hangs is given up after three tries of 2 s, about 6 s,
# well inside the proxy's timeout.
S3_CONNECT_TIMEOUT_SECONDS = env.float("PORTAL_S3_CONNECT_TIMEOUT_SECONDS", default=2.0)
S3_READ_TIMEOUT_SECONDS = env.float("PORTAL_S3_READ_TIMEOUT_SECONDS", default=2.0)
S3_MAX_ATTEMPTS = env.int("PORTAL_S3_MAX_ATTEMPTS", default=2)
# How bucket URLs are built (files.storage.s3_urls.s3_post_url derives the tickets' URL and the
# CSP's connect-src from the same client): "virtual" (bucket.s3.<region>.amazonaws.com,
# the default on AWS) or "path" (endpoint/bucket: the default with S3_ENDPOINT_URL, as
# most S3-compatible stores have no bucket subdomains). botocore's own "auto" would
# send tickets outside us-east-1 to the legacy global host, which redirects new buckets.
S3_ADDRESSING_STYLE = env.str("PORTAL_S3_ADDRESSING_STYLE", default="")
if S3_ADDRESSING_STYLE not in {"", "virtual", "path"}:
    raise ImproperlyConfigured(
        f"PORTAL_S3_ADDRESSING_STYLE must be virtual, path or empty, not {S3_ADDRESSING_STYLE!r}."
    )
# Days after which the bucket's lifecycle rule (``manage.py storage_setup``) deletes what
# is left under ``temp/``: uploads never confirmed or never processed. The stale-upload
# sweep removes them far sooner; this is the store's own backstop, for a portal that is
# down or a sweep that never ran. At least a day longer than a temporary object can be
# needed (the longest upload ticket plus FILES_STALE_TICKET_GRACE_SECONDS; a system check
# says so), so an upload still in use is never expired under the portal.
S3_TEMP_EXPIRE_DAYS = env.int("PORTAL_S3_TEMP_EXPIRE_DAYS", default=7)
# AWS's dual-stack (IPv4 and IPv6) endpoints: bucket.s3.dualstack.<region>.amazonaws.com.
S3_USE_DUALSTACK_ENDPOINT = env.bool("PORTAL_S3_USE_DUALSTACK_ENDPOINT", default=False)
# Server-side encryption asked of every object, by the storage and in every ticket's
# policy: "AES256" (SSE-S3), "aws:kms", or "" for a store that supports none.
S3_SERVER_SIDE_ENCRYPTION = env.str("PORTAL_S3_SERVER_SIDE_ENCRYPTION", default="AES256")
if S3_SERVER_SIDE_ENCRYPTION not in {"AES256", "aws:kms", ""}:
    raise ImproperlyConfigured(
        "PORTAL_S3_SERVER_SIDE_ENCRYPTION must be AES256, aws:kms or empty, "
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
        # botocore only where the storage is S3: every process reads these settings.
        from botocore.config import Config

        addressing_style = addressing_style or ("path" if endpoint_url else "virtual")

        return {
            "BACKEND": "files.storage.s3.S3FileStorage",  # django-storages' S3Storage
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
        "BACKEND": "files.storage.objects.PrivateFileSystemStorage",
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
FILE_UPLOAD_TEMP_DIR = env.str("PORTAL_FILE_UPLOAD_TEMP_DIR", default="") or None
DATA_UPLOAD_MAX_NUMBER_FILES = 20
