"""Start-up check: does the S3 bucket have what the portal needs? (files/storage/bucket_setup.py)

A warning per missing item, never an error: the portal still starts, and the operator
sees what ``manage.py storage_setup`` would fix. It asks the store once per process
(a few GETs), and not at all with the embedded storage.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.files.storage import default_storage

from files.storage.bucket_setup import bucket_items
from files.storage.objects import storage_is_s3

_found: list[checks.CheckMessage] | None = None
DAY_SECONDS = 24 * 3600


@checks.register("storage")
def bucket_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    global _found
    if _found is None:
        _found = _bucket_messages()
    return _found


@checks.register("storage")
def temp_expiry_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The bucket's expiry of ``temp/`` must never take an upload the portal may still
    process: it must come at least a day after the longest ticket's grace has run out."""
    longest_ticket = max(
        settings.FILES_UPLOAD_TICKET_SECONDS, settings.ATTACHMENTS_PHOTO_UPLOAD_SECONDS
    )
    needed = longest_ticket + settings.FILES_STALE_TICKET_GRACE_SECONDS + DAY_SECONDS
    if needed <= settings.S3_TEMP_EXPIRE_DAYS * DAY_SECONDS:
        return []
    return [
        checks.Error(
            f"S3_TEMP_EXPIRE_DAYS={settings.S3_TEMP_EXPIRE_DAYS} would let the bucket delete "
            "uploads the portal may still process.",
            hint=f"Set S3_TEMP_EXPIRE_DAYS to at least {-(-needed // DAY_SECONDS)} (the longest "
            "upload ticket, plus FILES_STALE_TICKET_GRACE_SECONDS, plus a day).",
            id="files.E012",
        )
    ]


def bucket_check_forget() -> None:
    """For tests: ask the store again at the next check."""
    global _found
    _found = None


def _bucket_messages() -> list[checks.CheckMessage]:

    if not storage_is_s3(default_storage):
        return []
    try:
        items = bucket_items(client=quick_client(), bucket=default_storage.bucket_name, apply=False)
    except Exception as exc:  # an unreachable store is a warning at start-up, not a crash
        return [
            checks.Warning(
                f"Could not inspect the S3 bucket: {type(exc).__name__}: {exc}",
                hint="Check S3_ENDPOINT_URL, S3_BUCKET and the credentials.",
                id="files.W010",
            )
        ]
    return [
        checks.Warning(
            f"S3 bucket {default_storage.bucket_name}: {item.name}: {item.detail}.",
            hint="Run `manage.py storage_setup` (docs/operations/scaled.md: the bucket).",
            id="files.W011",
        )
        for item in items
        if item.needs_action
    ]


def quick_client():
    """The storage's own S3 client settings, but one attempt and short timeouts: a store
    that does not answer delays a start-up by seconds, not by the storage's retries."""
    # boto3 only where the storage is S3: the embedded shape's start-up never loads it.
    import boto3
    from botocore.config import Config

    options = settings.STORAGES["default"]["OPTIONS"]
    quick = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1})
    config = options.get("client_config")
    return boto3.client(
        "s3",
        endpoint_url=options.get("endpoint_url"),
        region_name=options.get("region_name"),
        aws_access_key_id=options.get("access_key"),
        aws_secret_access_key=options.get("secret_key"),
        config=config.merge(quick) if config else quick,
    )
