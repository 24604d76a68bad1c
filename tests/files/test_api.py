"""X-on files API (seed 001): upload as Base64 JSON or multipart, download, metadata."""

from __future__ import annotations

import base64
import datetime as dt
import io
import threading

import pytest
from django.db import connection
from django.utils import timezone
from PIL import Image

from filerequests.models import FileRequest
from files.models import Facet, File
from files.pipeline.renditions import facet_rendition_render
from portal.audit.models import AuditEvent
from portal.webhooks.models import Event
from tests.attachments import samples as attachment_samples
from tests.factories import FileFactory, PatientFactory, StaffFactory
from tests.files import samples
from tests.files.conftest import stored_keys
from tests.support.faultproxy import FaultyHttpProxy
from tests.support.renditions import facet_rendition_get_or_create

pytestmark = pytest.mark.django_db


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def xon_body(user_id, *files, **extra):
    return {
        "files": [
            {"name": name, "description": None, "type": mime, "contents": b64(data)}
            for name, mime, data in files
        ],
        "userId": str(user_id),
        **extra,
    }


@pytest.fixture
def ready_file(account, patient):
    """A processed 800x600 JPEG that came through this API."""
    return FileFactory(
        account=account,
        patient=patient,
        original_name="IMG_0292.JPG",
        content=samples.jpeg((800, 600)),
        ready=True,
    )


def test_upload_answers_seed_001_fields(
    storage_mode, api, patient, django_capture_on_commit_callbacks
):
    """GIVEN two Base64 photos WHEN posted THEN 201 with the seed's fields, width and height
    read at once, expiry from expiryInterval, and processing queued only after commit."""
    body = xon_body(
        patient.id,
        ("IMG_0292.JPG", "image/jpeg", samples.jpeg((300, 400))),
        ("IMG_0293.JPG", "image/jpeg", samples.jpeg((600, 400), orientation=6)),
        expiryInterval=3600,
    )
    body["files"][1]["description"] = "This rash is looking better."
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post("/api/v1/files", body, format="json")

    assert response.status_code == 201, response.content
    first, second = response.json()
    assert set(first) == {
        "id",
        "createdAt",
        "description",
        "expiresAt",
        "fileRequestId",
        "imageHeight",
        "imageWidth",
        "mimeType",
        "originalName",
        "size",
    }
    assert (first["imageWidth"], first["imageHeight"]) == (300, 400)
    assert (second["imageWidth"], second["imageHeight"]) == (400, 600)  # upright already
    assert second["description"] == "This rash is looking better."
    assert first["description"] is None and first["fileRequestId"] is None
    assert first["mimeType"] == "image/jpeg" and first["originalName"] == "IMG_0292.JPG"
    created = dt.datetime.fromisoformat(first["createdAt"])
    assert dt.datetime.fromisoformat(first["expiresAt"]) - created == dt.timedelta(hours=1)
    assert len(callbacks) == 2  # one processing task per file, after commit


def test_multipart_upload_is_the_same_door(storage_mode, api, patient, process):
    """GIVEN a multipart form with two `files` parts WHEN posted THEN two files, processed ready."""
    response = api.post(
        "/api/v1/files",
        {
            "userId": str(patient.id),
            "files": [
                io.BytesIO(samples.jpeg()),
                io.BytesIO(samples.png()),
            ],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    files = [File.objects.get(pk=item["id"]) for item in response.json()]
    assert [process(f).state for f in files] == [File.State.READY, File.State.READY]


def test_upload_larger_than_the_limit_is_413(api, patient, settings):
    """GIVEN a 1 KB limit WHEN a bigger file is posted (JSON or multipart) THEN 413, a message."""
    settings.FILES_MAX_UPLOAD_BYTES = 1024
    data = samples.jpeg((200, 200))
    response = api.post(
        "/api/v1/files", xon_body(patient.id, ("a.jpg", "image/jpeg", data)), format="json"
    )
    assert response.status_code == 413
    assert "larger than the 1 KB allowed" in response.json()["error"]
    response = api.post(
        "/api/v1/files",
        {"userId": str(patient.id), "files": [io.BytesIO(data)]},
        format="multipart",
    )
    assert response.status_code == 413
    assert File.objects.count() == 0


def test_a_refused_batch_leaves_no_object_behind(storage_mode, api, patient, settings):
    """GIVEN a batch of two files whose second is past the limit
    WHEN it is posted (Base64 JSON and multipart)
    THEN 413, no File, and the first file's bytes, already stored when the second was
    refused, are removed too: nothing is left that no record points at."""
    small, big = samples.jpeg((40, 40)), samples.jpeg((400, 400))
    settings.FILES_MAX_UPLOAD_BYTES = len(small) + 100
    response = api.post(
        "/api/v1/files",
        xon_body(patient.id, ("a.jpg", "image/jpeg", small), ("b.jpg", "image/jpeg", big)),
        format="json",
    )
    assert response.status_code == 413, response.content
    response = api.post(
        "/api/v1/files",
        {"userId": str(patient.id), "files": [io.BytesIO(small), io.BytesIO(big)]},
        format="multipart",
    )
    assert response.status_code == 413, response.content
    assert File.objects.count() == 0
    assert stored_keys(f"accounts/{patient.account_id}/") == []
    assert stored_keys(f"temp/accounts/{patient.account_id}/") == []


def test_request_larger_than_the_request_limit_is_413(api, patient, settings):
    """GIVEN a request limit WHEN the body is larger THEN 413 before anything is parsed."""
    settings.FILES_MAX_REQUEST_BYTES = 100
    response = api.post(
        "/api/v1/files",
        xon_body(patient.id, ("a.jpg", "image/jpeg", samples.jpeg())),
        format="json",
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize(
    "change,field",
    [
        ({"userId": "00000000-0000-0000-0000-000000000000"}, "userId"),
        ({"userId": "not-a-uuid"}, "userId"),
        ({"fileRequestId": "00000000-0000-0000-0000-000000000000"}, "fileRequestId"),
        ({"extra": 1}, "extra"),
        ({"expiryInterval": 0}, "expiryInterval"),
    ],
)
def test_invalid_uploads_are_400(api, patient, change, field):
    """GIVEN an upload naming no one, an unknown request, an unknown field or a bad expiry
    WHEN posted THEN 400 naming the field, and nothing is stored."""
    body = {**xon_body(patient.id, ("a.jpg", "image/jpeg", samples.jpeg())), **change}
    response = api.post("/api/v1/files", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert File.objects.count() == 0


def test_bad_base64_and_hostile_names_are_400_not_500(api, patient):
    """GIVEN broken Base64, a NUL in the name or a 10,000-character name WHEN posted THEN 400."""
    for item in (
        {"name": "a.jpg", "type": "image/jpeg", "contents": "###"},
        {"name": "a\x00.jpg", "type": "image/jpeg", "contents": b64(samples.jpeg())},
        {"name": "a" * 10_000 + ".jpg", "type": "image/jpeg", "contents": b64(samples.jpeg())},
    ):
        response = api.post(
            "/api/v1/files", {"files": [item], "userId": str(patient.id)}, format="json"
        )
        assert response.status_code == 400, response.content
        assert response.json()["error"]


@pytest.mark.parametrize(
    "name,expected",
    [
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("evil\u202egpj.exe.jpg", "evil gpj.exe.jpg"),
        ("CON.jpg", "_CON.jpg"),
        ("a" * 900 + ".jpg", "a" * 146 + ".jpg"),
        ('quo"te\\back.jpg', "back.jpg"),
        ('say "cheese".jpg', "say _cheese_.jpg"),
    ],
)
def test_hostile_names_are_shown_and_served_safe(api, patient, process, name, expected):
    """GIVEN a hostile but valid name WHEN uploaded THEN originalName is kept as the client
    gave it (X-on's answer echoes it), while what staff see and the download's
    Content-Disposition use the safe form; the photo itself is processed normally."""
    response = api.post(
        "/api/v1/files", xon_body(patient.id, (name, "image/jpeg", samples.jpeg())), format="json"
    )
    assert response.status_code == 201
    assert response.json()[0]["originalName"] == name
    file = process(File.objects.get(pk=response.json()[0]["id"]))
    assert file.state == File.State.READY
    assert file.display_name == expected
    disposition = api.get(f"/api/v1/files/{file.pk}")["Content-Disposition"]
    assert "\u202e" not in disposition and "../" not in disposition


def test_file_request_upload_records_the_webhook_event(api, account, patient, staff):
    """GIVEN a file request of the patient WHEN files are posted for it THEN they carry its id,
    one file-request.files.update event in X-on's body announces them, the request is
    answered; another user id is 400, and a cancelled request takes no more files (409)."""
    file_request = FileRequest.objects.create(
        account=account, patient=patient, staff=staff, staff_name="Dr A", short_link_id="abc123"
    )
    body = xon_body(
        patient.id, ("a.jpg", "image/jpeg", samples.jpeg()), fileRequestId=str(file_request.id)
    )
    response = api.post("/api/v1/files", body, format="json")
    assert response.status_code == 201
    assert response.json()[0]["fileRequestId"] == str(file_request.id)
    event = Event.objects.get(type="file-request.files.update")
    assert event.payload["event"]["type"] == "file-request.files.update"
    assert event.payload["event"]["fileRequest"]["id"] == str(file_request.id)
    assert event.payload["event"]["addedFileIds"] == [response.json()[0]["id"]]
    assert event.payload["event"]["removedFileIds"] == []
    file_request.refresh_from_db()
    assert file_request.status == FileRequest.Status.ANSWERED

    other_patient = PatientFactory(account=account)
    body["userId"] = str(other_patient.id)
    assert api.post("/api/v1/files", body, format="json").status_code == 400

    body["userId"] = str(patient.id)
    FileRequest.objects.filter(pk=file_request.pk).update(status=FileRequest.Status.CANCELLED)
    refused = api.post("/api/v1/files", body, format="json")
    assert refused.status_code == 409
    assert "cancelled" in refused.json()["error"]


def test_staff_member_may_upload_without_a_request(api, account):
    """GIVEN a staff id (or a shell staff's external id) as userId WHEN posted THEN 201."""
    staff = StaffFactory(account=account, account_user_id="ext-42")
    for user_id in (staff.id, "ext-42"):
        response = api.post(
            "/api/v1/files",
            xon_body(user_id, ("a.pdf", "application/pdf", samples.pdf())),
            format="json",
        )
        assert response.status_code == 201, response.content


def test_download_streams_bytes_with_safe_headers_and_audit(storage_mode, api, ready_file):
    """GIVEN a ready file WHEN downloaded THEN its cleaned bytes stream with Content-Type,
    attachment disposition, nosniff, CSP sandbox, private no-store, ETag; and it is audited."""
    response = api.get(f"/api/v1/files/{ready_file.id}", HTTP_ACCEPT="image/jpeg")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    content = ready_file.facets.get(name=Facet.CONTENT)
    assert len(data) == content.size == int(response["Content-Length"])
    assert Image.open(io.BytesIO(data)).size == (800, 600)
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == (
        "attachment; filename=\"IMG_0292.JPG\"; filename*=UTF-8''IMG_0292.JPG"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["Cache-Control"] == "private, no-store"
    assert response["ETag"] == f'"{content.sha256}"'
    event = AuditEvent.objects.get(action="file.download", target_id=str(ready_file.id))
    assert event.actor_kind == "api_key" and event.detail["facet"] == "content"


def test_download_range_and_conditional(storage_mode, api, ready_file):
    """GIVEN a ready file WHEN a Range, an unsatisfiable range or If-None-Match is sent
    THEN 206 with Content-Range, 416, and 304."""
    url = f"/api/v1/files/{ready_file.id}"
    full = b"".join(api.get(url).streaming_content)
    partial = api.get(url, HTTP_RANGE="bytes=10-19")
    assert partial.status_code == 206
    assert b"".join(partial.streaming_content) == full[10:20]
    assert partial["Content-Range"] == f"bytes 10-19/{len(full)}"
    suffix = api.get(url, HTTP_RANGE="bytes=-5")
    assert b"".join(suffix.streaming_content) == full[-5:]
    assert api.get(url, HTTP_RANGE=f"bytes={len(full)}-").status_code == 416
    etag = api.get(url)["ETag"]
    assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_s3_range_download_fetches_only_that_range(s3_bucket, settings, api, patient, process):
    """GIVEN a ready PDF on S3, reached through a recording proxy
    WHEN the API is asked for 1 KB of it with a Range header
    THEN the storage is asked for exactly that range, once, not for the whole object
    (django-storages' S3File would download it all before the first byte)."""
    content = attachment_samples.pdf(padding=200_000)
    created = api.post(
        "/api/v1/files",
        xon_body(patient.id, ("scan.pdf", "application/pdf", content)),
        format="json",
    )
    assert created.status_code == 201, created.content
    file_id = created.json()[0]["id"]
    assert process(File.objects.get(pk=file_id)).state == File.State.READY
    proxy = FaultyHttpProxy(settings.S3_ENDPOINT_URL).start()
    try:
        storage = settings.STORAGES["default"]
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {**storage, "OPTIONS": {**storage["OPTIONS"], "endpoint_url": proxy.url}},
        }
        response = api.get(f"/api/v1/files/{file_id}", HTTP_RANGE="bytes=100000-101023")
        assert response.status_code == 206
        assert b"".join(response.streaming_content) == content[100000:101024]
    finally:
        proxy.stop()
    gets = [entry for entry in proxy.forwarded if entry[0] == "GET"]
    assert [(entry[2], entry[3]) for entry in gets] == [("bytes=100000-101023", 1024)]


def test_image_size_rendition_is_aspect_fill_and_kept(
    storage_mode, api, ready_file, settings, django_capture_on_commit_callbacks
):
    """GIVEN an 800x600 photo WHEN imageSize=200x140 is asked THEN the web process asks the
    worker (409 with Retry-After until it is made), and once made the answer is its
    aspect fill, 200x150, kept as one facet; larger than the original gives the original
    at once."""
    settings.FILES_RENDITION_WAIT_SECONDS = 0
    url = f"/api/v1/files/{ready_file.id}"
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = api.get(url, {"imageSize": "200x140"})
    assert (first.status_code, first.json()["code"], first["Retry-After"]) == (
        409,
        "not_ready",
        "5",
    )
    assert len(queued) == 1
    facet_rendition_render(file_id=ready_file.pk, width=200, height=140)  # what the worker does
    for _ in range(2):
        response = api.get(url, {"imageSize": "200x140"})
        assert response.status_code == 200
        image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
        assert image.size == (200, 150)
    assert ready_file.facets.filter(name="rendition:200x150").count() == 1
    big = api.get(url, {"imageSize": "4000x4000"})
    assert Image.open(io.BytesIO(b"".join(big.streaming_content))).size == (800, 600)


@pytest.mark.parametrize("size", ["200", "200x", "x140", "0x10", "abc", "99999x1", "-1x5"])
def test_malformed_image_size_is_400(api, ready_file, size):
    """GIVEN a malformed imageSize WHEN downloading THEN 400 naming imageSize."""
    response = api.get(f"/api/v1/files/{ready_file.id}", {"imageSize": size})
    assert response.status_code == 400
    assert "imageSize" in response.json()["fields"]


def test_image_size_is_ignored_for_a_pdf(api, account, process):
    """GIVEN a ready PDF WHEN imageSize is asked THEN the PDF itself comes back."""
    staff = StaffFactory(account=account)
    data = samples.pdf()
    response = api.post(
        "/api/v1/files", xon_body(staff.id, ("a.pdf", "application/pdf", data)), format="json"
    )
    file = process(File.objects.get(pk=response.json()[0]["id"]))
    download = api.get(f"/api/v1/files/{file.id}", {"imageSize": "20x20"})
    assert b"".join(download.streaming_content) == data
    assert download["Content-Type"] == "application/pdf"


def test_not_ready_answers_409_with_retry_after(api, patient):
    """GIVEN a file still pending WHEN downloaded THEN 409 not_ready with Retry-After, no bytes."""
    response = api.post(
        "/api/v1/files",
        xon_body(patient.id, ("a.jpg", "image/jpeg", samples.jpeg())),
        format="json",
    )
    download = api.get(f"/api/v1/files/{response.json()[0]['id']}")
    assert download.status_code == 409
    assert download.json()["code"] == "not_ready"
    assert download["Retry-After"] == "5"


def test_rejected_file_answers_its_reason(api, patient, process):
    """GIVEN a rejected file WHEN downloaded THEN 409 with the reason; metadata too."""
    body = xon_body(patient.id, ("page.jpg", "image/jpeg", b"<html><script>x</script></html>"))
    file = process(
        File.objects.get(pk=api.post("/api/v1/files", body, format="json").json()[0]["id"])
    )
    download = api.get(f"/api/v1/files/{file.id}")
    assert (download.status_code, download.json()["code"]) == (409, "rejected")
    metadata = api.get(f"/api/v1/files/{file.id}/metadata").json()
    assert metadata["state"] == "rejected" and "HTML" in metadata["rejectionReason"]


def test_expired_file_is_gone_everywhere(api, ready_file):
    """GIVEN a file past its expiresAt WHEN downloaded, resized or described THEN 410."""
    File.objects.filter(pk=ready_file.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    for path, params in (("", {}), ("", {"imageSize": "10x10"}), ("/metadata", {})):
        response = api.get(f"/api/v1/files/{ready_file.id}{path}", params)
        assert response.status_code == 410, path
        assert response.json()["code"] == "gone"


def test_metadata_lists_facets(api, ready_file):
    """GIVEN a ready file WHEN its metadata is read THEN state, checksum and facets appear."""
    metadata = api.get(f"/api/v1/files/{ready_file.id}/metadata").json()
    assert metadata["state"] == "ready" and metadata["sha256"] == ready_file.sha256
    assert {facet["name"] for facet in metadata["facets"]} == {"content", "thumbnail"}


def test_other_account_and_malformed_ids_are_404(other_api, api, ready_file):
    """GIVEN a file of account A WHEN B asks, or the id is malformed THEN 404."""
    assert other_api.get(f"/api/v1/files/{ready_file.id}").status_code == 404
    assert api.get("/api/v1/files/not-a-uuid").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_concurrent_rendition_requests_make_one_facet(account, patient, process_committed):
    """GIVEN a ready photo WHEN eight threads ask for the same new size at once
    THEN exactly one facet of the answer (134x100) and one of the kept size it is made
    from (171x128) exist, each with one stored object."""
    file = process_committed(samples.jpeg((800, 600)))
    barrier = threading.Barrier(8)
    results, errors = [], []

    def ask():
        try:
            barrier.wait()
            results.append(facet_rendition_get_or_create(file=file, width=100, height=100).pk)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(set(results)) == 1
    names = file.facets.filter(name__startswith="rendition:").values_list("name", flat=True)
    assert sorted(names) == ["rendition:134x100", "rendition:171x128"]
    assert len(stored_keys(file.permanent_prefix)) == 4  # content, thumbnail, these two
