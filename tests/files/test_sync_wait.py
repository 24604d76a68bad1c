"""Neither X-on's files API nor Claros's upload has a processing
state, so the in-app doors answer once the worker has judged the file (within
FILES_SYNC_WAIT_SECONDS), and a download straight after the upload gets the file.
Each test runs a real Celery worker: the wait is for the worker, never done in the web
process."""

from __future__ import annotations

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from files.models import Facet, File
from portal.audit.models import AuditEvent
from portal.webhooks.models import Event
from tests.attachments import samples as attachment_samples
from tests.factories import FileRequestFactory
from tests.files import samples
from tests.files.conftest import stored_keys
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def xon_file(name: str, mime: str, data: bytes) -> dict:
    return {"name": name, "type": mime, "contents": base64.b64encode(data).decode()}


def test_xon_upload_answers_the_stored_file_and_downloads_at_once(api, patient, settings, tmp_path):
    """GIVEN a worker and a HEIC photo and a JPEG with EXIF WHEN posted to /api/v1/files
    THEN the 201 describes what was stored (a HEIC answers image/jpeg with the cleaned
    size and pixels, not the upload's), and a GET straight after serves exactly that
    many bytes (the seed has no processing state)."""
    settings.FILES_SYNC_WAIT_SECONDS = 30
    body = {
        "files": [
            xon_file("IMG_1.HEIC", "image/heic", samples.heic((96, 64))),
            xon_file("IMG_2.JPG", "image/jpeg", samples.jpeg((80, 60), orientation=6, gps=True)),
        ],
        "userId": str(patient.id),
    }
    with celery_worker(tmp_path):
        response = api.post("/api/v1/files", body, format="json")
        assert response.status_code == 201, response.content
        answered = response.json()
        for entry in answered:
            download = api.get(f"/api/v1/files/{entry['id']}")
            assert download.status_code == 200
            data = b"".join(download.streaming_content)
            assert len(data) == entry["size"]
            assert download["Content-Type"] == entry["mimeType"]
    heic, jpeg = answered
    assert heic["mimeType"] == "image/jpeg"
    assert (heic["imageWidth"], heic["imageHeight"]) == (96, 64)
    assert (jpeg["imageWidth"], jpeg["imageHeight"]) == (60, 80)  # turned upright
    stored = File.objects.get(pk=heic["id"])
    assert stored.state == File.State.READY and stored.size == heic["size"]


def test_a_refused_file_answers_400_naming_it_and_leaves_nothing_of_the_batch(
    api, patient, settings, tmp_path
):
    """GIVEN a worker WHEN a batch of a good photo and a JPEG whose header is right and
    whose body is junk is posted THEN 400 naming the refused file and why; the good one
    is withdrawn (rejected, its stored objects removed), so sending the batch again
    leaves no double."""
    settings.FILES_SYNC_WAIT_SECONDS = 30
    junk = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + b"junk" * 500
    body = {
        "files": [
            xon_file("good.jpg", "image/jpeg", samples.jpeg((50, 40))),
            xon_file("broken.jpg", "image/jpeg", junk),
        ],
        "userId": str(patient.id),
    }
    with celery_worker(tmp_path):
        response = api.post("/api/v1/files", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()
    assert "broken.jpg" in error["fields"]["files.1"][0]
    assert "good.jpg" not in str(error["fields"])
    assert set(File.objects.values_list("state", flat=True)) == {File.State.REJECTED}
    assert not Facet.objects.exists()
    assert [key for key in stored_keys() if "/files/" in key] == []


@pytest.mark.parametrize("refused_at", [0, 1, 2], ids=["first", "middle", "last"])
def test_a_refused_batch_for_a_file_request_is_announced_removed(
    refused_at, api, account, patient, settings, tmp_path
):
    """GIVEN a file request and a worker WHEN X-on posts a batch for it (fileRequestId)
    whose first, middle or last file is refused THEN after the files.update that added the
    batch (sent when it was stored) comes one that removes every file of it, in X-on's
    body, to the same receivers; the audit log says so; the listing offers none of them."""
    settings.FILES_SYNC_WAIT_SECONDS = 30
    file_request = FileRequestFactory(
        account=account, patient=patient, files_update_webhook_url="https://ehr.example/hook"
    )
    junk = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + b"junk" * 500
    files = [xon_file(f"good{i}.jpg", "image/jpeg", samples.jpeg((50, 40))) for i in range(3)]
    files[refused_at] = xon_file("broken.jpg", "image/jpeg", junk)
    body = {"files": files, "userId": str(patient.id), "fileRequestId": str(file_request.id)}
    with celery_worker(tmp_path):
        response = api.post("/api/v1/files", body, format="json")
    assert response.status_code == 400, response.content
    assert f"files.{refused_at}" in response.json()["fields"]

    added, removed = (
        event.payload["event"]
        for event in Event.objects.filter(type="file-request.files.update").order_by("created_at")
    )
    batch = {str(pk) for pk in File.objects.values_list("pk", flat=True)}
    assert len(batch) == 3
    assert (set(added["addedFileIds"]), added["removedFileIds"]) == (batch, [])
    assert (removed["addedFileIds"], set(removed["removedFileIds"])) == ([], batch)
    assert removed["fileRequest"]["id"] == str(file_request.id)
    assert {(f["id"], f["state"]) for f in removed["fileRequest"]["files"]} == {
        (pk, "rejected") for pk in batch
    }
    assert Event.objects.filter(extra_urls=["https://ehr.example/hook"]).count() == 2
    assert AuditEvent.objects.filter(action="file_request.files_remove").count() == 1
    listing = api.get(f"/api/v1/file-requests/{file_request.id}").json()
    assert listing["files"] == []


def test_claros_junk_pdf_is_400_and_a_good_one_downloads_at_once(api, patient, settings, tmp_path):
    """GIVEN a worker WHEN Claros's upload gets a PDF whose header is right and whose body
    is junk THEN 400 (seed 002: "The file must be a valid PDF document"), not 201 and a
    409 for ever on its url; a good PDF answers 201 and its url serves it at once."""
    settings.FILES_SYNC_WAIT_SECONDS = 30

    def upload(content: bytes):
        return api.post(
            f"/api/v1/patients/{patient.id}/pdf/",
            {"file": SimpleUploadedFile("x.pdf", content), "filename": "scan.pdf"},
            format="multipart",
        )

    with celery_worker(tmp_path):
        junk = upload(b"%PDF-1.7\n" + b"not a pdf at all " * 100)
        good = upload(attachment_samples.pdf())
        assert good.status_code == 201, good.content
        served = api.get(good.json()["url"])
        assert served.status_code == 200
        assert b"".join(served.streaming_content) == attachment_samples.pdf()
    assert junk.status_code == 400
    assert "valid PDF" in junk.json()["fields"]["file"][0]


def test_past_the_bound_the_answers_are_as_before(api, patient, settings):
    """GIVEN no worker and a short bound WHEN a photo is posted and downloaded THEN 201
    with what is known so far, and the download answers 409 with Retry-After once the
    bound has passed (a slow queue costs a web thread no more than the bound)."""
    settings.FILES_SYNC_WAIT_SECONDS = 0.3
    body = {"files": [xon_file("a.jpg", "image/jpeg", samples.jpeg())], "userId": str(patient.id)}
    response = api.post("/api/v1/files", body, format="json")
    assert response.status_code == 201
    download = api.get(f"/api/v1/files/{response.json()[0]['id']}")
    assert download.status_code == 409
    assert download["Retry-After"]
