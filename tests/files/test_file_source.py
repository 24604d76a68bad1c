"""Each door names itself on the file it makes (``File.source``), through its real API, and
the files stored before the field existed are given their door by the migration."""

from __future__ import annotations

import base64
import datetime
import importlib
import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import Client

from attachments.models import PatientAttachment, PatientPhoto
from attachments.services import photo_uploads_collect
from files.models import File
from tests.attachments import samples as attachment_samples
from tests.attachments.conftest import post_to_storage
from tests.dashboard.conftest import signed_in_client
from tests.factories import FileRequestFactory, PatientFactory, StaffFactory
from tests.files import samples

pytestmark = pytest.mark.django_db

DOB = datetime.date(1948, 3, 2)


def only_file(account) -> File:
    (file,) = File.objects.filter(account=account)
    return file


def test_a_photo_sent_on_the_patient_page_is_sent_by_the_patient(account):
    """GIVEN a request WHEN the patient verifies, takes a ticket, posts the photo to storage
    and confirms it, as the page does THEN the file's door is the patient's."""
    request = FileRequestFactory(
        account=account, patient=PatientFactory(account=account, date_of_birth=DOB)
    )
    phone = Client()
    answer = phone.post(f"/r/{request.short_link_id}", {"day": "2", "month": "3", "year": "1948"})
    assert answer.status_code == 302
    photo = samples.jpeg((640, 480))
    csrf = {"HTTP_X_CSRFTOKEN": phone.cookies["csrftoken"].value}
    photo_id = str(uuid.uuid4())
    ticket = phone.post(
        "/r/upload/ticket",
        {"size": len(photo), "name": "IMG_0001.JPG", "type": "image/jpeg", "photoId": photo_id},
        content_type="application/json",
        **csrf,
    )
    assert ticket.status_code == 200, ticket.content
    fields = dict(ticket.json()["fields"])
    fields["file"] = io.BytesIO(photo)
    fields["file"].name = "IMG_0001.JPG"
    assert phone.post(ticket.json()["url"], fields).status_code in (200, 201, 204)
    confirmed = phone.post(
        "/r/upload/confirm",
        {"ticketId": ticket.json()["ticketId"], "photoId": photo_id, "description": "left hand"},
        content_type="application/json",
        **csrf,
    )
    assert confirmed.status_code == 200, confirmed.content
    file = only_file(account)
    assert file.source == File.Source.REQUEST
    assert file.get_source_display() == "Sent by the patient"


def test_an_xon_upload_is_from_the_practice_system(api, account, patient):
    response = api.post(
        "/api/v1/files",
        {
            "files": [
                {
                    "name": "letter.jpg",
                    "type": "image/jpeg",
                    "contents": base64.b64encode(samples.jpeg((50, 40))).decode(),
                }
            ],
            "userId": str(patient.id),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    file = File.objects.get(pk=response.json()[0]["id"])
    assert file.source == File.Source.XON
    assert file.get_source_display() == "From the practice system"


def test_an_xon_upload_for_a_request_is_still_from_the_practice_system(api, account, patient):
    """The practice system answering a request on the patient's behalf is not the patient."""
    request = FileRequestFactory(account=account, patient=patient)
    response = api.post(
        "/api/v1/files",
        {
            "files": [
                {
                    "name": "a.jpg",
                    "type": "image/jpeg",
                    "contents": base64.b64encode(samples.jpeg((50, 40))).decode(),
                }
            ],
            "userId": str(patient.id),
            "fileRequestId": str(request.id),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert File.objects.get(pk=response.json()[0]["id"]).source == File.Source.XON


def test_a_claros_pdf_is_a_pdf_letter(api, account, patient):
    response = api.post(
        f"/api/v1/patients/{patient.id}/pdf/",
        {
            "file": SimpleUploadedFile("upload.bin", attachment_samples.pdf()),
            "filename": "discharge.pdf",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    file = only_file(account)
    assert file.source == File.Source.CLAROS
    assert file.get_source_display() == "PDF letter"


def test_a_cliniko_attachment_is_from_the_clinic_system(api, account, patient):
    post = api.get(f"/api/v1/patients/{patient.id}/attachment_presigned_post").json()
    answer = post_to_storage(
        post["url"],
        list(post["fields"].items()),
        filename="scan.pdf",
        content=attachment_samples.pdf(),
    )
    response = api.post(
        "/api/v1/patient_attachments",
        {"patient_id": str(patient.id), "upload_url": answer.xml("Location")},
        format="json",
    )
    assert response.status_code == 201, response.content
    file = only_file(account)
    assert file.source == File.Source.CLINIKO
    assert file.get_source_display() == "From the clinic system"


def test_a_medable_photo_is_from_the_patients_app(api, account, patient):
    upload = api.put(
        f"/api/v1/patients/{patient.id}/photo", {"content": "IMG_1399.JPG"}, format="json"
    ).json()["uploads"][0]
    fields = [(f["key"], f["value"]) for f in upload["fields"]]
    answer = post_to_storage(
        upload["uploadUrl"],
        fields,
        filename="IMG_1399.JPG",
        content=samples.jpeg((64, 48)),
        file_field=upload["uploadKey"],
        content_type="image/jpeg",
    )
    assert answer.status == 201, answer.body
    assert photo_uploads_collect() == 1
    file = only_file(account)
    assert file.source == File.Source.MEDABLE
    assert file.get_source_display() == "Photo from the patient's app"


def test_a_dashboard_upload_is_uploaded_by_staff(account, patient):
    staff = signed_in_client(StaffFactory(account=account))
    pdf = attachment_samples.pdf()
    ticket = staff.post(
        f"/patients/{patient.id}/attachments/upload/ticket/",
        {"name": "consent.pdf", "size": len(pdf)},
        content_type="application/json",
    )
    assert ticket.status_code == 201, ticket.content
    body = ticket.json()
    answer = post_to_storage(body["url"], body["fields"], filename="consent.pdf", content=pdf)
    assert answer.status in (201, 204), answer.body
    confirmed = staff.post(
        f"/patients/{patient.id}/attachments/upload/confirm/",
        {"ticketId": body["ticketId"]},
        content_type="application/json",
    )
    assert confirmed.status_code in (200, 201), confirmed.content
    file = only_file(account)
    assert file.source == File.Source.DASHBOARD
    assert file.get_source_display() == "Uploaded by staff"


# --- The files stored before: the migration's back-fill ---------------------------------


def backfill():
    """The migration's own function, on the models as they were when it runs."""
    migration = importlib.import_module("files.migrations.0011_file_source")
    state = MigrationLoader(connection).project_state(("files", "0011_file_source"))
    migration.sources_backfill(state.apps, None)


def a_blank_file(account, patient, **fields) -> File:
    return File.objects.create(
        account=account, patient=patient, original_name="x", max_size=1, source="", **fields
    )


def test_the_backfill_names_the_door_of_every_file_stored_before(account, patient):
    """GIVEN files stored before the field (blank), one by each door's trail WHEN the
    migration's back-fill runs (twice) THEN each has its door; a door already set stays."""
    doors = {}
    for source in ("cliniko", "claros", "dashboard"):
        file = a_blank_file(account, patient)
        PatientAttachment.objects.create(account=account, patient=patient, file=file)
        doors[file.pk] = source
    with connection.cursor() as cursor:
        for file_id, source in doors.items():
            cursor.execute(
                "UPDATE attachments_patientattachment SET source = %s WHERE file_id = %s",
                [source, file_id],
            )
    photo = a_blank_file(account, patient)
    PatientPhoto.objects.create(
        account=account, patient=patient, file=photo, filename="a.jpg", content_type="image/jpeg"
    )
    doors[photo.pk] = "medable"
    request = FileRequestFactory(account=account, patient=patient)
    by_patient = a_blank_file(account, patient, actor_kind="patient_link", file_request=request)
    doors[by_patient.pk] = "request"
    by_api = a_blank_file(account, patient, actor_kind="api_key")
    doors[by_api.pk] = "xon"
    already = a_blank_file(account, patient)
    File.objects.filter(pk=already.pk).update(source="report")
    doors[already.pk] = "report"

    backfill()
    backfill()

    assert {f.pk: f.source for f in File.objects.filter(account=account)} == doors
