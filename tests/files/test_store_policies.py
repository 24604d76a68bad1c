"""The portal's S3 tickets on a store that enforces POST policies (SeaweedFS, as AWS does).

moto stores whatever is posted, so a wrong ticket passed there; SeaweedFS refuses every
upload its signed policy does not allow. Each bad upload is refused by the store itself
(a 4xx) and leaves nothing in the bucket; the good one is stored.
"""

from __future__ import annotations

import base64
import json

import pytest
import requests
from django.core.files.storage import default_storage

from files import services
from files.tickets.policies import policy_conditions, presigned_post_for
from portal.audit.services import Actor
from tests.files import samples
from tests.support.clients import bucket_keys

pytestmark = pytest.mark.django_db
MAX_SIZE = 4096


@pytest.fixture
def ticket(s3_bucket, account, patient):
    return services.upload_ticket_issue(
        account=account,
        patient=patient,
        purpose="photo",
        issued_by=Actor.system(),
        max_size=MAX_SIZE,
        content_type="image/jpeg",
    )


def post(url: str, fields: dict, data: bytes, name="photo.jpg", content_type="image/jpeg"):
    """A browser-style POST: the fields in their order, the file last."""
    return requests.post(
        url, data=list(fields.items()), files={"file": (name, data, content_type)}, timeout=30
    )


def small_jpeg() -> bytes:
    data = samples.jpeg((16, 16))
    assert len(data) <= MAX_SIZE
    return data


def expired_fields(ticket) -> dict:
    """The ticket's own fields and conditions, signed with an expiry in the past."""
    fields, conditions = policy_conditions(ticket)
    client = default_storage.connection.meta.client
    return dict(
        client.generate_presigned_post(
            Bucket=default_storage.bucket_name,
            Key=ticket.key_template,
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=-60,
        )["fields"]
    )


def widened_policy(fields: dict) -> dict:
    """The policy rewritten to allow 1 GB, its signature left as it was."""
    policy = json.loads(base64.b64decode(fields["policy"]))
    policy["conditions"] = [
        ["content-length-range", 1, 1 << 30]
        if isinstance(c, list) and c[0] == "content-length-range"
        else c
        for c in policy["conditions"]
    ]
    return {**fields, "policy": base64.b64encode(json.dumps(policy).encode()).decode()}


def flipped(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


# name: (change the fields, bytes to send)
BAD_UPLOADS = {
    "larger than the ticket allows": (lambda f, t: f, b"\xff" * (MAX_SIZE + 1)),
    "empty file": (lambda f, t: f, b""),
    "key outside the ticket's prefix": (
        lambda f, t: {**f, "key": "accounts/other/temp/evil.jpg"},
        None,
    ),
    "key in another account's prefix": (
        lambda f, t: {**f, "key": f["key"].replace(str(t.account_id), "1", 1)},
        None,
    ),
    "expired policy": (lambda f, t: expired_fields(t), None),
    "signature changed": (
        lambda f, t: {**f, "x-amz-signature": flipped(f["x-amz-signature"])},
        None,
    ),
    "policy widened, signature kept": (lambda f, t: widened_policy(f), b"\xff" * (MAX_SIZE + 1)),
    "Content-Type changed": (lambda f, t: {**f, "Content-Type": "text/html"}, None),
    "success status changed": (lambda f, t: {**f, "success_action_status": "200"}, None),
    "acl made public": (lambda f, t: {**f, "acl": "public-read"}, None),
    "encryption field dropped": (
        lambda f, t: {k: v for k, v in f.items() if k != "x-amz-server-side-encryption"},
        None,
    ),
    "extra field": (lambda f, t: {**f, "x-amz-meta-owner": "attacker"}, None),
    "credential of another key": (
        lambda f, t: {**f, "x-amz-credential": "AKIAOTHER" + f["x-amz-credential"][7:]},
        None,
    ),
}


@pytest.mark.parametrize("case", BAD_UPLOADS, ids=list(BAD_UPLOADS))
def test_store_refuses_an_upload_its_ticket_does_not_allow(case, ticket, s3_bucket):
    """GIVEN an S3 ticket on a policy-enforcing store WHEN a client changes what the ticket
    signed (size, key, expiry, signature, fields) THEN the store refuses it and stores nothing."""
    change, data = BAD_UPLOADS[case]
    presigned = presigned_post_for(ticket)
    fields = change(dict(presigned["fields"]), ticket)
    answer = post(presigned["url"], fields, small_jpeg() if data is None else data)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    assert bucket_keys(s3_bucket) == []


def test_store_accepts_the_ticket_as_issued(ticket, s3_bucket):
    """GIVEN the same ticket WHEN posted exactly as issued THEN the store answers 201 and
    holds one object under the ticket's prefix: the control for the refusals above."""
    presigned = presigned_post_for(ticket)
    answer = post(presigned["url"], dict(presigned["fields"]), small_jpeg())
    assert answer.status_code == 201, answer.text[:300]
    (key,) = bucket_keys(s3_bucket)
    assert key.startswith(ticket.key_prefix)


def test_store_accepts_fields_in_any_order_but_the_file_last(ticket, s3_bucket):
    """GIVEN the ticket's fields reversed WHEN posted THEN the store still stores it (SeaweedFS
    ignores field order; AWS requires only that the file comes last)."""
    presigned = presigned_post_for(ticket)
    fields = dict(reversed(list(presigned["fields"].items())))
    assert post(presigned["url"], fields, small_jpeg()).status_code == 201
    assert len(bucket_keys(s3_bucket)) == 1


def test_each_policy_condition_is_signed_once(ticket):
    """GIVEN an S3 ticket WHEN its policy is read THEN no condition appears twice (boto3
    adds the key's condition itself; the portal used to add it again)."""
    policy = json.loads(base64.b64decode(presigned_post_for(ticket)["fields"]["policy"]))
    conditions = [json.dumps(c, sort_keys=True) for c in policy["conditions"]]
    assert len(conditions) == len(set(conditions)), conditions
    assert sum("$key" in c or '"key"' in c for c in conditions) == 1


@pytest.mark.parametrize("encryption", ["AES256", ""])
def test_server_side_encryption_follows_the_setting(
    encryption, settings, s3_bucket, account, patient
):
    """GIVEN S3_SERVER_SIDE_ENCRYPTION set (the default, AES256) or empty (a store with no
    SSE) WHEN a ticket is issued and used THEN its fields and policy ask for exactly that,
    and the store accepts the upload."""
    from config.settings import storage_settings_for

    settings.S3_SERVER_SIDE_ENCRYPTION = encryption
    settings.STORAGES = {
        **settings.STORAGES,
        "default": storage_settings_for(s3_bucket, server_side_encryption=encryption),
    }
    ticket = services.upload_ticket_issue(
        account=account, patient=patient, purpose="photo", issued_by=Actor.system()
    )
    presigned = presigned_post_for(ticket)
    assert presigned["fields"].get("x-amz-server-side-encryption", "") == encryption
    assert post(presigned["url"], dict(presigned["fields"]), small_jpeg()).status_code == 201
    assert default_storage._get_write_parameters("x.jpg").get("ServerSideEncryption", "") == (
        encryption
    )


def test_a_named_ticket_signs_its_exact_key_once(s3_bucket, account, patient):
    """GIVEN an S3 ticket for a known file name (an exact key, not a prefix) WHEN its policy
    is read THEN the key's condition appears once, as the exact key."""
    named = services.upload_ticket_issue(
        account=account,
        patient=patient,
        purpose="photo",
        issued_by=Actor.system(),
        max_size=MAX_SIZE,
        filename="photo.jpg",
    )
    policy = json.loads(base64.b64decode(presigned_post_for(named)["fields"]["policy"]))
    keys = [c for c in policy["conditions"] if "key" in c or (isinstance(c, list) and "$key" in c)]
    assert keys == [{"key": named.key_prefix + "photo.jpg"}]


def test_a_ticket_past_its_expiry_signs_a_policy_of_one_second(ticket):
    """GIVEN an S3 ticket whose time has passed WHEN its POST is signed THEN the policy
    lapses one second after signing (S3 needs a positive span): never the ticket's
    original span, never already expired."""
    import datetime as dt

    from django.utils import timezone

    ticket.expires_at = timezone.now() - dt.timedelta(minutes=5)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    post = presigned_post_for(ticket)
    after = dt.datetime.now(dt.UTC).replace(microsecond=0)

    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    expiration = dt.datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.UTC
    )
    assert before + dt.timedelta(seconds=1) <= expiration <= after + dt.timedelta(seconds=1)
