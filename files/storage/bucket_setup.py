"""What the S3 bucket needs before the portal can use it, checked and (on request) applied.

``manage.py storage_setup`` applies it; the ``files.S3xxx`` system check reports what is
missing at start-up. Each item is idempotent: applied twice it changes nothing the
second time, and it keeps the bucket's other CORS and lifecycle rules.

1. The bucket exists (created in ``S3_REGION`` when asked).
2. CORS lets the portal's own pages (``PORTAL_PUBLIC_BASE_URL``) POST to it: the patient
   page and the dashboard upload straight to the bucket; AWS refuses cross-origin
   requests by default.
3. Public access is blocked (no ACL or policy can make an object public).
4. Default server-side encryption, as ``S3_SERVER_SIDE_ENCRYPTION`` asks.
5. Lifecycle: multipart uploads left incomplete are aborted, and whatever is left under
   ``temp/`` (every unchecked upload waits there, ``files.models.TEMP_ROOT``) is deleted
   after ``S3_TEMP_EXPIRE_DAYS``: the store's own backstop behind the stale-upload sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from botocore.exceptions import ClientError
from django.conf import settings

from files.models import TEMP_ROOT

# Where checked files live (``files.models.permanent_prefix``): no rule may expire them.
PERMANENT_ROOT = "accounts/"

RULE_ID = "clinic-file-portal"
TEMP_RULE_ID = "clinic-file-portal-temp"
MULTIPART_DAYS = 1
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
# Error codes of a store that does not implement a bucket API (SeaweedFS: public-access block).
UNSUPPORTED = {"NotImplemented", "MethodNotAllowed", "501"}


@dataclass
class BucketItem:
    """One thing the bucket needs: its state after inspection (or after applying)."""

    name: str
    state: str  # "ok" | "missing" | "applied" | "unsupported" | "error"
    detail: str

    @property
    def needs_action(self) -> bool:
        return self.state in ("missing", "error")


def portal_origin() -> str:
    parts = urlsplit(settings.PORTAL_PUBLIC_BASE_URL)
    return f"{parts.scheme}://{parts.netloc}"


def cors_rule(origin: str) -> dict:
    return {
        "ID": RULE_ID,
        "AllowedOrigins": [origin],
        "AllowedMethods": ["POST"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag", "Location"],
        "MaxAgeSeconds": 3000,
    }


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _read(call, missing_codes: set[str]):
    """A bucket configuration, or None when the bucket has none; raises if unsupported."""
    try:
        return call()
    except ClientError as exc:
        if error_code(exc) in missing_codes:
            return None
        raise


def bucket_items(*, client, bucket: str, apply: bool) -> list[BucketItem]:
    """Inspect (and with ``apply`` fix) each item; never raises for one item's failure."""
    items = [_bucket_exists(client, bucket, apply)]
    if items[0].state not in ("ok", "applied"):
        return items
    for step in (_cors, _public_access_block, _encryption, _lifecycle):
        try:
            items.append(step(client, bucket, apply))
        except ClientError as exc:
            name = step.__name__.lstrip("_").replace("_", " ")
            if error_code(exc) in UNSUPPORTED:
                items.append(BucketItem(name, "unsupported", "this store does not offer it"))
            else:
                items.append(BucketItem(name, "error", f"{error_code(exc)}: {exc}"))
    return items


def _bucket_exists(client, bucket: str, apply: bool) -> BucketItem:
    try:
        client.head_bucket(Bucket=bucket)
        return BucketItem("bucket", "ok", f"{bucket} exists")
    except ClientError as exc:
        if error_code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
            return BucketItem("bucket", "error", f"{bucket}: {error_code(exc)} (credentials?)")
    if not apply:
        return BucketItem("bucket", "missing", f"{bucket} does not exist")
    region = client.meta.region_name
    options = {}
    if region and region != "us-east-1":
        options["CreateBucketConfiguration"] = {"LocationConstraint": region}
    client.create_bucket(Bucket=bucket, **options)
    return BucketItem("bucket", "applied", f"created {bucket} in {region}")


def _cors(client, bucket: str, apply: bool) -> BucketItem:
    origin = portal_origin()
    config = _read(lambda: client.get_bucket_cors(Bucket=bucket), {"NoSuchCORSConfiguration"})
    rules = (config or {}).get("CORSRules", [])
    wanted = cors_rule(origin)
    if any(
        origin in rule.get("AllowedOrigins", []) and "POST" in rule.get("AllowedMethods", [])
        for rule in rules
    ):
        return BucketItem("cors", "ok", f"POST allowed from {origin}")
    if not apply:
        return BucketItem("cors", "missing", f"no CORS rule lets {origin} POST uploads")
    kept = [rule for rule in rules if rule.get("ID") != RULE_ID]
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [*kept, wanted]})
    return BucketItem("cors", "applied", f"POST allowed from {origin}")


def _public_access_block(client, bucket: str, apply: bool) -> BucketItem:
    config = _read(
        lambda: client.get_public_access_block(Bucket=bucket),
        {"NoSuchPublicAccessBlockConfiguration"},
    )
    current = (config or {}).get("PublicAccessBlockConfiguration", {})
    if all(current.get(name) for name in PUBLIC_ACCESS_BLOCK):
        return BucketItem("public access block", "ok", "all public access blocked")
    if not apply:
        return BucketItem("public access block", "missing", "public access is not blocked")
    client.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK
    )
    return BucketItem("public access block", "applied", "all public access blocked")


def _encryption(client, bucket: str, apply: bool) -> BucketItem:
    algorithm = settings.S3_SERVER_SIDE_ENCRYPTION
    if not algorithm:
        return BucketItem("encryption", "ok", "S3_SERVER_SIDE_ENCRYPTION is empty: none asked")
    config = _read(
        lambda: client.get_bucket_encryption(Bucket=bucket),
        {"ServerSideEncryptionConfigurationNotFoundError"},
    )
    rules = (config or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    if any(
        rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") == algorithm
        for rule in rules
    ):
        return BucketItem("encryption", "ok", f"{algorithm} by default")
    if not apply:
        return BucketItem("encryption", "missing", f"objects are not {algorithm} by default")
    client.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm}}]
        },
    )
    return BucketItem("encryption", "applied", f"{algorithm} by default")


def lifecycle_rules_wanted() -> list[dict]:
    return [
        {
            "ID": RULE_ID,
            "Filter": {"Prefix": ""},
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": MULTIPART_DAYS},
        },
        {
            "ID": TEMP_RULE_ID,
            "Filter": {"Prefix": TEMP_ROOT},
            "Status": "Enabled",
            "Expiration": {"Days": settings.S3_TEMP_EXPIRE_DAYS},
        },
    ]


def rule_prefix(rule: dict) -> str | None:
    """The key prefix a lifecycle rule selects (either way AWS lets one be written), or
    None when it also filters on tags or sizes, so it may not cover every object."""
    rule_filter = rule.get("Filter")
    if rule_filter is None:
        return rule.get("Prefix", "")
    if set(rule_filter) - {"Prefix"}:
        return None
    return rule_filter.get("Prefix", "")


def lifecycle_problems(rules: list[dict]) -> list[str]:
    """What the bucket's lifecycle rules fail to do, in words ([] when all is done)."""
    enabled = [rule for rule in rules if rule.get("Status") == "Enabled"]
    problems = []
    if not any(
        "AbortIncompleteMultipartUpload" in rule and rule_prefix(rule) == "" for rule in enabled
    ):
        problems.append("incomplete multipart uploads are kept")
    days = settings.S3_TEMP_EXPIRE_DAYS
    expiring = [rule for rule in enabled if set(rule.get("Expiration", {})) & {"Days", "Date"}]
    if not any(
        rule_prefix(rule) == TEMP_ROOT and rule["Expiration"].get("Days") == days
        for rule in expiring
    ):
        problems.append(f"abandoned uploads under {TEMP_ROOT} are not expired after {days} days")
    for rule in expiring:
        prefix = rule_prefix(rule)
        name = f"rule {rule.get('ID') or '(no ID)'}"
        if prefix is None or PERMANENT_ROOT.startswith(prefix) or prefix.startswith(PERMANENT_ROOT):
            # Tags or sizes decide which objects it takes: it may take a patient's file.
            problems.append(f"{name} deletes objects that may be patients' files")
        elif TEMP_ROOT.startswith(prefix) and rule["Expiration"].get("Days", 0) < days:
            problems.append(f"{name} deletes uploads under {TEMP_ROOT} sooner than {days} days")
    return problems


def _lifecycle(client, bucket: str, apply: bool) -> BucketItem:
    config = _read(
        lambda: client.get_bucket_lifecycle_configuration(Bucket=bucket),
        {"NoSuchLifecycleConfiguration"},
    )
    rules = (config or {}).get("Rules", [])
    done = (
        f"incomplete multipart uploads aborted after {MULTIPART_DAYS} day; "
        f"{TEMP_ROOT} expired after {settings.S3_TEMP_EXPIRE_DAYS} days"
    )
    problems = lifecycle_problems(rules)
    if not problems:
        return BucketItem("lifecycle", "ok", done)
    if not apply:
        return BucketItem("lifecycle", "missing", "; ".join(problems))
    ours = {RULE_ID, TEMP_RULE_ID}
    kept = [rule for rule in rules if rule.get("ID") not in ours]
    client.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": [*kept, *lifecycle_rules_wanted()]}
    )
    left = lifecycle_problems([*kept, *lifecycle_rules_wanted()])
    if left:
        # Another rule of the bucket (not ours to change) still expires temp/ too soon.
        return BucketItem("lifecycle", "error", "; ".join(left))
    return BucketItem("lifecycle", "applied", done)
