"""Medable's photo file property: two-stage upload, facets, refresh, references, on both
storages."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from attachments.models import PatientPhoto
from attachments.services import photo_uploads_collect
from files.models import File
from tests.attachments import samples
from tests.attachments.conftest import post_to_storage
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

UPLOAD_FORMS = [
    "file://IMG_1399.JPG",
    "upload://IMG_1399.JPG",
    "IMG_1399.JPG",
    {"upload": "IMG_1399.JPG"},
    {"source": "upload", "filename": "IMG_1399.JPG"},
]


def put_photo(api, patient, value):
    return api.put(f"/api/v1/patients/{patient.id}/photo", {"content": value}, format="json")


def post_upload(upload: dict, content: bytes, filename="IMG_1399.JPG"):
    """As the seed says: the fields in their order, then the file under uploadKey, last."""
    assert upload["uploadMethod"] == "post"
    return post_to_storage(
        upload["uploadUrl"],
        [(field["key"], field["value"]) for field in upload["fields"]],
        filename=filename,
        content=content,
        file_field=upload["uploadKey"],
        content_type="image/jpeg",
    )


def assert_fault(response, status: int, code: str | None = None):
    body = response.json()
    assert response.status_code == status, response.content
    assert body["object"] == "fault" and body["status"] == status
    assert {"name", "code", "errCode", "message", "path", "reason"} <= set(body)
    if code:
        assert body["code"] == code
    return body


@pytest.mark.parametrize("value", UPLOAD_FORMS, ids=str)
def test_every_upload_form_answers_the_pending_property(api, api_key, patient, value):
    """GIVEN each upload value form of seed 003 WHEN the photo is written THEN the property
    answers as the seed shows: content pending at its path, a pending thumbnail facet, and
    one upload with ordered {key, value} fields, maxFileSize, uploadKey file, method post."""
    response = put_photo(api, patient, value)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "content" and body["state"] == 0
    assert body["path"] == f"/patients/{patient.id}/photo/content"
    assert body["creator"] == str(api_key.api_key.pk)
    assert [(f["name"], f["state"], f["path"]) for f in body["facets"]] == [
        ("thumbnail", 0, f"/patients/{patient.id}/photo/thumbnail")
    ]
    (upload,) = body["uploads"]
    assert upload["name"] == "content" and upload["state"] == 0
    assert (upload["uploadKey"], upload["uploadMethod"]) == ("file", "post")
    assert upload["maxFileSize"] > 0
    keys = [field["key"] for field in upload["fields"]]
    assert keys.index("key") < keys.index("policy") < keys.index("x-amz-signature")
    fields = {field["key"]: field["value"] for field in upload["fields"]}
    assert fields["key"].endswith("/IMG_1399.JPG")
    assert fields["Content-Type"] == "image/jpeg"


def test_upload_is_collected_processed_and_served(storage_mode, api, account, patient, process):
    """GIVEN the property written WHEN the client posts the fields in order and the file last
    and does nothing more THEN the collector confirms it (state 1), processing makes it ready
    (state 2) with a ready thumbnail, and both facets download; before that they answer 202
    kMediaNotReady."""
    upload = put_photo(api, patient, "IMG_1399.JPG").json()["uploads"][0]
    assert_fault(api.get(f"/api/v1/patients/{patient.id}/photo/content"), 202, "kMediaNotReady")
    answer = post_upload(upload, samples.jpeg((640, 480)))
    assert answer.status == 201, answer.body

    assert photo_uploads_collect() == 1
    assert photo_uploads_collect() == 0  # collected once only
    processing = api.get(f"/api/v1/patients/{patient.id}/photo").json()
    assert processing["state"] == 1 and processing["uploads"] == []
    assert_fault(api.get(f"/api/v1/patients/{patient.id}/photo/thumbnail"), 202, "kMediaNotReady")

    (file,) = process(account)

    assert file.state == File.State.READY, file.rejection_reason
    ready = api.get(f"/api/v1/patients/{patient.id}/photo").json()
    assert ready["state"] == 2 and ready["mime"] == "image/jpeg"
    assert ready["facets"][0]["state"] == 2
    content = api.get(f"/api/v1/patients/{patient.id}/photo/content")
    assert content.status_code == 200 and content["Content-Type"] == "image/jpeg"
    assert b"".join(content.streaming_content)[:2] == b"\xff\xd8"
    thumbnail = api.get(f"/api/v1/patients/{patient.id}/photo/thumbnail", HTTP_ACCEPT="image/*")
    assert thumbnail.status_code == 200
    assert int(thumbnail["Content-Length"]) < int(content["Content-Length"])


def test_extension_must_match_an_accepted_type(api, patient):
    """GIVEN names the content facet does not accept WHEN written THEN a 400 fault; writing
    the thumbnail, or a malformed value, is a 400 fault too."""
    for name in ("report.pdf", "photo", "photo.gif", "photo.jpg.exe", "dir/photo.jpg"):
        body = assert_fault(put_photo(api, patient, name), 400)
        assert body["path"] == "content"
    assert_fault(
        api.put(f"/api/v1/patients/{patient.id}/photo", {"thumbnail": "a.jpg"}, format="json"),
        400,
    )
    assert_fault(put_photo(api, patient, {"source": "elsewhere", "filename": "a.jpg"}), 400)
    assert_fault(put_photo(api, patient, 42), 400)
    assert not PatientPhoto.objects.exists()


def test_refresh_gives_fresh_credentials(api, patient):
    """GIVEN a pending upload WHEN refreshed with ["content"] THEN a list of one upload with
    new signed fields for the same file name; an unknown facet is a 400 fault."""
    first = put_photo(api, patient, "IMG_1399.JPG").json()["uploads"][0]
    response = api.put(f"/api/v1/patients/{patient.id}/photo/refresh", ["content"], format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["hasMore"] is False and body["object"] == "list"
    (fresh,) = body["data"]
    assert fresh["filename"] == "IMG_1399.JPG" and fresh["name"] == "content"
    old = {f["key"]: f["value"] for f in first["fields"]}
    new = {f["key"]: f["value"] for f in fresh["fields"]}
    assert new["key"] != old["key"] and new["policy"] != old["policy"]
    assert_fault(
        api.put(f"/api/v1/patients/{patient.id}/photo/refresh", ["avatar"], format="json"), 400
    )


def ready_photo(api, account, patient, process):
    upload = put_photo(api, patient, "source.jpg").json()["uploads"][0]
    assert post_upload(upload, samples.jpeg((300, 200)), filename="source.jpg").status == 201
    photo_uploads_collect()
    process(account)


@pytest.mark.parametrize(
    "reference",
    [
        "/patients/{id}/photo/content",
        "patients/{id}/photo/content",
        "facet:///patients/{id}/photo/content",
        "facet://patients/{id}/photo/content",
        {"source": "facet", "filename": "copy.jpg", "path": "/patients/{id}/photo/content"},
    ],
    ids=str,
)
def test_facet_references_copy_the_bytes(api, account, patient, process, reference):
    """GIVEN a patient whose photo is ready WHEN another patient's photo is written with each
    facet reference form THEN the source bytes are copied into a new file that is processed
    like any upload; the source is untouched."""
    ready_photo(api, account, patient, process)
    target = PatientFactory(account=account)
    if isinstance(reference, dict):
        value = {**reference, "path": reference["path"].format(id=patient.id)}
    else:
        value = reference.format(id=patient.id)
    response = put_photo(api, target, value)
    assert response.status_code == 200, response.content
    assert response.json()["state"] == 1 and response.json()["uploads"] == []
    process(account)
    copied = api.get(f"/api/v1/patients/{target.id}/photo").json()
    assert copied["state"] == 2
    source_photo = PatientPhoto.objects.get(patient=patient)
    target_photo = PatientPhoto.objects.get(patient=target)
    assert target_photo.file_id != source_photo.file_id
    assert target_photo.file.sha256 == source_photo.file.sha256


def test_facet_reference_to_another_account_is_refused(
    api, account, other_api, other_account, process
):
    """GIVEN another account's patient with a ready photo WHEN referenced THEN a 400 fault,
    and nothing is copied."""
    foreign_patient = PatientFactory(account=other_account)
    ready_photo(other_api, other_account, foreign_patient, process)
    mine = PatientFactory(account=account)
    body = assert_fault(put_photo(api, mine, f"/patients/{foreign_patient.id}/photo/content"), 400)
    assert "does not exist in your account" in body["message"]
    assert not PatientPhoto.objects.filter(patient=mine).exists()


def test_refused_upload_is_dead_with_a_fault(storage_mode, api, account, patient, process):
    """GIVEN an upload whose bytes are not an image WHEN processed THEN the content facet is
    state 4 with a fault, and reading it says so."""
    upload = put_photo(api, patient, "IMG_1399.JPG").json()["uploads"][0]
    assert post_upload(upload, b"<html><script>alert(1)</script></html>").status == 201
    photo_uploads_collect()
    process(account)
    body = api.get(f"/api/v1/patients/{patient.id}/photo").json()
    assert body["state"] == 4 and body["fault"]["reason"]
    assert body["facets"][0]["state"] == 4
    assert_fault(api.get(f"/api/v1/patients/{patient.id}/photo/content"), 410)


def test_no_photo_yet_is_404_fault(api, patient):
    """GIVEN a patient without a photo WHEN read THEN a 404 fault."""
    assert_fault(api.get(f"/api/v1/patients/{patient.id}/photo"), 404, "kNotFound")


def test_bytes_posted_and_temp_object_removed(storage_mode, api, account, patient, process):
    """GIVEN a collected, processed photo THEN its temporary object is gone from storage."""
    upload = put_photo(api, patient, "IMG_1399.JPG").json()["uploads"][0]
    key = {f["key"]: f["value"] for f in upload["fields"]}["key"]
    post_upload(upload, samples.jpeg())
    assert default_storage.exists(key)
    photo_uploads_collect()
    process(account)
    assert not default_storage.exists(key)


def test_unknown_facet_is_404_fault(api, account, patient, process):
    """GIVEN a photo WHEN a facet it does not have is read THEN a 404 fault."""
    ready_photo(api, account, patient, process)
    assert_fault(api.get(f"/api/v1/patients/{patient.id}/photo/original"), 404, "kNotFound")
