"""Unchecked uploads wait under one top-level prefix, ``temp/``, so a bucket lifecycle rule
(whose filters match only a key's start) can expire what is abandoned there. Uploads made
under the layout before it (``accounts/<a>/patients/<p>/temp/<token>/``), or with a ticket
issued before an upgrade, are still found, confined to their account and processed."""

from __future__ import annotations

import io
import uuid
from urllib.parse import quote

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from files import selectors, services
from files.models import TEMP_ROOT, File, temp_prefix
from files.tickets.policies import presigned_post_for
from portal.audit.services import Actor
from tests.factories import PatientFactory
from tests.files import samples
from tests.files.conftest import stored_keys
from tests.files.test_tickets import post_to

pytestmark = pytest.mark.django_db


def legacy_prefix(*, account_id, patient_id, token) -> str:
    """Where a temporary upload waited before ``temp/`` (the layout of earlier releases)."""
    return f"accounts/{account_id}/patients/{patient_id or 'none'}/temp/{token}/"


@pytest.fixture
def legacy_ticket(issue):
    """A ticket as a release before ``temp/`` issued it, still valid after the upgrade."""
    ticket = issue()
    ticket.key_prefix = legacy_prefix(
        account_id=ticket.account_id, patient_id=ticket.patient_id, token=ticket.pk
    )
    ticket.save(update_fields=["key_prefix"])
    return ticket


def test_every_unchecked_upload_waits_under_temp(storage_mode, issue, account, patient):
    """GIVEN the ticket doors (Cliniko, Medable, the patient page, the dashboard) and the
    in-app doors (multipart, Base64 JSON, Claros) WHEN bytes arrive THEN they wait under
    ``temp/accounts/<a>/patients/<p>/``, and nothing is stored beside the checked files."""
    ticket = issue()
    assert ticket.key_prefix == f"temp/accounts/{account.pk}/patients/{patient.pk}/{ticket.pk}/"
    file = services.file_create_from_stream(
        account=account,
        patient=patient,
        purpose="photo",
        original_name="photo.jpg",
        declared_type="image/jpeg",
        stream=io.BytesIO(samples.jpeg()),
        uploaded_by=Actor.system(),
    )
    assert file.temp_key.startswith(f"temp/accounts/{account.pk}/patients/{patient.pk}/")
    assert stored_keys() == [file.temp_key]


# --- Locations (Cliniko's upload_url) in every URL style, both layouts ------------------

URL_STYLES = {
    "virtual-hosted, global": "https://clinic-files.s3.amazonaws.com/{key}",
    "virtual-hosted, regional": "https://clinic-files.s3.eu-west-2.amazonaws.com/{key}",
    "path-style": "https://s3.eu-west-2.amazonaws.com/clinic-files/{key}",
    "an endpoint under a path": "http://127.0.0.1:8333/store/clinic-files/{key}",
    "a bucket named temp": "https://s3.amazonaws.com/temp/{key}",
    "a bucket named accounts": "https://s3.amazonaws.com/accounts/{key}",
}


@pytest.mark.parametrize("encoded", [True, False], ids=["key encoded", "key as it is"])
@pytest.mark.parametrize("layout", ["temp/", "before temp/"])
@pytest.mark.parametrize("style", URL_STYLES)
def test_location_gives_back_the_key_in_every_url_style(style, layout, encoded):
    """GIVEN a temporary key in today's or the earlier layout WHEN a storage answers it as a
    Location in any of AWS's URL styles (or a store under a path) THEN the key is read back
    exactly, whatever the bucket is called."""
    ids = {"account_id": uuid.uuid4(), "patient_id": uuid.uuid4(), "token": uuid.uuid4()}
    prefix = temp_prefix(**ids) if layout == "temp/" else legacy_prefix(**ids)
    key = prefix + "IMG 0001 (1).jpg"
    url = URL_STYLES[style].format(key=quote(key, safe="") if encoded else quote(key))
    assert selectors.key_from_location(url) == key


HOSTILE_NAMES = {
    "a deeper path": "a.jpg/b.jpg",
    "a dot-dot name": "..",
    "an encoded dot-dot": "%2e%2e",
    "a NUL": "a%00.jpg",
    "a backslash climb": "..%5C..%5Ccanary.jpg",
    "an empty name": "",
}


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("layout", ["temp/", "before temp/"])
def test_hostile_names_under_a_real_ticket_find_no_ticket(name, layout, issue, account):
    """GIVEN a real ticket of this account WHEN a Location names its prefix with a hostile
    name (deeper path, dot segments, NUL, backslashes, nothing) THEN no ticket is found, so
    nothing is looked up in storage under that name."""
    ticket = issue()
    if layout == "before temp/":
        ticket.key_prefix = legacy_prefix(
            account_id=ticket.account_id, patient_id=ticket.patient_id, token=ticket.pk
        )
        ticket.save(update_fields=["key_prefix"])
    url = f"https://clinic-files.s3.amazonaws.com/{quote(ticket.key_prefix)}{HOSTILE_NAMES[name]}"
    assert selectors.upload_ticket_for_location(account=account, location=url) is None


def test_a_key_glued_to_the_bucket_or_moved_between_layouts_finds_no_ticket(issue, account):
    """GIVEN a real ticket WHEN the Location glues ``temp/`` to the bucket's name, or names
    the ticket's token under the other layout THEN no ticket is found: a ticket answers only
    for the prefix it was issued with."""
    ticket = issue()
    key = ticket.key_prefix + "a.jpg"
    moved = legacy_prefix(
        account_id=ticket.account_id, patient_id=ticket.patient_id, token=ticket.pk
    )
    for url in (
        f"https://s3.amazonaws.com/bucket{key}",
        f"https://s3.amazonaws.com/bucket/{moved}a.jpg",
    ):
        assert selectors.upload_ticket_for_location(account=account, location=url) is None, url
    good = f"https://s3.amazonaws.com/bucket/{key}"
    assert selectors.upload_ticket_for_location(account=account, location=good) == ticket


# --- Uploads made before the upgrade ---------------------------------------------------


def test_a_ticket_issued_before_temp_still_uploads_and_processes(
    storage_mode, legacy_ticket, client, process
):
    """GIVEN a ticket issued before the ``temp/`` layout (its prefix under the patient) WHEN
    the client posts to it after the upgrade and it is confirmed THEN the file is processed
    to ready and its temporary object is removed."""
    post = presigned_post_for(legacy_ticket)
    response = post_to(client, post, samples.jpeg(), "IMG 1.jpg")
    assert response.status_code in (201, 204), response.content
    file = services.upload_ticket_confirm(ticket=legacy_ticket, confirmed_by=Actor.system())
    assert file.temp_key == legacy_ticket.key_prefix + "IMG 1.jpg"

    file = process(file)

    assert file.state == File.State.READY, file.rejection_reason
    assert stored_keys(legacy_ticket.key_prefix) == []


def test_a_legacy_location_finds_its_ticket(legacy_ticket, account):
    """GIVEN a ticket issued before ``temp/`` WHEN Cliniko's client sends its Location after
    the upgrade THEN the ticket is found."""
    url = f"https://clinic-files.s3.amazonaws.com/{quote(legacy_ticket.key_prefix)}scan.pdf"
    assert selectors.upload_ticket_for_location(account=account, location=url) == legacy_ticket


def test_an_in_app_upload_stored_before_temp_is_processed(storage_mode, upload, process):
    """GIVEN an in-app upload whose bytes were stored under the earlier layout WHEN its
    processing runs after the upgrade THEN it becomes ready and the old object is gone."""
    file = upload(samples.jpeg())
    old_key = (
        legacy_prefix(account_id=file.account_id, patient_id=file.patient_id, token=uuid.uuid4())
        + "photo.jpg"
    )
    with default_storage.open(file.temp_key, "rb") as stored:
        default_storage.save(old_key, ContentFile(stored.read()))
    default_storage.delete(file.temp_key)
    File.objects.filter(pk=file.pk).update(temp_key=old_key)

    file = process(file)

    assert file.state == File.State.READY, file.rejection_reason
    assert not default_storage.exists(old_key)


def misplaced_keys(file: File, other_account, other_patient) -> dict[str, str]:
    token = uuid.uuid4()
    own = {"account_id": file.account_id, "patient_id": file.patient_id, "token": token}
    foreign = {"account_id": other_account.pk, "patient_id": None, "token": token}
    sibling = {**own, "patient_id": other_patient.pk}
    return {
        "another clinic's temp/": temp_prefix(**foreign) + "x.jpg",
        "another clinic's earlier layout": legacy_prefix(**foreign) + "x.jpg",
        "another patient's temp/": temp_prefix(**sibling) + "x.jpg",
        "another patient's earlier layout": legacy_prefix(**sibling) + "x.jpg",
        "outside both layouts": f"{TEMP_ROOT}x.jpg",
        "a checked file's place": f"accounts/{file.account_id}/patients/{file.patient_id}/"
        f"files/{uuid.uuid4()}/content.jpg",
        "climbing out of temp/": temp_prefix(**own) + "../../../../canary.jpg",
    }


@pytest.mark.parametrize(
    "case",
    [
        "another clinic's temp/",
        "another clinic's earlier layout",
        "another patient's temp/",
        "another patient's earlier layout",
        "outside both layouts",
        "a checked file's place",
        "climbing out of temp/",
    ],
)
def test_processing_refuses_bytes_outside_the_files_own_places(
    case, upload, process, other_account, account
):
    """GIVEN a pending file whose temporary key points at another clinic's or patient's
    upload (either layout), outside both layouts, or climbing out WHEN it is processed
    THEN it is rejected with a reason, and the object it pointed at is untouched."""
    file = upload(samples.jpeg())
    target = misplaced_keys(file, other_account, PatientFactory(account=account))[case]
    if ".." not in target:
        default_storage.save(target, ContentFile(samples.jpeg()))
    File.objects.filter(pk=file.pk).update(temp_key=target)

    file = process(file)

    assert file.state == File.State.REJECTED
    assert file.rejection_reason == "The upload is not where its upload ticket allowed."
    if ".." not in target:
        assert default_storage.exists(target)
