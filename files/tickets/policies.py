"""Upload tickets as presigned POSTs, and the policy check of the embedded storage's endpoint.

With S3, boto3 signs the POST policy (SigV4) and the client posts to the bucket.
With the embedded filesystem storage, the portal signs an identical-looking
policy with ``STORAGE_SIGNING_KEY`` (its own key) and serves ``/storage/upload``,
which enforces it the way S3 does. A client cannot tell the two apart.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from files.models import UploadTicket
from files.storage.objects import storage_is_s3

ALGORITHM = "AWS4-HMAC-SHA256"
EMBEDDED_ACCESS_KEY = "portal-embedded"
# Fields the client must send back exactly; S3 stores them with the object.
FIXED_FIELDS = {
    "success_action_status": "201",
    "acl": "private",
}


def fixed_fields() -> dict[str, str]:
    """``FIXED_FIELDS`` and the server-side encryption the settings ask for (if any)."""
    fields = dict(FIXED_FIELDS)
    if settings.S3_SERVER_SIDE_ENCRYPTION:
        fields["x-amz-server-side-encryption"] = settings.S3_SERVER_SIDE_ENCRYPTION
    return fields


def policy_conditions(ticket: UploadTicket) -> tuple[dict, list]:
    fields = fixed_fields()
    conditions: list = [{name: value} for name, value in fields.items()]
    if ticket.filename:
        conditions.append({"key": ticket.key_template})
    else:
        conditions.append(["starts-with", "$key", ticket.key_prefix])
    conditions.append(["content-length-range", 1, ticket.max_size])
    if ticket.content_type:
        fields["Content-Type"] = ticket.content_type
        conditions.append({"Content-Type": ticket.content_type})
    return fields, conditions


def presigned_post_for(ticket: UploadTicket) -> dict:
    fields, conditions = policy_conditions(ticket)
    expires_in = max(1, int((ticket.expires_at - timezone.now()).total_seconds()))
    if storage_is_s3():
        client = default_storage.connection.meta.client
        post = client.generate_presigned_post(
            Bucket=default_storage.bucket_name,
            Key=ticket.key_template,
            Fields=fields,
            # boto3 adds the key's own condition from ``Key``; not twice.
            Conditions=[c for c in conditions if not is_key_condition(c)],
            ExpiresIn=expires_in,
        )
        return {"url": post["url"], "fields": dict(post["fields"])}
    return {"url": embedded_upload_url(), "fields": embedded_fields(ticket, fields, conditions)}


def ticket_answer(ticket: UploadTicket) -> dict:
    """A ticket as the pages' JSON endpoints answer it (the patient page, the dashboard's
    drag-and-drop): its id to confirm it by, and the presigned POST's fields as pairs, so
    the order the storage needs survives any JSON parser."""
    post = presigned_post_for(ticket)
    return {
        "ticketId": str(ticket.id),
        "url": post["url"],
        "fields": [[name, value] for name, value in post["fields"].items()],
    }


def is_key_condition(condition) -> bool:
    if isinstance(condition, dict):
        return "key" in condition
    return len(condition) == 3 and condition[1] == "$key"


def embedded_upload_url() -> str:
    return settings.PORTAL_PUBLIC_BASE_URL.rstrip("/") + reverse("storage-upload")


def signature_for(policy_b64: str) -> str:
    """The embedded policy's signature: HMAC-SHA256 under ``STORAGE_SIGNING_KEY``, a key of
    its own (derived from ``SECRET_KEY`` under a label unless set), not the session key."""
    key = settings.STORAGE_SIGNING_KEY.encode()
    return hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()


def embedded_fields(ticket: UploadTicket, fields: dict, conditions: list) -> dict:
    now = timezone.now().astimezone(dt.UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{EMBEDDED_ACCESS_KEY}/{now:%Y%m%d}/{settings.S3_REGION}/s3/aws4_request"
    policy = {
        "expiration": ticket.expires_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conditions": [
            {"bucket": settings.FILES_EMBEDDED_BUCKET},
            *conditions,
            {"x-amz-algorithm": ALGORITHM},
            {"x-amz-credential": credential},
            {"x-amz-date": amz_date},
        ],
    }
    policy_b64 = base64.b64encode(json.dumps(policy).encode()).decode()
    return {
        **fields,
        "key": ticket.key_template,
        "x-amz-algorithm": ALGORITHM,
        "x-amz-credential": credential,
        "x-amz-date": amz_date,
        "policy": policy_b64,
        "x-amz-signature": signature_for(policy_b64),
    }


def location_for(key: str) -> str:
    """The ``Location`` S3 would answer for ``key`` (the key URL-encoded, slashes too)."""
    return f"{embedded_upload_url()}/{quote(key, safe='')}"


@dataclass
class PostPolicyError(Exception):
    """An S3-style refusal: HTTP status, S3 error code and message."""

    status: int
    code: str
    message: str
    extra: dict | None = None


def access_denied(message: str) -> PostPolicyError:
    return PostPolicyError(403, "AccessDenied", message)


@dataclass
class CheckedPolicy:
    key: str
    min_size: int
    max_size: int
    success_action_status: str
    content_type: str


def check_fields(fields: dict[str, str]) -> CheckedPolicy:
    """Check the form fields sent before the file against their signed policy.

    ``fields`` has lower-cased names and ``${filename}`` already substituted in
    ``key``. The size range is returned for checking while the bytes stream in.
    """
    if "key" not in fields:
        raise PostPolicyError(
            400,
            "InvalidArgument",
            "Bucket POST must contain a field named 'key'.  If it is specified, "
            "please check the order of the fields.",
        )
    for required in ("policy", "x-amz-signature", "x-amz-algorithm", "x-amz-credential"):
        if required not in fields:
            raise access_denied("Access Denied")
    if fields["x-amz-algorithm"] != ALGORITHM:
        raise PostPolicyError(400, "InvalidArgument", "Unsupported x-amz-algorithm.")
    if not hmac.compare_digest(signature_for(fields["policy"]), fields["x-amz-signature"]):
        raise PostPolicyError(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you "
            "provided. Check your key and signing method.",
        )
    try:
        policy = json.loads(base64.b64decode(fields["policy"], validate=True))
        expiration = dt.datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=dt.UTC
        )
        conditions = policy["conditions"]
    except (ValueError, KeyError, TypeError):
        raise PostPolicyError(400, "InvalidPolicyDocument", "Invalid Policy: malformed.") from None
    if timezone.now() >= expiration:
        raise access_denied("Invalid according to Policy: Policy expired.")

    values = {**fields, "bucket": settings.FILES_EMBEDDED_BUCKET}
    covered = {"policy", "x-amz-signature", "file"}
    min_size, max_size = 0, settings.FILES_MAX_UPLOAD_BYTES
    for condition in conditions:
        if isinstance(condition, dict):
            ((name, expected),) = condition.items()
            name = name.lower()
            covered.add(name)
            if values.get(name) != expected:
                raise condition_failed(["eq", f"${name}", expected])
        elif isinstance(condition, list) and condition and condition[0] == "content-length-range":
            min_size, max_size = int(condition[1]), int(condition[2])
        elif isinstance(condition, list) and len(condition) == 3:
            operator, name, expected = condition
            name = name.lstrip("$").lower()
            covered.add(name)
            value = values.get(name, "")
            if (operator == "eq" and value != expected) or (
                operator == "starts-with" and not value.startswith(expected)
            ):
                raise condition_failed(condition)
        else:
            raise PostPolicyError(400, "InvalidPolicyDocument", "Invalid Policy: bad condition.")
    extra = sorted(
        name for name in fields if name not in covered and not name.startswith("x-ignore-")
    )
    if extra:
        raise access_denied(f"Invalid according to Policy: Extra input fields: {extra[0]}")
    return CheckedPolicy(
        key=fields["key"],
        min_size=min_size,
        max_size=max_size,
        success_action_status=fields.get("success_action_status", "204"),
        content_type=fields.get("content-type", ""),
    )


def condition_failed(condition) -> PostPolicyError:
    return access_denied(
        f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}"
    )


# --- Refusals from the apps above ------------------------------------------------------
#
# ``files`` imports no app above it, yet a ticket issued for a file request must stop
# working when that request is cancelled or expires. The app that knows registers a check
# at start-up (filerequests/apps.py); the storage endpoint asks them all.
TICKET_REFUSALS: list = []


def ticket_refusal_register(check) -> None:
    """``check(ticket) -> str | None``: why the ticket may no longer upload, or None."""
    if check not in TICKET_REFUSALS:
        TICKET_REFUSALS.append(check)


def ticket_refusal(ticket) -> str | None:
    for check in TICKET_REFUSALS:
        reason = check(ticket)
        if reason:
            return reason
    return None
