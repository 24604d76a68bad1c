"""The test factories make what the product makes: a ready file as processing leaves it
(its bytes stored under the pipeline's keys, its size and checksum theirs, a thumbnail
for an image), so a test built on one sees what a clinic would."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from files.models import Facet, File
from files.pipeline.processing import file_process
from files.pipeline.sniffing import FileRejected
from files.services import file_create_from_stream
from portal.audit.services import Actor
from tests.factories import FacetFactory, FileFactory, FileRequestFactory, UploadTicketFactory
from tests.files import samples

pytestmark = pytest.mark.django_db


def stored(key: str) -> bytes:
    with default_storage.open(key, "rb") as stored_file:
        return stored_file.read()


def test_a_ready_image_downloads_through_the_api_with_its_sha256(
    storage_mode, api, account, patient
):
    """GIVEN a ready image from the factory WHEN downloaded through the files API (on both
    storages) THEN 200 with bytes whose SHA-256 and length are the file's, its detected
    type and size."""
    file = FileFactory(account=account, patient=patient, original_name="mole.jpg", ready=True)
    response = api.get(f"/api/v1/files/{file.id}", HTTP_ACCEPT="image/jpeg")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    assert hashlib.sha256(data).hexdigest() == file.sha256
    assert len(data) == file.size
    assert response["Content-Type"] == file.mime_type == "image/jpeg"
    assert (file.state, file.width, file.height) == (File.State.READY, 40, 30)


def test_a_ready_image_has_its_thumbnail_facet_stored(storage_mode, account, patient):
    """GIVEN a ready image WHEN its facets are read THEN a ready content and a ready
    thumbnail, each stored under the file's permanent prefix with its own size and
    checksum."""
    file = FileFactory(account=account, patient=patient, ready=True)
    facets = {facet.name: facet for facet in file.facets.all()}
    assert set(facets) == {Facet.CONTENT, Facet.THUMBNAIL}
    for facet in facets.values():
        data = stored(facet.storage_key)
        assert facet.state == Facet.State.READY
        assert facet.storage_key.startswith(file.permanent_prefix)
        assert (len(data), hashlib.sha256(data).hexdigest()) == (facet.size, facet.sha256)
    assert facets[Facet.CONTENT].sha256 == file.sha256
    assert stored(facets[Facet.THUMBNAIL].storage_key)[:2] == b"\xff\xd8"  # a JPEG


def test_a_ready_pdf_has_no_thumbnail(account, patient):
    """GIVEN a ready PDF WHEN its facets are read THEN only its content, typed as a PDF,
    with no dimensions."""
    file = FileFactory(account=account, patient=patient, original_name="letter.pdf", ready=True)
    assert list(file.facets.values_list("name", flat=True)) == [Facet.CONTENT]
    assert (file.mime_type, file.width, file.height) == ("application/pdf", None, None)
    assert stored(file.facets.get().storage_key)[:5] == b"%PDF-"


def test_a_ready_file_is_what_the_pipeline_makes_of_the_same_bytes(
    account, patient, django_capture_on_commit_callbacks
):
    """GIVEN the same photo made ready by the factory and uploaded then processed by the
    pipeline WHEN compared THEN the same type, size, checksum, dimensions, facets and key
    names under each file's own prefix."""
    data = samples.jpeg((120, 90), orientation=6, gps=True)
    made = FileFactory(account=account, patient=patient, ready=True, content=data)
    uploaded = file_create_from_stream(
        account=account,
        patient=patient,
        purpose="photo",
        original_name="photo.jpg",
        declared_type="image/jpeg",
        stream=io.BytesIO(data),
        uploaded_by=Actor.system(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        processed = file_process(file_id=uploaded.pk)

    def shape(file):
        return (
            file.state,
            file.mime_type,
            file.size,
            file.sha256,
            file.width,
            file.height,
            sorted(
                (f.name, f.storage_key.removeprefix(file.permanent_prefix), f.sha256, f.size)
                for f in file.facets.all()
            ),
        )

    assert shape(made) == shape(processed)
    assert (made.width, made.height) == (90, 120)  # turned upright, as processing does


def test_a_file_sent_for_a_request_is_the_patients_photo(account):
    """GIVEN a request WHEN the factory makes a ready file for it THEN it is the request's
    patient's photo, sent through the patient's link."""
    file_request = FileRequestFactory(account=account)
    file = FileFactory(file_request=file_request, ready=True)
    assert (file.account, file.patient) == (account, file_request.patient)
    assert (file.source, file.purpose, file.actor_kind) == ("request", "photo", "patient_link")


def test_bytes_the_pipeline_refuses_make_no_ready_file(account):
    """GIVEN a PDF sent for a photo request WHEN the factory is asked to make it ready
    THEN it refuses as the pipeline would."""
    with pytest.raises(FileRejected):
        FileFactory(
            file_request=FileRequestFactory(account=account),
            original_name="letter.pdf",
            ready=True,
        )


def test_an_upload_ticket_names_its_own_temporary_prefix(account, patient):
    """GIVEN a ticket from the factory WHEN a file's upload key is under its prefix THEN the
    pipeline takes it as the file's own temporary object."""
    ticket = UploadTicketFactory(account=account, patient=patient)
    file = FileFactory(
        account=account,
        patient=patient,
        upload_ticket=ticket,
        temp_key=f"{ticket.key_prefix}photo.jpg",
    )
    assert ticket.key_prefix.startswith("temp/") and str(ticket.id) in ticket.key_prefix
    assert file.temp_key_in_place()
    assert UploadTicketFactory(expired=True).is_expired


def test_a_facet_is_a_rendition_asked_for(account, patient):
    """GIVEN the facet factory WHEN a facet is made THEN a pending rendition of a ready
    file; ``failed`` marks it failed."""
    facet = FacetFactory(file__account=account, file__patient=patient)
    assert facet.name.startswith("rendition:") and facet.state == Facet.State.PENDING
    assert facet.file.is_ready
    assert FacetFactory(file=facet.file, failed=True).state == Facet.State.FAILED


def test_a_ready_file_keeps_the_processing_time_a_test_gives(account, patient):
    """GIVEN a processing time in the past WHEN a ready file is made with it THEN it keeps
    that time (metrics tests set how long processing took), not the time it was made."""
    when = timezone.now() - dt.timedelta(hours=2)
    file = FileFactory(account=account, patient=patient, processed_at=when, ready=True)
    assert File.objects.get(pk=file.pk).processed_at == when
