"""A cancelled or expired file request takes no files through any door.

X-on's ``POST /v1/files`` answered 201 for an expired request (only a cancelled one
answered 409), and an upload ticket issued a minute before the link lapsed could
still carry a photo for its full fifteen minutes. Each door now refuses with its own
dialect's error: X-on's 409 error shape, S3's XML from the embedded storage endpoint,
and a ticket whose signed policy never outlives the request's link.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from django.test import Client
from django.utils import timezone

from filerequests.models import FileRequest
from files.models import File
from tests.factories import FileRequestFactory, PatientFactory
from tests.files import samples
from tests.files.conftest import stored_keys

pytestmark = pytest.mark.django_db
DOB = dt.date(1980, 6, 17)


@pytest.fixture
def file_request(account):
    patient = PatientFactory(account=account, date_of_birth=DOB)
    return FileRequestFactory(account=account, patient=patient)


def xon_body(file_request) -> dict:
    return {
        "files": [
            {
                "name": "IMG_1.JPG",
                "description": None,
                "type": "image/jpeg",
                "contents": base64.b64encode(samples.jpeg()).decode(),
            }
        ],
        "userId": str(file_request.patient_id),
        "fileRequestId": str(file_request.id),
    }


def make_expired_by_status(file_request):
    FileRequest.objects.filter(pk=file_request.pk).update(
        status=FileRequest.Status.EXPIRED, expired_at=timezone.now()
    )


def make_link_lapsed(file_request):
    # The link has passed its expiry; the sweep has not marked the request yet.
    FileRequest.objects.filter(pk=file_request.pk).update(
        short_link_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )


def make_answered_then_lapsed(file_request):
    FileRequest.objects.filter(pk=file_request.pk).update(
        status=FileRequest.Status.ANSWERED,
        short_link_expires_at=timezone.now() - dt.timedelta(seconds=1),
    )


def make_cancelled(file_request):
    FileRequest.objects.filter(pk=file_request.pk).update(
        status=FileRequest.Status.CANCELLED, cancelled_at=timezone.now()
    )


CLOSINGS = [
    ("expired", make_expired_by_status, "expired"),
    ("link-lapsed-not-yet-swept", make_link_lapsed, "expired"),
    ("answered-then-lapsed", make_answered_then_lapsed, "expired"),
    ("cancelled", make_cancelled, "cancelled"),
]


@pytest.mark.parametrize("close,word", [c[1:] for c in CLOSINGS], ids=[c[0] for c in CLOSINGS])
def test_xon_upload_to_a_closed_request_is_409_and_stores_nothing(api, file_request, close, word):
    """GIVEN a file request that was cancelled, expired, or whose link lapsed before the
    sweep marked it WHEN X-on's POST /v1/files names it THEN 409 in the API's error shape
    saying why, no File row and no stored object."""
    close(file_request)

    response = api.post("/api/v1/files", xon_body(file_request), format="json")

    assert response.status_code == 409, response.content
    assert word in response.json()["error"]
    assert File.objects.count() == 0
    assert stored_keys() == []


def test_xon_upload_to_an_open_answered_request_is_still_201(api, file_request):
    """GIVEN an answered request whose link is still open (the control) WHEN X-on posts
    for it THEN 201: only closed requests are refused."""
    FileRequest.objects.filter(pk=file_request.pk).update(status=FileRequest.Status.ANSWERED)
    response = api.post("/api/v1/files", xon_body(file_request), format="json")
    assert response.status_code == 201, response.content


def verified_client(file_request) -> Client:
    client = Client()
    response = client.post(
        f"/r/{file_request.short_link_id}", {"day": "17", "month": "6", "year": "1980"}
    )
    assert response.status_code == 302
    return client


def patient_ticket(client: Client) -> dict:
    csrf = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}
    response = client.post(
        "/r/upload/ticket",
        {"size": len(samples.jpeg()), "name": "IMG_1.JPG"},
        content_type="application/json",
        **csrf,
    )
    assert response.status_code == 200, response.content
    return response.json()


def policy_expiration(fields: dict) -> dt.datetime:
    policy = json.loads(base64.b64decode(fields["policy"]))
    return dt.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))


def test_a_ticket_issued_just_before_the_link_lapses_expires_with_it(storage_mode, file_request):
    """GIVEN a request whose link lapses in 90 seconds WHEN the patient page asks for a
    ticket THEN its signed policy (what S3 and the embedded endpoint enforce) expires with
    the link, not fifteen minutes later."""
    link_expiry = timezone.now() + dt.timedelta(seconds=90)
    client = verified_client(file_request)
    FileRequest.objects.filter(pk=file_request.pk).update(short_link_expires_at=link_expiry)

    ticket = patient_ticket(client)

    expiration = policy_expiration(dict(ticket["fields"]))
    assert expiration <= link_expiry + dt.timedelta(seconds=1)


@pytest.mark.parametrize("close,word", [c[1:] for c in CLOSINGS], ids=[c[0] for c in CLOSINGS])
def test_embedded_storage_refuses_a_ticket_of_a_request_closed_since(file_request, close, word):
    """GIVEN a ticket the patient page issued while the request was open
    WHEN the request is cancelled or expires and the photo is posted afterwards
    THEN the embedded storage endpoint answers S3's 403 AccessDenied XML saying why,
    and stores nothing."""
    client = verified_client(file_request)
    ticket = patient_ticket(client)
    close(file_request)

    fields = dict(ticket["fields"])
    fields["file"] = io.BytesIO(samples.jpeg())
    fields["file"].name = "IMG_1.JPG"
    response = client.post(urlsplit(ticket["url"]).path, fields)

    assert response.status_code == 403, response.content
    error = ElementTree.fromstring(response.content)
    assert error.findtext("Code") == "AccessDenied"
    assert word in error.findtext("Message")
    assert stored_keys() == []


def test_whether_a_request_is_closed_is_judged_at_the_moment_asked(file_request):
    """GIVEN a request whose link lapses in an hour WHEN asked as of now, of the moment it
    lapses and of an hour after THEN open, then expired with its reason."""
    from filerequests.answering import file_request_closed_reason

    now = timezone.now()
    lapses = now + dt.timedelta(hours=1)
    FileRequest.objects.filter(pk=file_request.pk).update(short_link_expires_at=lapses)
    file_request.refresh_from_db()

    assert file_request_closed_reason(file_request, now=now) is None
    expired = "This file request has expired; it accepts no more files."
    assert file_request_closed_reason(file_request, now=lapses) == expired
    assert file_request_closed_reason(file_request, now=lapses + dt.timedelta(hours=1)) == expired


@pytest.mark.parametrize(
    ("link_left", "seconds"),
    [
        (None, 900),
        (dt.timedelta(hours=2), 900),
        (dt.timedelta(seconds=900), 900),
        (dt.timedelta(seconds=90), 90),
        (dt.timedelta(seconds=1), 1),
        (dt.timedelta(0), 0),
        (dt.timedelta(seconds=-1), 0),
        (dt.timedelta(days=-3), 0),
    ],
    ids=["no-expiry", "later", "exactly-the-usual", "90s", "1s", "now", "1s-ago", "days-ago"],
)
def test_an_upload_ticket_never_outlives_its_requests_link(
    file_request, settings, link_left, seconds
):
    """GIVEN a request whose link lapses at some moment (or never) WHEN a ticket's time is
    asked THEN the usual 15 minutes at most, never past the link, and 0 (none may be
    issued) once it has lapsed, however long ago."""
    from filerequests.answering import upload_ticket_seconds

    settings.FILES_UPLOAD_TICKET_SECONDS = 900
    now = timezone.now()
    file_request.short_link_expires_at = None if link_left is None else now + link_left
    assert upload_ticket_seconds(file_request, now=now) == seconds
