"""Retention and stale-upload sweeps; safe names and Content-Disposition."""

from __future__ import annotations

import datetime as dt
from base64 import b64encode

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from files.models import File, UploadTicket
from files.names import safe_filename
from files.pipeline.sweeps import retention_sweep, stale_upload_sweep
from files.services import upload_ticket_issue
from files.serving.respond import content_disposition
from portal.audit.services import Actor
from tests.files import samples
from tests.files.conftest import stored_keys

pytestmark = pytest.mark.django_db


def test_retention_sweep_removes_bytes_of_long_expired_files(
    storage_mode, upload, process, settings
):
    """GIVEN a ready file expired longer ago than the retention period, and one expired today
    WHEN the retention sweep runs THEN only the old one's objects go; its row stays (purged)."""
    settings.FILES_RETENTION_DAYS = 30
    old, recent = process(upload(samples.jpeg())), process(upload(samples.jpeg()))
    File.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(days=31))
    File.objects.filter(pk=recent.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))

    assert retention_sweep() == 1

    old.refresh_from_db()
    assert old.purged_at is not None
    assert stored_keys(old.permanent_prefix) == []
    assert stored_keys(recent.permanent_prefix) != []
    assert retention_sweep() == 0


def test_stale_upload_sweep_removes_never_confirmed_uploads(
    storage_mode, account, patient, client, settings
):
    """GIVEN a ticket uploaded to but never confirmed, past its expiry and grace
    WHEN the sweep runs THEN its object is removed and the ticket is abandoned."""
    from django.core.files.base import ContentFile

    ticket = upload_ticket_issue(
        account=account, patient=patient, purpose="photo", issued_by=Actor.system()
    )
    default_storage.save(ticket.key_prefix + "x.jpg", ContentFile(samples.jpeg()))
    UploadTicket.objects.filter(pk=ticket.pk).update(
        expires_at=timezone.now()
        - dt.timedelta(seconds=settings.FILES_STALE_TICKET_GRACE_SECONDS + 1)
    )
    counts = stale_upload_sweep()
    ticket.refresh_from_db()
    assert counts["abandoned"] == 1 and ticket.state == UploadTicket.State.ABANDONED
    assert stored_keys() == []


def test_stale_upload_sweep_requeues_stuck_files(
    upload, django_capture_on_commit_callbacks, settings
):
    """GIVEN a file pending for longer than the re-queue delay (its message was lost)
    WHEN the sweep runs THEN its processing is queued again, after commit."""
    file = upload(samples.jpeg())
    File.objects.filter(pk=file.pk).update(
        created_at=timezone.now()
        - dt.timedelta(seconds=settings.FILES_REQUEUE_PENDING_AFTER_SECONDS + 1)
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        counts = stale_upload_sweep()
    assert counts["requeued"] == 1 and len(callbacks) == 1


@pytest.mark.parametrize(
    "name,expected",
    [
        ("../../x.jpg", "x.jpg"),
        ("a\x00b.jpg", "a b.jpg"),
        ("\u202eexe.jpg", "exe.jpg"),
        ("NUL", "_NUL"),
        ("com1.txt", "_com1.txt"),
        ("...", "upload"),
        ("", "upload"),
        ("x" * 10_000, "x" * 150),
    ],
)
def test_safe_filename(name, expected):
    """GIVEN a hostile name WHEN made safe THEN path, controls, overrides and devices are gone."""
    assert safe_filename(name) == expected


def test_content_disposition_for_any_name():
    """GIVEN names with quotes, backslashes and non-ASCII WHEN sent as Content-Disposition
    THEN the quoted fallback is plain ASCII and the UTF-8 form carries the real name."""
    header = content_disposition('Zoë "rash" ½.jpg', "image/jpeg")
    assert header.startswith('attachment; filename="Zo _rash_ .jpg"')
    assert "filename*=UTF-8''Zo%C3%AB%20_rash_%20%C2%BD.jpg" in header
    assert content_disposition("IMG_1.HEIC", "image/jpeg").endswith("IMG_1.jpg")
    assert all(ord(c) < 128 for c in header)


@pytest.mark.parametrize(
    "given",
    [
        "Scan  2024-05-01.jpg",
        "  leading and trailing  .jpg",
        "../../etc/passwd.jpg",
        "evil\u202egnp.jpg",
        "tab\there.jpg",
        "CON.jpg",
        "名前 の 写真.jpg",
    ],
)
def test_names_are_kept_as_given_and_made_safe_where_used(api, patient, process, given):
    """GIVEN an X-on upload whose name has runs of spaces, path parts, controls or a
    bidirectional override WHEN it is stored THEN originalName comes back exactly as
    given (a client matches its files by name), while the storage key, the download's
    Content-Disposition and what staff see use the safe form."""
    body = {
        "files": [
            {"name": given, "type": "image/jpeg", "contents": b64encode(samples.jpeg()).decode()}
        ],
        "userId": str(patient.id),
    }
    response = api.post("/api/v1/files", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()[0]["originalName"] == given
    file = process(File.objects.get(pk=response.json()[0]["id"]))
    assert api.get(f"/api/v1/files/{file.pk}/metadata").json()["originalName"] == given
    assert file.display_name == safe_filename(given)
    for key in [file.temp_key, *file.facets.values_list("storage_key", flat=True)]:
        assert ".." not in key and "\u202e" not in key and "\t" not in key
    disposition = api.get(f"/api/v1/files/{file.pk}")["Content-Disposition"]
    assert "\u202e" not in disposition and "/" not in disposition.split(";")[1]


def test_a_nul_in_a_name_is_a_clear_400_and_nothing_is_stored(api, patient):
    contents = b64encode(samples.jpeg()).decode()
    body = {
        "files": [{"name": "a\x00b.jpg", "type": "image/jpeg", "contents": contents}],
        "userId": str(patient.id),
    }
    response = api.post("/api/v1/files", body, format="json")
    assert response.status_code == 400
    assert "Null characters" in response.json()["fields"]["files.0.name"][0]
    assert not File.objects.exists()
