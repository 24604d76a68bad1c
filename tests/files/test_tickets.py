"""Upload tickets: presigned POST to S3 (SeaweedFS over HTTP) or to the embedded storage's own
endpoint, which enforces the policy as S3 does; confirm; processing's own checks."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
import requests
from django.core.files.storage import default_storage
from django.test.client import encode_multipart
from django.utils import timezone

from files import selectors, services
from files.models import File, UploadTicket
from files.tickets.policies import location_for, presigned_post_for
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from tests.files import samples
from tests.files.conftest import stored_keys
from tests.support.multipart import NamedBytes

pytestmark = pytest.mark.django_db
BOUNDARY = "PortalTestBoundary"


def post_embedded(
    client, post: dict, data: bytes, name="photo.jpg", *, fields=None, file_first=False
):
    fields = dict(post["fields"] if fields is None else fields)
    form = (
        {"file": NamedBytes(name, data), **fields}
        if file_first
        else {**fields, "file": NamedBytes(name, data)}
    )
    body = encode_multipart(BOUNDARY, form)
    return client.generic(
        "POST",
        urlsplit(post["url"]).path,
        body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )


def post_to(client, post: dict, data: bytes, name="photo.jpg"):
    """Post as a browser would: to S3 over HTTP, or to the embedded endpoint."""
    if urlsplit(post["url"]).path.startswith("/storage/"):
        return post_embedded(client, post, data, name)
    return requests.post(post["url"], data=post["fields"], files={"file": (name, data)}, timeout=30)


def error_code(response) -> str:
    return ElementTree.fromstring(response.content).findtext("Code")


def test_ticket_round_trip_on_both_storages(storage_mode, issue, client, process):
    """GIVEN a ticket WHEN the client posts its fields in order and the file last, then confirms
    THEN a pending File exists at the temp key, and processing makes it ready."""
    ticket = issue(max_size=1024 * 1024)
    post = presigned_post_for(ticket)
    assert list(post["fields"])[:1] and "policy" in post["fields"]
    assert post["fields"]["key"] == ticket.key_prefix + "${filename}"
    assert ticket.key_prefix.startswith(
        f"temp/accounts/{ticket.account_id}/patients/{ticket.patient_id}/"
    )

    response = post_to(client, post, samples.jpeg(), "IMG 1.jpg")
    assert response.status_code in (201, 204), response.content
    file = services.upload_ticket_confirm(ticket=ticket, confirmed_by=Actor.system())

    assert file.state == File.State.PENDING
    assert file.original_name == "IMG 1.jpg"
    assert file.temp_key.startswith(ticket.key_prefix)
    assert process(file).state == File.State.READY
    assert stored_keys(ticket.key_prefix) == []
    assert AuditEvent.objects.filter(action="file.upload", target_id=str(file.id)).exists()


def test_embedded_endpoint_answers_like_s3(issue, client):
    """GIVEN the embedded storage WHEN a valid POST arrives THEN 201 with a PostResponse XML
    whose Location finds the ticket again (Cliniko's upload_url)."""
    ticket = issue()
    response = post_embedded(client, presigned_post_for(ticket), samples.jpeg(), "the name.jpg")

    assert response.status_code == 201
    assert response["Content-Type"] == "application/xml"
    xml = ElementTree.fromstring(response.content)
    key = xml.findtext("Key")
    assert key == ticket.key_prefix + "the name.jpg"
    assert xml.findtext("Bucket") == "portal-files"
    assert xml.findtext("ETag").startswith('"')
    assert xml.findtext("Location") == location_for(key)
    assert "%2F" in xml.findtext("Location")
    found = selectors.upload_ticket_for_location(
        account=ticket.account, location=xml.findtext("Location")
    )
    assert found == ticket
    assert default_storage.exists(key)
    ticket.refresh_from_db()
    assert ticket.state == UploadTicket.State.UPLOADED


def test_location_of_another_account_finds_nothing(issue, client, other_account):
    """GIVEN an upload's Location WHEN another account looks it up THEN no ticket."""
    ticket = issue()
    location = location_for(ticket.key_prefix + "x.jpg")
    assert selectors.upload_ticket_for_location(account=other_account, location=location) is None
    s3_style = "https://bucket.s3.amazonaws.com/" + location.rsplit("/", 1)[1]
    assert selectors.upload_ticket_for_location(account=ticket.account, location=s3_style) == ticket


def test_embedded_endpoint_refuses_a_forged_signature(issue, client):
    """GIVEN a ticket WHEN its signature is altered THEN 403 SignatureDoesNotMatch, no object."""
    post = presigned_post_for(issue())
    fields = {**post["fields"], "x-amz-signature": "0" * 64}
    response = post_embedded(client, post, samples.jpeg(), fields=fields)
    assert (response.status_code, error_code(response)) == (403, "SignatureDoesNotMatch")
    assert stored_keys() == []


def test_embedded_endpoint_refuses_an_expired_policy(issue, client):
    """GIVEN an expired ticket WHEN posted THEN 403 AccessDenied 'Policy expired'."""
    ticket = issue()
    post = presigned_post_for(ticket)
    UploadTicket.objects.filter(pk=ticket.pk).update(expires_at=timezone.now())
    # The signed policy itself carries the expiry: rewrite the clock by re-signing an old one.
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    assert policy["expiration"].endswith("Z")
    ticket.expires_at = timezone.now() - dt.timedelta(seconds=1)
    expired = presigned_post_for(ticket)
    response = post_embedded(client, expired, samples.jpeg())
    assert (response.status_code, error_code(response)) == (403, "AccessDenied")
    assert b"Policy expired" in response.content


def test_embedded_endpoint_refuses_a_key_outside_the_prefix(issue, client, other_account):
    """GIVEN a ticket WHEN the key is changed to another account's prefix THEN 403."""
    post = presigned_post_for(issue())
    fields = {
        **post["fields"],
        "key": f"temp/accounts/{other_account.id}/patients/none/{uuid.uuid4()}/${{filename}}",
    }
    response = post_embedded(client, post, samples.jpeg(), fields=fields)
    assert (response.status_code, error_code(response)) == (403, "AccessDenied")
    assert b"starts-with" in response.content
    assert stored_keys() == []


def test_embedded_endpoint_refuses_too_large_and_empty(issue, client):
    """GIVEN a ticket of 1 KB WHEN 2 KB or 0 bytes are posted THEN EntityTooLarge / TooSmall."""
    post = presigned_post_for(issue(max_size=1024))
    too_large = post_embedded(client, post, b"x" * 2048)
    assert (too_large.status_code, error_code(too_large)) == (400, "EntityTooLarge")
    empty = post_embedded(client, post, b"")
    assert (empty.status_code, error_code(empty)) == (400, "EntityTooSmall")
    assert stored_keys() == []


def test_embedded_endpoint_refuses_unsigned_extra_fields(issue, client):
    """GIVEN a ticket WHEN a field the policy does not cover is added THEN 403 AccessDenied."""
    post = presigned_post_for(issue())
    fields = {**post["fields"], "x-amz-meta-owner": "someone"}
    response = post_embedded(client, post, samples.jpeg(), fields=fields)
    assert (response.status_code, error_code(response)) == (403, "AccessDenied")
    assert b"Extra input fields" in response.content


def test_embedded_endpoint_requires_the_file_last(issue, client):
    """GIVEN a ticket WHEN the file comes before the fields THEN S3's 'check the order' error."""
    post = presigned_post_for(issue())
    response = post_embedded(client, post, samples.jpeg(), file_first=True)
    assert (response.status_code, error_code(response)) == (400, "InvalidArgument")
    assert b"order of the fields" in response.content


def test_embedded_endpoint_cleans_a_hostile_file_name(issue, client):
    """GIVEN a browser-sent name with ../, NUL-like controls and an RTL override
    WHEN posted THEN the key's last segment is a safe name under the ticket's prefix."""
    ticket = issue()
    response = post_embedded(
        client, presigned_post_for(ticket), samples.jpeg(), "../../evil\u202egpj.exe"
    )
    assert response.status_code == 201
    key = ElementTree.fromstring(response.content).findtext("Key")
    assert key.startswith(ticket.key_prefix) and ".." not in key and "\u202e" not in key


def test_s3_object_larger_than_its_ticket_is_rejected_by_processing(s3_bucket, issue, process):
    """GIVEN a store that does not enforce POST policies (moto, some S3 look-alikes), simulated
    by writing the oversize object at the ticket's key with the bucket's own credentials
    WHEN the ticket is confirmed and processed THEN processing rejects it by its own size
    check. (SeaweedFS, the suite's store, refuses the POST itself: test_store_policies.py.)"""
    ticket = issue(max_size=1024)
    key = ticket.key_template.replace("${filename}", "big.jpg")
    default_storage.connection.meta.client.put_object(
        Bucket=s3_bucket, Key=key, Body=samples.jpeg((300, 300))
    )
    file = services.upload_ticket_confirm(ticket=ticket, confirmed_by=Actor.system())
    file = process(file)
    assert file.state == File.State.REJECTED
    assert "larger than" in file.rejection_reason


def test_s3_presigned_post_is_sigv4_with_encryption(s3_bucket, issue):
    """GIVEN S3 WHEN a ticket's POST is made THEN it is SigV4, private, encrypted, 201."""
    fields = presigned_post_for(issue(content_type="image/jpeg"))["fields"]
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert fields["x-amz-server-side-encryption"] == "AES256"
    assert (fields["acl"], fields["success_action_status"]) == ("private", "201")
    assert fields["Content-Type"] == "image/jpeg"
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 1, services.settings.FILES_MAX_UPLOAD_BYTES] in policy[
        "conditions"
    ]


def test_confirm_without_upload_fails_and_confirm_is_idempotent(storage_mode, issue, client):
    """GIVEN a ticket WHEN confirmed before any upload THEN UploadMissing; after the upload,
    confirming twice gives the same file."""
    ticket = issue()
    with pytest.raises(services.UploadMissing):
        services.upload_ticket_confirm(ticket=ticket, confirmed_by=Actor.system())
    post_to(client, presigned_post_for(ticket), samples.jpeg())
    first = services.upload_ticket_confirm(
        ticket=ticket, confirmed_by=Actor.system(), description="rash"
    )
    again = services.upload_ticket_confirm(ticket=ticket, confirmed_by=Actor.system())
    assert first.pk == again.pk and first.description == "rash"


def test_confirm_queues_processing_only_after_commit(
    issue, client, django_capture_on_commit_callbacks
):
    """GIVEN an uploaded ticket WHEN confirmed THEN the task is queued on commit, not before."""
    ticket = issue()
    post_embedded(client, presigned_post_for(ticket), samples.jpeg())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.upload_ticket_confirm(ticket=ticket, confirmed_by=Actor.system())
    assert len(callbacks) == 1


# --- The embedded endpoint's policy check: each refusal with S3's code and reason --------


def error_of(response) -> tuple[int, str, str]:
    xml = ElementTree.fromstring(response.content)
    return response.status_code, xml.findtext("Code"), xml.findtext("Message")


def condition_failed(condition: list) -> str:
    return f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}"


FIELD_CHANGES = {
    "algorithm changed": (
        lambda f, t: {**f, "x-amz-algorithm": "AWS4-HMAC-SHA1"},
        (400, "InvalidArgument", "Unsupported x-amz-algorithm."),
    ),
    **{
        f"{name} missing": (
            lambda f, t, name=name: {k: v for k, v in f.items() if k != name},
            (403, "AccessDenied", "Access Denied"),
        )
        for name in ("policy", "x-amz-signature", "x-amz-algorithm", "x-amz-credential")
    },
    "key missing": (
        lambda f, t: {k: v for k, v in f.items() if k != "key"},
        (
            400,
            "InvalidArgument",
            "Bucket POST must contain a field named 'key'.  If it is specified, please check "
            "the order of the fields.",
        ),
    ),
    "acl made public": (
        lambda f, t: {**f, "acl": "public-read"},
        (403, "AccessDenied", condition_failed(["eq", "$acl", "private"])),
    ),
    "success status changed": (
        lambda f, t: {**f, "success_action_status": "200"},
        (403, "AccessDenied", condition_failed(["eq", "$success_action_status", "201"])),
    ),
    "Content-Type changed": (
        lambda f, t: {**f, "Content-Type": "text/html"},
        (403, "AccessDenied", condition_failed(["eq", "$content-type", "image/jpeg"])),
    ),
    "credential of another key": (
        lambda f, t: {**f, "x-amz-credential": "AKIAOTHER" + f["x-amz-credential"][15:]},
        (403, "AccessDenied", None),  # names the credential condition; checked below
    ),
    "key outside the prefix": (
        lambda f, t: {**f, "key": "temp/accounts/0/x.jpg"},
        (403, "AccessDenied", None),
    ),
    "two extra fields": (
        lambda f, t: {**f, "x-amz-meta-b": "1", "x-amz-meta-a": "2"},
        (403, "AccessDenied", "Invalid according to Policy: Extra input fields: x-amz-meta-a"),
    ),
}


@pytest.mark.parametrize("case", FIELD_CHANGES, ids=list(FIELD_CHANGES))
def test_embedded_endpoint_refuses_each_field_its_policy_does_not_allow(case, issue, client):
    """GIVEN a ticket with a content type WHEN one field is changed, dropped or added
    THEN S3's status, code and message for that refusal, and nothing stored."""
    change, (status, code, message) = FIELD_CHANGES[case]
    ticket = issue(content_type="image/jpeg")
    post = presigned_post_for(ticket)

    response = post_embedded(client, post, samples.jpeg(), fields=change(post["fields"], ticket))

    got = error_of(response)
    assert got[:2] == (status, code), got
    if message is not None:
        assert got[2] == message
    elif case == "key outside the prefix":
        assert got[2] == condition_failed(["starts-with", "$key", ticket.key_prefix])
    else:
        assert got[2].startswith(condition_failed(["eq", "$x-amz-credential", ""])[:-3])
    assert stored_keys() == []


def test_embedded_endpoint_ignores_x_ignore_fields(issue, client):
    """GIVEN a ticket WHEN the form carries an ``x-ignore-`` field the policy does not name
    THEN it is stored as S3 would (such fields are ignored, not extra)."""
    post = presigned_post_for(issue())
    fields = {**post["fields"], "x-ignore-tracking": "1"}
    assert post_embedded(client, post, samples.jpeg(), fields=fields).status_code == 201


def resigned(post: dict, policy: dict | str | bytes) -> dict:
    """The ticket's fields with another policy document signed by the portal's own key: the
    endpoint must judge the document itself, not only its signature."""
    from files.tickets.policies import signature_for

    if isinstance(policy, dict):
        policy = json.dumps(policy)
    encoded = policy if isinstance(policy, bytes) else base64.b64encode(policy.encode())
    encoded = encoded.decode()
    return {**post["fields"], "policy": encoded, "x-amz-signature": signature_for(encoded)}


def policy_of(post: dict) -> dict:
    return json.loads(base64.b64decode(post["fields"]["policy"]))


def without(policy: dict, key: str) -> dict:
    return {k: v for k, v in policy.items() if k != key}


def with_conditions(policy: dict, change) -> dict:
    return {**policy, "conditions": change(policy["conditions"])}


MALFORMED = "Invalid Policy: malformed."
BAD_CONDITION = "Invalid Policy: bad condition."
POLICY_DOCUMENTS = {
    "not base64": (lambda p: b"%%%not-base64%%%", MALFORMED),
    "base64 with a stray character": (
        lambda p: (
            base64.b64encode(json.dumps(p).encode())[:8]
            + b"*"
            + base64.b64encode(json.dumps(p).encode())[8:]
        ),
        MALFORMED,
    ),
    "not JSON": (lambda p: "{not json", MALFORMED),
    "no expiration": (lambda p: without(p, "expiration"), MALFORMED),
    "expiration without time": (lambda p: {**p, "expiration": "2099-01-01"}, MALFORMED),
    "no conditions": (lambda p: without(p, "conditions"), MALFORMED),
    "a number as a condition": (lambda p: with_conditions(p, lambda c: [*c, 7]), BAD_CONDITION),
    "a three-letter string as a condition": (
        lambda p: with_conditions(p, lambda c: [*c, "abc"]),
        BAD_CONDITION,
    ),
    "a two-item condition": (
        lambda p: with_conditions(p, lambda c: [*c, ["eq", "$key"]]),
        BAD_CONDITION,
    ),
}


@pytest.mark.parametrize("case", POLICY_DOCUMENTS, ids=list(POLICY_DOCUMENTS))
def test_embedded_endpoint_refuses_a_policy_document_it_cannot_read(case, issue, client):
    """GIVEN a policy document that is not one S3 would read (bad base64, not JSON, no
    expiration or conditions, a condition of no known form), signed with the right key
    WHEN posted THEN 400 InvalidPolicyDocument with its reason, nothing stored."""
    change, message = POLICY_DOCUMENTS[case]
    post = presigned_post_for(issue())

    fields = resigned(post, change(policy_of(post)))
    response = post_embedded(client, post, samples.jpeg(), fields=fields)

    assert error_of(response) == (400, "InvalidPolicyDocument", message)
    assert stored_keys() == []


@pytest.mark.parametrize(
    ("acl", "stored"), [("private", True), ("public-read", False)], ids=["equal", "changed"]
)
def test_embedded_endpoint_checks_the_list_form_of_an_eq_condition(acl, stored, issue, client):
    """GIVEN a policy whose acl condition is written ``["eq", "$acl", "private"]`` (S3's
    other spelling of an exact match) WHEN the acl field matches, or not
    THEN it is stored, or refused naming that condition."""
    post = presigned_post_for(issue())
    policy = with_conditions(
        policy_of(post),
        lambda c: [["eq", "$acl", "private"] if c_ == {"acl": "private"} else c_ for c_ in c],
    )
    fields = {**resigned(post, policy), "acl": acl}

    response = post_embedded(client, post, samples.jpeg(), fields=fields)

    if stored:
        assert response.status_code == 201, response.content
    else:
        assert error_of(response) == (
            403,
            "AccessDenied",
            condition_failed(["eq", "$acl", "private"]),
        )
        assert stored_keys() == []


def test_a_policy_without_a_size_range_takes_an_empty_file_as_s3_does(issue, client):
    """GIVEN a policy with no content-length-range WHEN an empty file is posted THEN it is
    stored (S3 sets no lower bound of its own); the portal's tickets always carry one."""
    post = presigned_post_for(issue())
    policy = with_conditions(
        policy_of(post),
        lambda c: [
            c_ for c_ in c if not (isinstance(c_, list) and c_[0] == "content-length-range")
        ],
    )
    response = post_embedded(client, post, b"", fields=resigned(post, policy))
    assert response.status_code == 201, response.content


# --- The embedded endpoint's form: what it reads before the policy, and how it answers ---


def raw_form(parts: list[tuple[str | None, str | None, bytes]]) -> bytes:
    """A multipart body from (name, filename, bytes) parts; a None name leaves it out."""
    body = b""
    for name, filename, data in parts:
        disposition = "form-data"
        if name is not None:
            disposition += f'; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += data + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def post_raw(client, post: dict, body: bytes, **extra):
    return client.generic(
        "POST",
        urlsplit(post["url"]).path,
        body,
        content_type=extra.pop("content_type", f"multipart/form-data; boundary={BOUNDARY}"),
        **extra,
    )


def field_parts(fields: dict) -> list[tuple[str, None, bytes]]:
    return [(name, None, value.encode()) for name, value in fields.items()]


NOT_A_FORM = (
    412,
    "PreconditionFailed",
    "Bucket POST must be of the enclosure-type multipart/form-data.",
)
NO_LENGTH = (411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
NO_FILE = (400, "InvalidArgument", "POST requires exactly one file upload per request.")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"content_type": "application/json"}, NOT_A_FORM),
        ({"content_type": "multipart/form-data"}, NOT_A_FORM),
        ({"content_type": "text/plain; boundary=" + BOUNDARY}, NOT_A_FORM),
        ({"CONTENT_LENGTH": "0"}, NO_LENGTH),
        ({"CONTENT_LENGTH": ""}, NO_LENGTH),
        ({"CONTENT_LENGTH": "many"}, NO_LENGTH),
        ({"CONTENT_LENGTH": "-5"}, NO_LENGTH),
        ({"CONTENT_LENGTH": "1"}, NO_FILE),
    ],
    ids=[
        "json",
        "no-boundary",
        "not-multipart",
        "length-0",
        "length-empty",
        "length-text",
        "length-negative",
        "length-1",
    ],
)
def test_embedded_endpoint_refuses_a_post_that_is_not_a_form(extra, expected, issue, client):
    """GIVEN a ticket WHEN its fields are posted as something other than a multipart form,
    or with no usable Content-Length THEN S3's status, code and message, nothing stored."""
    post = presigned_post_for(issue())
    body = raw_form([*field_parts(post["fields"]), ("file", "x.jpg", samples.jpeg())])
    assert error_of(post_raw(client, post, body, **extra)) == expected
    assert stored_keys() == []


def test_embedded_endpoint_refuses_a_form_without_a_file(issue, client):
    post = presigned_post_for(issue())
    response = post_raw(client, post, raw_form(field_parts(post["fields"])))
    assert error_of(response) == NO_FILE


@pytest.mark.parametrize(
    "file_part",
    [("file", None), ("FILE", "photo.jpg"), ("upload", "photo.jpg")],
    ids=["named-file-without-filename", "upper-case-name", "other-name-with-filename"],
)
def test_the_file_is_the_part_named_file_or_any_part_with_a_file_name(file_part, issue, client):
    """GIVEN a ticket for a known name WHEN the file comes as a part named ``file`` (even
    without a file name) or as any part carrying a file name THEN it is stored; a part with
    no name at all before it is skipped, as the preamble is."""
    ticket = issue(filename="photo.jpg")
    post = presigned_post_for(ticket)
    name, filename = file_part
    body = raw_form(
        [
            *field_parts(post["fields"]),
            (None, None, b"a part with no name"),
            (name, filename, samples.jpeg()),
        ]
    )
    response = post_raw(client, post, body)
    assert response.status_code == 201, response.content
    assert stored_keys() == [ticket.key_prefix + "photo.jpg"]


def padded(post: dict, count: int, size: int = 1) -> dict:
    """The ticket's fields and ``x-ignore-`` fields (S3 ignores them) up to ``count``
    fields in all, the last of ``size`` bytes."""
    fields = dict(post["fields"])
    for index in range(count - len(fields)):
        fields[f"x-ignore-{index:02d}"] = "p"
    fields[list(fields)[-1]] = (
        "p" * size if list(fields)[-1].startswith("x-ignore") else fields[list(fields)[-1]]
    )
    assert len(fields) == count
    return fields


TOO_LARGE_FIELDS = (
    400,
    "MaxPostPreDataLengthExceeded",
    "Your POST request fields preceding the upload file were too large.",
)


@pytest.mark.parametrize(("count", "stored"), [(30, True), (31, False)])
def test_at_most_thirty_fields_come_before_the_file(count, stored, issue, client):
    """GIVEN a ticket WHEN 30 fields precede the file THEN it is stored; at 31 the post is
    refused before any field is judged against the policy."""
    post = presigned_post_for(issue())
    response = post_embedded(client, post, samples.jpeg(), fields=padded(post, count))
    if stored:
        assert response.status_code == 201, response.content
    else:
        assert error_of(response) == TOO_LARGE_FIELDS
        assert stored_keys() == []


@pytest.mark.parametrize(("size", "stored"), [(20 * 1024, True), (20 * 1024 + 1, False)])
def test_a_field_holds_at_most_20_kib(size, stored, issue, client):
    """GIVEN a ticket WHEN one field before the file is exactly 20 KiB THEN it is stored;
    one byte more and the post is refused."""
    post = presigned_post_for(issue())
    fields = {**post["fields"], "x-ignore-padding": "p" * size}
    response = post_embedded(client, post, samples.jpeg(), fields=fields)
    if stored:
        assert response.status_code == 201, response.content
    else:
        assert error_of(response) == TOO_LARGE_FIELDS


@pytest.mark.parametrize("size", [1, 2, 1023, 1024])
def test_a_ticket_takes_every_size_from_one_byte_to_its_maximum(size, issue, client):
    """GIVEN a ticket of 1 KiB WHEN 1 byte up to exactly 1,024 bytes are posted THEN they
    are stored byte for byte, with S3's ETag (the MD5 of the bytes)."""
    import hashlib

    ticket = issue(max_size=1024, filename="x.bin")
    data = bytes(range(256)) * 4
    response = post_embedded(client, presigned_post_for(ticket), data[:size], "x.bin")
    assert response.status_code == 201, response.content
    assert response["ETag"] == f'"{hashlib.md5(data[:size]).hexdigest()}"'
    with default_storage.open(ticket.key_prefix + "x.bin", "rb") as stored:
        assert stored.read() == data[:size]


def test_one_byte_over_or_nothing_at_all_is_refused_with_the_limits(issue, client):
    """GIVEN a ticket of 1 KiB WHEN 1,025 bytes, or none, are posted THEN EntityTooLarge
    naming the maximum, or EntityTooSmall naming the size and the minimum."""
    post = presigned_post_for(issue(max_size=1024))

    over = ElementTree.fromstring(post_embedded(client, post, b"x" * 1025).content)
    empty = ElementTree.fromstring(post_embedded(client, post, b"").content)

    assert over.findtext("Code") == "EntityTooLarge"
    assert over.findtext("MaxSizeAllowed") == "1024"
    assert empty.findtext("Code") == "EntityTooSmall"
    assert (empty.findtext("ProposedSize"), empty.findtext("MinSizeAllowed")) == ("0", "1")
    assert stored_keys() == []


@pytest.mark.parametrize(
    ("status", "answer"), [("201", 201), ("200", 200), (None, 204)], ids=["201", "200", "none"]
)
def test_embedded_endpoint_answers_with_the_status_its_policy_asks(status, answer, issue, client):
    """GIVEN a policy whose success_action_status is 201, 200 or absent WHEN an upload is
    stored THEN the answer is 201 with S3's XML, an empty 200, or an empty 204, as S3's."""
    ticket = issue(filename="x.jpg")
    post = presigned_post_for(ticket)
    policy = policy_of(post)
    conditions = [c for c in policy["conditions"] if "success_action_status" not in c]
    if status is not None:
        conditions.append({"success_action_status": status})
    fields = resigned(post, {**policy, "conditions": conditions})
    fields.pop("success_action_status")
    if status is not None:
        fields["success_action_status"] = status

    response = post_embedded(client, post, samples.jpeg(), "x.jpg", fields=fields)

    assert response.status_code == answer
    if answer == 201:
        assert (
            ElementTree.fromstring(response.content).findtext("Key") == ticket.key_prefix + "x.jpg"
        )
    else:
        assert response.content == b""
    assert stored_keys() == [ticket.key_prefix + "x.jpg"]


def test_key_length_is_s3s_own_refusal_only_past_1024_bytes(issue, client):
    """GIVEN a ticket WHEN the key is exactly 1,024 bytes (its last segment too long for a
    file name) THEN the segment's reason; at 1,025 bytes S3's KeyTooLongError."""
    ticket = issue()
    post = presigned_post_for(ticket)
    room = 1024 - len(ticket.key_prefix)
    at_limit = post_embedded(
        client, post, b"x", fields={**post["fields"], "key": ticket.key_prefix + "a" * room}
    )
    over = post_embedded(
        client, post, b"x", fields={**post["fields"], "key": ticket.key_prefix + "a" * (room + 1)}
    )

    assert error_of(at_limit) == (
        400,
        "InvalidArgument",
        "The storage key has a path segment longer than 255 bytes.",
    )
    assert error_of(over) == (400, "KeyTooLongError", "Your key is too long.")


def test_a_key_under_the_prefix_but_deeper_belongs_to_no_ticket(issue, client):
    """GIVEN a ticket WHEN the key is its prefix and a deeper path (which the policy's
    starts-with allows) THEN no ticket owns it: 400, nothing stored."""
    ticket = issue()
    post = presigned_post_for(ticket)
    response = post_embedded(
        client, post, b"x", fields={**post["fields"], "key": ticket.key_prefix + "a/x.jpg"}
    )
    assert error_of(response) == (
        400,
        "InvalidArgument",
        "The storage key does not belong to an upload ticket.",
    )
    assert stored_keys() == []


def test_a_ticket_that_no_longer_exists_stores_nothing(issue, client):
    """GIVEN a ticket's signed fields WHEN the ticket was deleted since (swept) THEN 400
    'does not belong to an upload ticket', nothing stored."""
    ticket = issue()
    post = presigned_post_for(ticket)
    UploadTicket.objects.filter(pk=ticket.pk).delete()
    response = post_embedded(client, post, samples.jpeg())
    assert error_of(response) == (
        400,
        "InvalidArgument",
        "The storage key does not belong to an upload ticket.",
    )
    assert stored_keys() == []


def test_a_used_ticket_is_refused_saying_one_ticket_stores_one_file(issue, client):
    ticket = issue(filename="x.jpg")
    post = presigned_post_for(ticket)
    assert post_embedded(client, post, samples.jpeg(), "x.jpg").status_code == 201
    again = post_embedded(client, post, b"other bytes", "x.jpg")
    assert error_of(again) == (
        403,
        "AccessDenied",
        "This upload ticket has already been used: one ticket stores one file. Ask for a new "
        "upload ticket to send another file.",
    )
    with default_storage.open(ticket.key_prefix + "x.jpg", "rb") as stored:
        assert stored.read() == samples.jpeg()


def test_a_form_part_with_oversized_headers_is_malformed(issue, client):
    """GIVEN a ticket WHEN a part before the file carries more than the parser's header
    limit THEN S3's MalformedPOSTRequest, nothing stored."""
    post = presigned_post_for(issue())
    body = raw_form(field_parts(post["fields"])).removesuffix(f"--{BOUNDARY}--\r\n".encode())
    body += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="x-ignore-a"\r\n'
        f"X-Pad: {'p' * 2000}\r\n\r\nv\r\n"
    ).encode()
    body += raw_form([("file", "x.jpg", samples.jpeg())])
    assert error_of(post_raw(client, post, body)) == (
        400,
        "MalformedPOSTRequest",
        "The body of your POST request is not well-formed multipart/form-data.",
    )
    assert stored_keys() == []
