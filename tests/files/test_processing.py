"""Processing: the task's function called directly, on both storages."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image, ImageOps

from files.models import TEMP_ROOT, Facet, File
from files.pipeline.processing import file_process
from files.signals import file_processed
from portal.webhooks.models import Event
from tests.files import samples
from tests.files.conftest import stored_keys

pytestmark = pytest.mark.django_db


def test_photo_becomes_ready_with_facets_and_no_temp_object(storage_mode, upload, process):
    """GIVEN a JPEG uploaded through the app WHEN processing runs
    THEN the file is ready with size, SHA-256, dimensions, a content and a thumbnail facet
    at permanent keys, the temporary object is gone, and file.ready is recorded."""
    file = upload(samples.jpeg((800, 600)))
    temp_key = file.temp_key
    assert temp_key.startswith(TEMP_ROOT) and default_storage.exists(temp_key)

    file = process(file)

    assert file.state == File.State.READY, file.rejection_reason
    assert (file.mime_type, file.width, file.height) == ("image/jpeg", 800, 600)
    assert len(file.sha256) == 64 and file.size > 0
    facets = {facet.name: facet for facet in file.facets.all()}
    assert set(facets) == {Facet.CONTENT, Facet.THUMBNAIL}
    for facet in facets.values():
        assert facet.storage_key.startswith(
            f"accounts/{file.account_id}/patients/{file.patient_id}/files/{file.id}/"
        )
        assert default_storage.exists(facet.storage_key)
    assert (facets[Facet.THUMBNAIL].width, facets[Facet.THUMBNAIL].height) == (320, 320)
    assert not default_storage.exists(temp_key)
    assert file.temp_key == ""
    assert Event.objects.filter(type="file.ready", payload__data__fileId=str(file.id)).exists()


def test_exif_rotated_photo_is_upright_without_gps_or_device(storage_mode, upload, process):
    """GIVEN a phone JPEG stored sideways (orientation 6) with GPS and camera make/model
    WHEN processed THEN the content keeps the camera's pixels as stored, with orientation
    as its only EXIF tag (so every viewer shows it upright), no GPS, device or comment;
    the file's width and height are as it is shown: portrait."""
    file = process(upload(samples.jpeg((600, 400), orientation=6, gps=True)))

    assert (file.width, file.height) == (400, 600)
    content = file.facets.get(name=Facet.CONTENT)
    with default_storage.open(content.storage_key, "rb") as stored:
        image = Image.open(io.BytesIO(stored.read()))
    assert image.size == (600, 400)
    assert dict(image.getexif()) == {0x0112: 6}
    assert ImageOps.exif_transpose(image).size == (400, 600)
    assert "comment" not in image.info


@pytest.mark.parametrize("maker,mime", [(samples.png, "image/png"), (samples.webp, "image/webp")])
def test_png_and_webp_stay_in_their_format(upload, process, maker, mime):
    """GIVEN a PNG or WebP WHEN processed THEN it is ready in its own type."""
    name = "a.png" if mime == "image/png" else "a.webp"
    file = process(upload(maker(), name=name, declared=mime))
    assert (file.state, file.mime_type) == (File.State.READY, mime)


def test_heic_from_iphone_is_accepted_and_served_as_jpeg(storage_mode, upload, process):
    """GIVEN an iPhone HEIC WHEN processed THEN it is ready as a JPEG (viewable everywhere)."""
    file = process(upload(samples.heic(), name="IMG_0001.HEIC", declared="image/heic"))
    assert (file.state, file.mime_type, file.width, file.height) == (
        File.State.READY,
        "image/jpeg",
        64,
        48,
    )


def test_pdf_document_is_ready_without_dimensions(storage_mode, upload, process):
    """GIVEN a PDF for a document WHEN processed THEN it is ready, stored as it came."""
    data = samples.pdf()
    file = process(upload(data, name="letter.pdf", declared="application/pdf", purpose="document"))
    assert (file.state, file.mime_type, file.width, file.height) == (
        File.State.READY,
        "application/pdf",
        None,
        None,
    )
    assert file.size == len(data)
    assert not file.facets.filter(name=Facet.THUMBNAIL).exists()


@pytest.mark.parametrize(
    "name,make,declared,purpose,reason", samples.BAD_FILES, ids=[b[0] for b in samples.BAD_FILES]
)
def test_bad_file_corpus_is_rejected_with_a_reason(
    upload, process, name, make, declared, purpose, reason
):
    """GIVEN a hostile or broken file WHEN processed THEN it is rejected with a readable
    reason, no facet and no object is left, and file.rejected is recorded."""
    file = process(upload(make(), name=name, declared=declared, purpose=purpose))

    assert file.state == File.State.REJECTED
    assert reason.lower() in file.rejection_reason.lower(), file.rejection_reason
    assert not file.facets.exists()
    assert stored_keys() == []
    assert Event.objects.filter(type="file.rejected", payload__data__fileId=str(file.id)).exists()


def test_bad_files_are_rejected_on_s3_too(s3_bucket, upload, process):
    """GIVEN S3 storage WHEN a polyglot and a PDF named .png are processed THEN both rejected."""
    for name, make, declared, purpose, reason in samples.BAD_FILES[4:10]:
        file = process(upload(make(), name=name, declared=declared, purpose=purpose))
        assert file.state == File.State.REJECTED and reason.lower() in file.rejection_reason.lower()
    assert stored_keys() == []


def test_processing_twice_is_idempotent(upload, process):
    """GIVEN a processed file WHEN the task runs again (acks_late redelivery)
    THEN nothing changes: same facets, one file.ready event."""
    file = process(upload(samples.jpeg()))
    facets_before = sorted(file.facets.values_list("id", "storage_key"))
    file = process(file)
    assert sorted(file.facets.values_list("id", "storage_key")) == facets_before
    assert Event.objects.filter(type="file.ready").count() == 1


def test_signal_is_sent_in_the_processing_transaction(upload, process):
    """GIVEN a receiver of file_processed WHEN a file is processed
    THEN it is called once with the file already in its final state."""
    seen = []

    def receiver(sender, file, **kwargs):
        seen.append((sender, file.pk, file.state))

    file_processed.connect(receiver)
    try:
        file = process(upload(samples.jpeg()))
    finally:
        file_processed.disconnect(receiver)
    assert seen == [(File, file.pk, File.State.READY)]


def test_missing_file_id_is_ignored():
    """GIVEN a task for a file that no longer exists WHEN it runs THEN it does nothing."""
    assert file_process(file_id="00000000-0000-0000-0000-000000000000") is None


def test_object_outside_its_prefix_is_rejected(upload, process, other_account):
    """GIVEN a File whose temp key points into another account's prefix
    WHEN processed THEN it is rejected: processing re-checks where bytes came from."""
    file = upload(samples.jpeg())
    File.objects.filter(pk=file.pk).update(
        temp_key=file.temp_key.replace(str(file.account_id), str(other_account.id))
    )
    file = process(file)
    assert file.state == File.State.REJECTED
    assert "not where" in file.rejection_reason


def test_larger_than_allowed_is_rejected(storage_mode, upload, process):
    """GIVEN a file whose allowed size is smaller than its bytes WHEN processed THEN rejected."""
    file = upload(samples.jpeg((200, 200)))
    File.objects.filter(pk=file.pk).update(max_size=100)
    assert "larger than" in process(file).rejection_reason
