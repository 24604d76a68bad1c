"""Claros's PDF upload: multipart through the app, on both storages."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from attachments.api.claros import PatientPdfUploadApi
from attachments.models import PatientAttachment
from files.models import File
from portal.accounts.services import api_key_create
from tests.attachments import samples
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def upload_pdf(api, patient_id, content: bytes, filename="medical_record.pdf", **extra):
    return api.post(
        f"/api/v1/patients/{patient_id}/pdf/",
        {"file": SimpleUploadedFile("upload.bin", content), "filename": filename, **extra},
        format="multipart",
    )


def test_pdf_upload_answers_201_then_processes_and_downloads(
    storage_mode, api, account, patient, process
):
    """GIVEN a PDF WHEN posted with X-API-Key THEN 201 {id, url, filename, created_at,
    patient_id}; url is the authenticated content download, which serves the PDF once
    processed (and never without a key); the attachment is in Cliniko's list too."""
    response = upload_pdf(api, patient.id, samples.pdf())
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "url", "filename", "created_at", "patient_id"}
    assert body["filename"] == "medical_record.pdf"
    assert body["patient_id"] == patient.number
    assert isinstance(body["patient_id"], int)
    assert body["url"].endswith(f"/api/v1/patient_attachments/{body['id']}/content")

    (file,) = process(account)

    assert file.state == File.State.READY, file.rejection_reason
    download = api.get(body["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == samples.pdf()
    from rest_framework.test import APIClient

    assert APIClient().get(body["url"]).status_code == 401
    listed = api.get(f"/api/v1/patients/{patient.id}/patient_attachments").json()
    assert [a["id"] for a in listed["patient_attachments"]] == [body["id"]]


def test_the_patient_number_is_the_integer_id_of_seed_002(api, account, other_account):
    """GIVEN a clinic's patients numbered 1 and 2, and another clinic's patient 1
    WHEN a typed Claros client builds the path from the integer patient_id it was given
    THEN the upload reaches that patient of its own clinic and answers the same integer;
    a number the clinic has not given answers 404, never another clinic's patient."""
    from tests.factories import PatientFactory

    first, second = PatientFactory(account=account), PatientFactory(account=account)
    theirs = PatientFactory(account=other_account)
    assert (first.number, second.number, theirs.number) == (1, 2, 1)
    response = upload_pdf(api, 2, samples.pdf())
    assert response.status_code == 201, response.content
    assert response.json()["patient_id"] == 2
    assert File.objects.get().patient == second
    for unknown in (3, 0, -1, 99999999999, "1e3", "\uff12"):
        assert upload_pdf(api, unknown, samples.pdf()).status_code == 404, unknown
    assert File.objects.count() == 1


def test_not_a_pdf_or_no_pdf_extension_is_400(api, patient):
    """GIVEN a JPEG named .pdf, or a PDF named .txt, or no file WHEN posted THEN 400 saying
    what is wrong, and nothing is stored."""
    not_pdf = upload_pdf(api, patient.id, samples.jpeg())
    assert not_pdf.status_code == 400
    assert "valid PDF" in not_pdf.json()["error"]
    wrong_name = upload_pdf(api, patient.id, samples.pdf(), filename="record.txt")
    assert wrong_name.status_code == 400
    assert ".pdf" in wrong_name.json()["fields"]["filename"][0]
    no_file = api.post(
        f"/api/v1/patients/{patient.id}/pdf/", {"filename": "a.pdf"}, format="multipart"
    )
    assert no_file.status_code == 400
    assert not File.objects.exists() and not PatientAttachment.objects.exists()


def test_401_403_404(anonymous_api, api, other_account):
    """GIVEN the upload route WHEN called without a key, with a revoked one, for another
    account's patient and for no patient THEN 401, 401, 403 (as Claros documents) and 404."""
    from rest_framework.test import APIClient

    assert upload_pdf(anonymous_api, "x", samples.pdf()).status_code == 401
    revoked = api_key_create(account=other_account)
    from portal.accounts.services import api_key_revoke

    api_key_revoke(api_key=revoked.api_key)
    revoked_client = APIClient()
    revoked_client.credentials(HTTP_X_API_KEY=revoked.plaintext)
    assert upload_pdf(revoked_client, "x", samples.pdf()).status_code == 401
    foreign = PatientFactory(account=other_account)
    forbidden = upload_pdf(api, foreign.id, samples.pdf())
    assert forbidden.status_code == 403
    assert "your account" in forbidden.json()["error"]
    assert upload_pdf(api, "8b1c3f8e-0000-4000-8000-000000000000", samples.pdf()).status_code == 404
    assert upload_pdf(api, "123", samples.pdf()).status_code == 404


def test_too_large_is_413_while_streaming(api, patient, settings):
    """GIVEN a size limit WHEN a PDF just past it is posted THEN 413 (the handler stops at the
    chunk that crosses the limit); a PDF at the limit is accepted."""
    limit = 3000
    settings.ATTACHMENTS_CLAROS_MAX_PDF_BYTES = limit
    base = samples.pdf()
    at_limit = base + b"%" * (limit - len(base))
    assert upload_pdf(api, patient.id, at_limit).status_code == 201
    too_large = upload_pdf(api, patient.id, at_limit + b"%")
    assert too_large.status_code == 413
    assert "3,000 bytes" in too_large.json()["error"]


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def post_counting(api_key, patient, payload: bytes):
    """Post through the view with a body stream that counts what the server reads."""
    body = encode_multipart(
        BOUNDARY, {"filename": "big.pdf", "file": SimpleUploadedFile("big.pdf", payload)}
    )
    stream = CountingStream(body)
    request = RequestFactory().generic(
        "POST",
        f"/api/v1/patients/{patient.id}/pdf/",
        data=body,
        content_type=MULTIPART_CONTENT,
        HTTP_X_API_KEY=api_key.plaintext,
        **{"wsgi.input": stream},
    )
    response = PatientPdfUploadApi.as_view()(request, patient_id=str(patient.id))
    return response, stream.bytes_read, len(body)


@pytest.mark.parametrize(
    ("limit", "extra"),
    [(1024, 2 * 1024 * 1024), (100 * 1024, 200 * 1024)],
    ids=["declared-length-over-the-limit", "file-crosses-the-limit-mid-stream"],
)
def test_413_stops_reading_the_body(api_key, patient, settings, limit, extra):
    """GIVEN a size limit WHEN a far larger file is posted THEN 413 is answered before the
    body is read through: refused at once when Content-Length already says so, else at the
    chunk that crosses the limit, never after buffering the whole file."""
    settings.ATTACHMENTS_CLAROS_MAX_PDF_BYTES = limit
    response, bytes_read, total = post_counting(api_key, patient, samples.pdf() + b"%" * extra)
    assert response.status_code == 413
    assert bytes_read < total * 0.75, (bytes_read, total)
    assert not File.objects.exists()
