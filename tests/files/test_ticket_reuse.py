"""One ticket, one object: reuse, sub-paths, sweeps and parked bytes.

A ticket let its holder store any number of objects under any sub-path of its prefix
for fifteen minutes, and the stale sweep listed only the top level, so sub-path
objects stayed forever. Now: the embedded endpoint refuses a second POST and any key
deeper than the prefix and one name; tickets whose name is known sign an exact
``key`` (S3 then refuses any other key); Cliniko's ``${filename}`` tickets can only be
``starts-with`` on S3, so the portal itself confirms one object and its sweep
removes, recursively, what a ticket may not hold; and the bytes that wait
unconfirmed are counted per request and per patient.

S3 tests here hold on a server that enforces POST policies (SeaweedFS) and on one
that does not (moto): where the server may refuse, either answer is allowed and
only the outcome is judged.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test.client import encode_multipart
from django.utils import timezone

from files import quota, services
from files.models import File, UploadTicket
from files.pipeline.sweeps import stale_upload_sweep
from files.tickets.policies import presigned_post_for
from portal.audit.services import Actor
from tests.factories import FileRequestFactory, PatientFactory
from tests.files import samples
from tests.support.multipart import NamedBytes

pytestmark = pytest.mark.django_db
BOUNDARY = "TicketReuseBoundary"
FIRST, SECOND = b"first photo bytes", b"second, parked bytes"


def post(client, ticket_post: dict, data: bytes, *, name="a.jpg", key=None):
    """Post as a client would: to the embedded endpoint or to the S3 server."""
    fields = dict(ticket_post["fields"])
    if key is not None:
        fields["key"] = key
    if urlsplit(ticket_post["url"]).path.startswith("/storage/"):
        body = encode_multipart(BOUNDARY, {**fields, "file": NamedBytes(name, data)})
        return client.generic(
            "POST",
            urlsplit(ticket_post["url"]).path,
            body,
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
        )
    return requests.post(ticket_post["url"], data=fields, files={"file": (name, data)}, timeout=30)


def stored_under(prefix: str) -> list[str]:
    """Every object under ``prefix``, listed by the test itself (raw S3 listing, or walking
    the folder), not by the code under test."""
    if hasattr(default_storage, "bucket_name"):
        client = default_storage.connection.meta.client
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=default_storage.bucket_name, Prefix=prefix
        )
        return sorted(entry["Key"] for page in pages for entry in page.get("Contents", []))
    root = Path(default_storage.location) / prefix
    return sorted(
        prefix + path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()
    )


def read(key: str) -> bytes:
    with default_storage.open(key, "rb") as stored:
        return stored.read()


def expire(ticket, *, seconds_ago: int) -> None:
    UploadTicket.objects.filter(pk=ticket.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=seconds_ago)
    )


SECOND_POSTS = [
    ("same-name", lambda prefix: None, "a.jpg"),
    ("another-name", lambda prefix: None, "b.jpg"),
    ("sub-path", lambda prefix: prefix + "sub/b.jpg", "b.jpg"),
    ("deep-sub-path", lambda prefix: prefix + "a/b/c/d.jpg", "b.jpg"),
]


@pytest.mark.parametrize(
    "second_key,second_name", [p[1:] for p in SECOND_POSTS], ids=[p[0] for p in SECOND_POSTS]
)
@pytest.mark.parametrize("exact_key", [False, True], ids=["filename-ticket", "exact-key-ticket"])
def test_embedded_endpoint_stores_one_object_per_ticket(
    issue, client, second_key, second_name, exact_key
):
    """GIVEN a ticket already used for one photo (a ${filename} ticket and an exact-key one)
    WHEN its fields are posted again, with the same name, another name or a sub-path
    THEN S3-style XML 400/403, the first object is untouched and is the only one."""
    ticket = issue(filename="a.jpg") if exact_key else issue()
    ticket_post = presigned_post_for(ticket)
    first = post(client, ticket_post, FIRST)
    assert first.status_code == 201, first.content
    first_key = ElementTree.fromstring(first.content).findtext("Key")

    again = post(client, ticket_post, SECOND, name=second_name, key=second_key(ticket.key_prefix))

    assert again.status_code in (400, 403), again.content
    assert ElementTree.fromstring(again.content).findtext("Code") in {
        "AccessDenied",
        "InvalidArgument",
    }
    assert read(first_key) == FIRST
    assert stored_under(ticket.key_prefix) == [first_key]


def test_embedded_endpoint_refuses_a_ticket_after_its_confirm(issue, client, process):
    """GIVEN a ticket whose photo was confirmed and processed WHEN its fields are posted
    again THEN refused: a confirmed ticket is not a way to park bytes."""
    ticket = issue()
    ticket_post = presigned_post_for(ticket)
    assert post(client, ticket_post, samples.jpeg()).status_code == 201
    process(services.upload_ticket_confirm(ticket=ticket, confirmed_by=Actor.system()))

    again = post(client, ticket_post, SECOND)

    assert again.status_code == 403
    assert b"already been used" in again.content
    assert stored_under(ticket.key_prefix) == []


def test_a_ticket_with_a_known_name_signs_an_exact_key_on_both_storages(storage_mode, issue):
    """GIVEN a ticket whose file name is known (Medable, the patient page) WHEN its policy is
    signed THEN the key condition is exact, so an enforcing S3 stores one object per ticket."""
    ticket = issue(filename="IMG 1.JPG")
    fields = presigned_post_for(ticket)["fields"]
    conditions = json.loads(base64.b64decode(fields["policy"]))["conditions"]
    assert {"key": ticket.key_prefix + "IMG 1.JPG"} in conditions
    assert not any(isinstance(c, list) and "$key" in c for c in conditions)
    assert fields["key"] == ticket.key_prefix + "IMG 1.JPG"


def test_s3_filename_ticket_extra_objects_never_become_files_and_are_swept(
    s3_bucket, issue, client, settings
):
    """GIVEN S3 and a ${filename} ticket (Cliniko's; only starts-with is possible) whose holder
    posted a photo, a second object and sub-path objects
    WHEN it is confirmed without naming the object THEN refused (which one is meant?);
    named THEN one file; and once its policy has expired the sweep leaves only that
    file's object, sub-paths included."""
    ticket = issue()
    ticket_post = presigned_post_for(ticket)
    assert post(client, ticket_post, FIRST, name="a.jpg").status_code in (200, 201, 204)
    chosen = ticket.key_prefix + "a.jpg"
    for key, name in ((None, "b.jpg"), (ticket.key_prefix + "sub/c.jpg", "c.jpg")):
        post(client, ticket_post, SECOND, name=name, key=key)  # stored or refused: both fine
    extras = [key for key in stored_under(ticket.key_prefix) if key != chosen]

    if extras and any("/" not in key[len(ticket.key_prefix) :] for key in extras):
        with pytest.raises(services.UploadMissing, match="More than one file"):
            services.upload_ticket_confirm(ticket=ticket, confirmed_by=Actor.system())
    file = services.upload_ticket_confirm(ticket=ticket, confirmed_by=Actor.system(), key=chosen)
    assert file.temp_key == chosen

    expire(ticket, seconds_ago=settings.FILES_TICKET_SETTLE_SECONDS + 1)
    stale_upload_sweep()

    assert stored_under(ticket.key_prefix) == [chosen]
    assert read(chosen) == FIRST
    ticket.refresh_from_db()
    assert ticket.swept_at is not None


def test_sweep_is_recursive_on_both_storages(storage_mode, issue, settings):
    """GIVEN an unconfirmed ticket whose prefix holds objects at several depths (written with
    the bucket's own credentials: what a non-enforcing S3 would have accepted)
    WHEN its policy has expired THEN the sweep removes the sub-path objects at once and
    measures the rest; after the grace THEN nothing is left and the ticket is abandoned."""
    ticket = issue()
    top = ticket.key_prefix + "a.jpg"
    for key in (top, ticket.key_prefix + "sub/b.jpg", ticket.key_prefix + "x/y/z/c.jpg"):
        default_storage.save(key, ContentFile(FIRST))

    expire(ticket, seconds_ago=settings.FILES_TICKET_SETTLE_SECONDS + 1)
    stale_upload_sweep()

    assert stored_under(ticket.key_prefix) == [top]
    ticket.refresh_from_db()
    assert (ticket.state, ticket.uploaded_size) == (UploadTicket.State.ISSUED, len(FIRST))

    expire(ticket, seconds_ago=settings.FILES_STALE_TICKET_GRACE_SECONDS + 1)
    counts = stale_upload_sweep()

    assert stored_under(ticket.key_prefix) == []
    ticket.refresh_from_db()
    assert ticket.state == UploadTicket.State.ABANDONED and ticket.swept_at is not None
    assert counts["abandoned"] == 1


def test_confirmed_ticket_keeps_only_its_file_after_the_sweep(storage_mode, issue, client):
    """GIVEN a confirmed ticket whose file is still pending, with an object slipped in beside
    it WHEN the sweep runs after its policy expired THEN only the file's object stays."""
    ticket = issue()
    default_storage.save(ticket.key_prefix + "a.jpg", ContentFile(FIRST))
    file = services.upload_ticket_confirm(ticket=ticket, confirmed_by=Actor.system())
    default_storage.save(ticket.key_prefix + "later/b.jpg", ContentFile(SECOND))

    expire(ticket, seconds_ago=24 * 3600)
    stale_upload_sweep()

    assert stored_under(ticket.key_prefix) == [file.temp_key]
    assert File.objects.get(pk=file.pk).temp_key == file.temp_key


# --- Unconfirmed bytes: per request and per patient -----------------------------------


def test_unconfirmed_bytes_are_limited_per_patient(issue, account, patient, settings):
    """GIVEN a per-patient limit of 3,000 unconfirmed bytes WHEN tickets of 1,000 bytes are
    issued THEN the fourth is refused with a message that says how much waits and how to
    make room; another patient is not affected; a confirmed ticket frees its room."""
    settings.FILES_UNCONFIRMED_MAX_BYTES_PER_PATIENT = 3000
    tickets = [issue(max_size=1000) for _ in range(3)]

    with pytest.raises(quota.UnconfirmedBytesExceeded) as refused:
        issue(max_size=1000)
    assert "3,000 bytes" in refused.value.message and "waiting" in refused.value.message
    assert UploadTicket.objects.filter(patient=patient).count() == 3

    other = PatientFactory(account=account)
    services.upload_ticket_issue(
        account=account, patient=other, purpose="photo", issued_by=Actor.system(), max_size=1000
    )

    default_storage.save(tickets[0].key_prefix + "a.jpg", ContentFile(FIRST))
    services.upload_ticket_confirm(ticket=tickets[0], confirmed_by=Actor.system())
    issue(max_size=1000)


def test_an_expired_ticket_counts_what_it_holds_once_swept(issue, settings):
    """GIVEN the patient's room full of tickets WHEN they expire unused and the sweep has
    measured them THEN their room is free again (nothing arrived); until then it is not."""
    settings.FILES_UNCONFIRMED_MAX_BYTES_PER_PATIENT = 2000
    tickets = [issue(max_size=1000) for _ in range(2)]
    for ticket in tickets:
        expire(ticket, seconds_ago=1)
    with pytest.raises(quota.UnconfirmedBytesExceeded):
        issue(max_size=1000)

    for ticket in tickets:
        expire(ticket, seconds_ago=settings.FILES_TICKET_SETTLE_SECONDS + 1)
    stale_upload_sweep()

    issue(max_size=1000)


def test_s3_bytes_parked_beside_a_ticket_count_once_measured(s3_bucket, issue, settings):
    """GIVEN S3 (which tells the portal nothing) and an expired ticket whose prefix holds
    more than its size range WHEN the sweep has measured it THEN those bytes count until
    the ticket is confirmed or abandoned."""
    settings.FILES_UNCONFIRMED_MAX_BYTES_PER_PATIENT = 3000
    ticket = issue(max_size=1000)
    default_storage.save(ticket.key_prefix + "a.jpg", ContentFile(b"x" * 2500))
    expire(ticket, seconds_ago=settings.FILES_TICKET_SETTLE_SECONDS + 1)
    stale_upload_sweep()

    with pytest.raises(quota.UnconfirmedBytesExceeded):
        issue(max_size=1000)


def verified_patient_client(file_request):
    from django.test import Client

    client = Client()
    response = client.post(
        f"/r/{file_request.short_link_id}", {"day": "17", "month": "6", "year": "1980"}
    )
    assert response.status_code == 302
    return client


def test_patient_page_cannot_park_more_than_the_request_allows(account, settings):
    """GIVEN a per-request limit of 2,500 unconfirmed bytes WHEN the patient page asks for
    tickets of 1,000 bytes and never confirms them THEN the third is refused with 429 and a
    sentence a patient can act on."""
    settings.FILES_UNCONFIRMED_MAX_BYTES_PER_REQUEST = 2500
    patient = PatientFactory(account=account, date_of_birth=dt.date(1980, 6, 17))
    file_request = FileRequestFactory(account=account, patient=patient)
    client = verified_patient_client(file_request)
    csrf = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}

    def ask():
        return client.post(
            "/r/upload/ticket",
            {"size": 1000, "name": "IMG_1.JPG"},
            content_type="application/json",
            **csrf,
        )

    assert ask().status_code == 200
    assert ask().status_code == 200
    refused = ask()
    assert refused.status_code == 429
    assert "Wait a few minutes" in refused.json()["error"]


def test_patient_page_tickets_carry_the_photo_name_as_an_exact_key(account, storage_mode):
    """GIVEN the patient page WHEN it asks for a ticket for IMG_1.JPG THEN the key is exact
    (one object per ticket on S3 too) and carries the photo's name."""
    patient = PatientFactory(account=account, date_of_birth=dt.date(1980, 6, 17))
    file_request = FileRequestFactory(account=account, patient=patient)
    client = verified_patient_client(file_request)
    csrf = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}
    ticket = client.post(
        "/r/upload/ticket",
        {"size": 1000, "name": "IMG_1.JPG"},
        content_type="application/json",
        **csrf,
    ).json()
    fields = dict(ticket["fields"])
    assert fields["key"].endswith("/IMG_1.JPG") and "${filename}" not in fields["key"]
    conditions = json.loads(base64.b64decode(fields["policy"]))["conditions"]
    assert {"key": fields["key"]} in conditions


@pytest.mark.django_db(transaction=True)
def test_two_posts_racing_with_one_ticket_store_one_object(account, patient):
    """GIVEN one ticket WHEN two clients post with it at the same moment THEN exactly one
    is stored (201) and the other refused (403): the ticket is claimed by a conditional
    update before the bytes are written."""
    import threading

    from django.db import connection
    from django.test import Client

    ticket = services.upload_ticket_issue(
        account=account, patient=patient, purpose="photo", issued_by=Actor.system()
    )
    ticket_post = presigned_post_for(ticket)
    start = threading.Barrier(2)
    answers = []

    def send(name: str, data: bytes) -> None:
        try:
            start.wait(timeout=30)
            answers.append(post(Client(), ticket_post, data, name=name).status_code)
        finally:
            connection.close()

    racers = [
        threading.Thread(target=send, args=("a.jpg", FIRST)),
        threading.Thread(target=send, args=("b.jpg", SECOND)),
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=60)

    assert sorted(answers) == [201, 403]
    kept = stored_under(ticket.key_prefix)
    assert len(kept) == 1 and read(kept[0]) in (FIRST, SECOND)
    ticket.refresh_from_db()
    assert ticket.state == UploadTicket.State.UPLOADED and ticket.uploaded_key == kept[0]
