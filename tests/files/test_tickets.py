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
from files.tickets import location_for
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from tests.files import samples
from tests.files.conftest import stored_keys

pytestmark = pytest.mark.django_db
BOUNDARY = "PortalTestBoundary"


class NamedBytes:
    """A file part for Django's multipart encoder."""

    def __init__(self, name: str, data: bytes):
        self.name, self.data = name, data

    def read(self):
        return self.data


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
    post = ticket.presigned_post()
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
    response = post_embedded(client, ticket.presigned_post(), samples.jpeg(), "the name.jpg")

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
    post = issue().presigned_post()
    fields = {**post["fields"], "x-amz-signature": "0" * 64}
    response = post_embedded(client, post, samples.jpeg(), fields=fields)
    assert (response.status_code, error_code(response)) == (403, "SignatureDoesNotMatch")
    assert stored_keys() == []


def test_embedded_endpoint_refuses_an_expired_policy(issue, client):
    """GIVEN an expired ticket WHEN posted THEN 403 AccessDenied 'Policy expired'."""
    ticket = issue()
    post = ticket.presigned_post()
    UploadTicket.objects.filter(pk=ticket.pk).update(expires_at=timezone.now())
    # The signed policy itself carries the expiry: rewrite the clock by re-signing an old one.
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    assert policy["expiration"].endswith("Z")
    ticket.expires_at = timezone.now() - dt.timedelta(seconds=1)
    expired = ticket.presigned_post()
    response = post_embedded(client, expired, samples.jpeg())
    assert (response.status_code, error_code(response)) == (403, "AccessDenied")
    assert b"Policy expired" in response.content


def test_embedded_endpoint_refuses_a_key_outside_the_prefix(issue, client, other_account):
    """GIVEN a ticket WHEN the key is changed to another account's prefix THEN 403."""
    post = issue().presigned_post()
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
    post = issue(max_size=1024).presigned_post()
    too_large = post_embedded(client, post, b"x" * 2048)
    assert (too_large.status_code, error_code(too_large)) == (400, "EntityTooLarge")
    empty = post_embedded(client, post, b"")
    assert (empty.status_code, error_code(empty)) == (400, "EntityTooSmall")
    assert stored_keys() == []


def test_embedded_endpoint_refuses_unsigned_extra_fields(issue, client):
    """GIVEN a ticket WHEN a field the policy does not cover is added THEN 403 AccessDenied."""
    post = issue().presigned_post()
    fields = {**post["fields"], "x-amz-meta-owner": "someone"}
    response = post_embedded(client, post, samples.jpeg(), fields=fields)
    assert (response.status_code, error_code(response)) == (403, "AccessDenied")
    assert b"Extra input fields" in response.content


def test_embedded_endpoint_requires_the_file_last(issue, client):
    """GIVEN a ticket WHEN the file comes before the fields THEN S3's 'check the order' error."""
    post = issue().presigned_post()
    response = post_embedded(client, post, samples.jpeg(), file_first=True)
    assert (response.status_code, error_code(response)) == (400, "InvalidArgument")
    assert b"order of the fields" in response.content


def test_embedded_endpoint_cleans_a_hostile_file_name(issue, client):
    """GIVEN a browser-sent name with ../, NUL-like controls and an RTL override
    WHEN posted THEN the key's last segment is a safe name under the ticket's prefix."""
    ticket = issue()
    response = post_embedded(
        client, ticket.presigned_post(), samples.jpeg(), "../../evil\u202egpj.exe"
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
    fields = issue(content_type="image/jpeg").presigned_post()["fields"]
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
    post_to(client, ticket.presigned_post(), samples.jpeg())
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
    post_embedded(client, ticket.presigned_post(), samples.jpeg())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.upload_ticket_confirm(ticket=ticket, confirmed_by=Actor.system())
    assert len(callbacks) == 1
