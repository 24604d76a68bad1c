"""Cliniko's presigned flow over HTTP, on the embedded storage and on S3 (SeaweedFS)."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from attachments.models import PatientAttachment
from files.models import File
from portal.webhooks.models import Event
from tests.attachments import samples
from tests.attachments.conftest import post_to_storage
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def presign(api, patient) -> dict:
    response = api.get(f"/api/v1/patients/{patient.id}/attachment_presigned_post")
    assert response.status_code == 200, response.content
    return response.json()


def upload(api, patient, *, filename="scan of knee.pdf", content=None):
    """Presign and post the file to storage as Cliniko's guide says; the storage's answer."""
    post = presign(api, patient)
    answer = post_to_storage(
        post["url"],
        list(post["fields"].items()),
        filename=filename,
        content=content if content is not None else samples.pdf(),
    )
    assert answer.status == 201, answer.body
    return post, answer


def create(api, patient, upload_url, **extra):
    return api.post(
        "/api/v1/patient_attachments",
        {"patient_id": str(patient.id), "upload_url": upload_url, **extra},
        format="json",
    )


def test_presigned_post_has_cliniko_fields(storage_mode, api, account, patient):
    """GIVEN a patient WHEN a presigned post is asked for THEN it answers url and fields with a
    key under the patient's temporary prefix ending in ${filename}, a policy, SigV4 signature
    fields, success_action_status "201" and acl private."""
    post = presign(api, patient)
    fields = post["fields"]
    assert fields["key"].startswith(f"temp/accounts/{account.id}/patients/{patient.id}/")
    assert fields["key"].endswith("/${filename}")
    assert fields["success_action_status"] == "201"
    assert fields["acl"] == "private"
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    for name in ("policy", "x-amz-credential", "x-amz-date", "x-amz-signature"):
        assert fields[name]


def test_whole_flow_upload_create_process_download(
    storage_mode, api, account, patient, process, django_capture_on_commit_callbacks
):
    """GIVEN a file posted to storage with the presigned fields in order WHEN the attachment is
    created from the XML Location, as is, THEN it answers 201 at once, unprocessed with null
    content_type, filename and size; processing is queued after commit; after processing the
    record is complete, the temp object is gone, an event is recorded and the content downloads
    through the API."""
    _, answer = upload(api, patient, content=samples.pdf())
    location = answer.xml("Location")
    assert "%2F" in location  # the key is escaped in the Location, as S3 does
    temp_key = answer.xml("Key")
    assert default_storage.exists(temp_key)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = create(api, patient, location, description="Knee X-ray report")
    assert response.status_code == 201, response.content
    assert len(callbacks) == 1  # the processing task, queued only after commit
    body = response.json()
    assert body["processing_completed"] is False
    assert body["content_type"] is None and body["filename"] is None and body["size"] is None
    assert body["processed_at"] is None and body["archived_at"] is None
    assert body["description"] == "Knee X-ray report"
    attachment_id = body["id"]
    assert body["links"]["self"].endswith(f"/api/v1/patient_attachments/{attachment_id}")
    assert body["content"]["links"]["self"].endswith(
        f"/api/v1/patient_attachments/{attachment_id}/content"
    )
    assert body["patient"]["links"]["self"].endswith(f"/api/v1/patients/{patient.id}")
    assert response["Location"] == body["links"]["self"]
    not_yet = api.get(f"/api/v1/patient_attachments/{attachment_id}/content")
    assert not_yet.status_code == 409 and "message" in not_yet.json()

    (file,) = process(account)

    assert file.state == File.State.READY, file.rejection_reason
    assert not default_storage.exists(temp_key)
    body = api.get(f"/api/v1/patient_attachments/{attachment_id}").json()
    assert body["processing_completed"] is True
    assert body["content_type"] == "application/pdf"
    assert body["filename"] == "scan of knee.pdf"
    assert body["size"] == len(samples.pdf())
    assert body["processed_at"]
    event = Event.objects.get(type="patient-attachment.processed")
    assert event.payload["data"]["patient_attachment_id"] == attachment_id
    download = api.get(f"/api/v1/patient_attachments/{attachment_id}/content")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == samples.pdf()
    assert download["Content-Type"] == "application/pdf"


def test_presign_url_joined_with_key_is_accepted(storage_mode, api, patient):
    """GIVEN an upload WHEN upload_url is the presign url joined with the Key (Cliniko's
    current documents) THEN the attachment is created."""
    post, answer = upload(api, patient, filename="letter.pdf")
    upload_url = post["url"].rstrip("/") + "/" + answer.xml("Key")
    response = create(api, patient, upload_url)
    assert response.status_code == 201, response.content


def test_foreign_forged_and_missing_upload_urls_answer_422(
    storage_mode, api, other_api, account, patient, other_account
):
    """GIVEN uploads WHEN upload_url is another account's upload, another patient's, a URL on
    another host, a made-up key or one whose object is missing THEN each answers 422 in
    Cliniko's shape and no attachment is created."""
    _, answer = upload(api, patient)
    location = answer.xml("Location")
    other_patient = PatientFactory(account=other_account)
    _, foreign_answer = upload(other_api, other_patient)
    sibling = PatientFactory(account=account)
    post = presign(api, patient)
    never_posted = (
        post["url"].rstrip("/") + "/" + post["fields"]["key"].replace("${filename}", "nothing.pdf")
    )
    cases = {
        "another account's upload": (patient, foreign_answer.xml("Location")),
        "another patient's ticket": (sibling, location),
        "another host": (patient, location.replace("127.0.0.1", "evil.example", 1)),
        "a made-up key": (patient, location.replace("temp%2F", "temp%2F0", 1)),
        "a missing object": (patient, never_posted),
        "not a URL at all": (patient, "scan.pdf"),
    }
    for case, (for_patient, upload_url) in cases.items():
        response = create(api, for_patient, upload_url)
        assert response.status_code == 422, (case, response.content)
        assert response.json()["message"] == "Validation Failed", case
        assert "upload_url" in response.json()["errors"], case
    assert not PatientAttachment.objects.exists()


def test_one_upload_makes_one_attachment(api, patient):
    """GIVEN an attachment created from an upload WHEN the same upload_url is sent again
    THEN 422: one upload is one attachment."""
    _, answer = upload(api, patient)
    assert create(api, patient, answer.xml("Location")).status_code == 201
    again = create(api, patient, answer.xml("Location"))
    assert again.status_code == 422
    assert "already" in again.json()["errors"]["upload_url"]


def test_create_validation_errors(api, patient, other_account):
    """GIVEN bad input WHEN creating THEN 422 names the field: missing fields, a description
    over 255 characters, an unknown field, a foreign patient."""
    _, answer = upload(api, patient)
    location = answer.xml("Location")
    missing = api.post("/api/v1/patient_attachments", {}, format="json")
    assert missing.status_code == 422
    assert set(missing.json()["errors"]) == {"patient_id", "upload_url"}
    long = create(api, patient, location, description="x" * 256)
    assert long.status_code == 422 and "description" in long.json()["errors"]
    unknown = create(api, patient, location, filename="mine.pdf")
    assert unknown.status_code == 422 and "filename" in unknown.json()["errors"]
    foreign = create(api, PatientFactory(account=other_account), location)
    assert foreign.status_code == 422 and "patient_id" in foreign.json()["errors"]


def test_rejected_file_completes_with_its_reason(api, account, patient, process):
    """GIVEN an upload that is not a document type WHEN processed THEN the attachment says
    processing_completed with the reason, and its content cannot be downloaded."""
    _, answer = upload(api, patient, filename="page.pdf", content=b"<html><script>x</script>")
    attachment_id = create(api, patient, answer.xml("Location")).json()["id"]
    (file,) = process(account)
    assert file.state == File.State.REJECTED
    body = api.get(f"/api/v1/patient_attachments/{attachment_id}").json()
    assert body["processing_completed"] is True
    assert body["processing_error"]
    assert body["content_type"] is None
    assert api.get(f"/api/v1/patient_attachments/{attachment_id}/content").status_code == 409


def make_attachments(api, patient, count: int) -> list[str]:
    ids = []
    for index in range(count):
        _, answer = upload(api, patient, filename=f"doc-{index}.pdf")
        response = create(api, patient, answer.xml("Location"))
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    return ids


def test_lists_page_as_cliniko_does(api, account, patient, settings):
    """GIVEN 3 attachments WHEN listed with per_page=2 THEN total_entries is 3, the first page
    links to the next, the second to the previous, oldest first; per_page over 100 is refused;
    the account list and the patient's list agree, and another patient's list is empty."""
    ids = make_attachments(api, patient, 3)
    first = api.get("/api/v1/patient_attachments?per_page=2").json()
    assert first["total_entries"] == 3
    assert [a["id"] for a in first["patient_attachments"]] == ids[:2]
    assert "previous" not in first["links"] and "page=2" in first["links"]["next"]
    second = api.get(first["links"]["next"]).json()
    assert [a["id"] for a in second["patient_attachments"]] == ids[2:]
    assert "next" not in second["links"] and "page=1" in second["links"]["previous"]
    newest = api.get("/api/v1/patient_attachments?sort=created_at:desc").json()
    assert [a["id"] for a in newest["patient_attachments"]] == ids[::-1]
    assert api.get("/api/v1/patient_attachments?per_page=101").status_code == 422
    assert api.get("/api/v1/patient_attachments?page=0").status_code == 422
    mine = api.get(f"/api/v1/patients/{patient.id}/patient_attachments").json()
    assert mine["total_entries"] == 3
    sibling = PatientFactory(account=account)
    empty = api.get(f"/api/v1/patients/{sibling.id}/patient_attachments").json()
    assert empty["total_entries"] == 0 and empty["patient_attachments"] == []


def test_default_page_is_50(api, account, patient):
    """GIVEN 51 attachments WHEN listed without per_page THEN 50 come back and a next link."""
    from attachments.models import PatientAttachment as Model
    from files.models import File as FileModel

    for index in range(51):
        file = FileModel.objects.create(
            account=account,
            patient=patient,
            original_name=f"{index}.pdf",
            max_size=1,
            source=FileModel.Source.CLINIKO,
        )
        Model.objects.create(account=account, patient=patient, file=file)
    page = api.get("/api/v1/patient_attachments").json()
    assert len(page["patient_attachments"]) == 50 and page["total_entries"] == 51
    assert "next" in page["links"]
    assert (
        len(api.get("/api/v1/patient_attachments?per_page=100").json()["patient_attachments"]) == 51
    )


def test_archive_hides_from_lists_unless_asked(api, patient):
    """GIVEN two attachments WHEN one is archived by DELETE and the other by POST .../archive
    THEN both answer 204, keep answering GET with archived_at, are left out of lists, and
    q[]=archived_at:* brings them back (archived_at:? lists only archived ones)."""
    first, second = make_attachments(api, patient, 2)
    assert api.delete(f"/api/v1/patient_attachments/{first}").status_code == 204
    assert api.post(f"/api/v1/patient_attachments/{second}/archive").status_code == 204
    assert api.get(f"/api/v1/patient_attachments/{first}").json()["archived_at"]
    assert api.get("/api/v1/patient_attachments").json()["total_entries"] == 0
    assert (
        api.get(f"/api/v1/patients/{patient.id}/patient_attachments").json()["total_entries"] == 0
    )
    everything = api.get("/api/v1/patient_attachments", {"q[]": "archived_at:*"}).json()
    assert everything["total_entries"] == 2
    only = api.get("/api/v1/patient_attachments", {"q[]": "archived_at:?"}).json()
    assert only["total_entries"] == 2
    assert api.get("/api/v1/patient_attachments", {"q[]": "size:>1"}).status_code == 422


def test_errors_answer_in_clinikos_shape(anonymous_api, api):
    """GIVEN Cliniko routes WHEN called without a key or for an unknown id THEN 401 and 404
    answer {"message": ...}."""
    unauthenticated = anonymous_api.get("/api/v1/patient_attachments")
    assert unauthenticated.status_code == 401 and "message" in unauthenticated.json()
    missing = api.get("/api/v1/patient_attachments/not-an-id")
    assert missing.status_code == 404 and "message" in missing.json()
