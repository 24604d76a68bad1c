"""Each door answers each kind of service refusal with the status and body its dialect
documents, from the one mapping in portal.api.errors.

First the mapping itself, kind by kind and dialect by dialect (the portal's and X-on's
``{"error", "code"}``, Cliniko's ``{"message"}`` and 422, Medable's fault, the pages'
``{"error"}``); then each upload door through HTTP, one case per kind its service raises.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.test import Client

from attachments.api.errors import cliniko_exception_handler, medable_exception_handler
from filerequests import uploads
from filerequests.models import FileRequest
from files.models import File, UploadTicket
from portal.accounts.models import Account
from portal.api.errors import exception_handler as portal_exception_handler
from portal.api.errors import service_error_response
from portal.service_errors import (
    Conflict,
    Invalid,
    NotFound,
    QuotaExceeded,
    TooLarge,
    TooMany,
)
from tests.dashboard.conftest import signed_in_client
from tests.factories import (
    FileFactory,
    FileRequestFactory,
    PatientFactory,
    StaffFactory,
    UploadTicketFactory,
)
from tests.files import samples

pytestmark = pytest.mark.django_db

SENTENCE = "A sentence a person can act on."

# kind: (the error, status, the portal's code)
KINDS = {
    "invalid": (Invalid(SENTENCE, field="userId"), 400, "invalid"),
    "not_found": (NotFound(SENTENCE), 404, "not_found"),
    "conflict": (Conflict(SENTENCE), 409, "conflict"),
    "too_large": (TooLarge(SENTENCE), 413, "payload_too_large"),
    "quota_exceeded": (QuotaExceeded(SENTENCE, code="trial_quota_exceeded"), 403, None),
    "too_many": (TooMany(SENTENCE), 429, "too_many_requests"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_the_portal_and_xon_shape(kind):
    error, status, code = KINDS[kind]
    response = portal_exception_handler(error, {})
    assert response.status_code == status
    if kind == "invalid":
        assert response.data == {
            "error": f"userId: {SENTENCE}",
            "code": "invalid",
            "fields": {"userId": [SENTENCE]},
        }
    else:
        assert response.data == {"error": SENTENCE, "code": code or "trial_quota_exceeded"}


def test_the_portal_shape_of_several_refused_fields():
    error = Invalid("x", fields={"files.0": ["a.jpg: broken"], "files.2": ["c.jpg: broken"]})
    response = portal_exception_handler(error, {})
    assert response.status_code == 400
    assert response.data == {
        "error": "files.0: a.jpg: broken files.2: c.jpg: broken",
        "code": "invalid",
        "fields": {"files.0": ["a.jpg: broken"], "files.2": ["c.jpg: broken"]},
    }


@pytest.mark.parametrize("kind", KINDS)
def test_the_cliniko_shape(kind):
    """Cliniko answers invalid input and a full trial as 422 Validation Failed naming the
    field (``base`` for the account), everything else as ``{"message"}``."""
    error, status, _ = KINDS[kind]
    response = cliniko_exception_handler(error, {})
    if kind == "invalid":
        assert response.status_code == 422
        assert response.data == {"message": "Validation Failed", "errors": {"userId": SENTENCE}}
    elif kind == "quota_exceeded":
        assert response.status_code == 422
        assert response.data == {"message": "Validation Failed", "errors": {"base": SENTENCE}}
    else:
        assert response.status_code == status
        assert response.data == {"message": SENTENCE}


MEDABLE_CODES = {
    "invalid": ("kValidationError", "cortex.invalidArgument.validation", "userId"),
    "not_found": ("kNotFound", "cortex.notFound.unspecified", ""),
    "conflict": ("kMediaError", "cortex.error.mediaError", ""),
    "too_large": ("kTooLarge", "cortex.tooLarge.unspecified", ""),
    "quota_exceeded": ("kAccessDenied", "cortex.accessDenied.unspecified", ""),
    "too_many": ("kThrottled", "cortex.throttled.unspecified", ""),
}


@pytest.mark.parametrize("kind", KINDS)
def test_the_medable_fault(kind):
    error, status, _ = KINDS[kind]
    code, err_code, path = MEDABLE_CODES[kind]
    response = medable_exception_handler(error, {})
    assert response.status_code == status
    assert response.data == {
        "object": "fault",
        "name": "error",
        "code": code,
        "errCode": err_code,
        "status": status,
        "message": f"userId: {SENTENCE}" if kind == "invalid" else SENTENCE,
        "path": path,
        "reason": "",
    }


@pytest.mark.parametrize("kind", KINDS)
def test_the_pages_shape(kind):
    error, status, _ = KINDS[kind]
    response = service_error_response(error)
    assert response.status_code == status
    assert json.loads(response.content) == {"error": SENTENCE}


# --- Through each door ------------------------------------------------------------------


def trial_full(account, patient) -> None:
    account.plan = Account.Plan.TRIAL
    account.save()
    for _ in range(10):
        FileFactory(account=account, patient=patient, size=10, state=File.State.READY)


@pytest.fixture
def patient_page(account):
    """A browser that has passed the date-of-birth check of an open request."""
    patient = PatientFactory(account=account, date_of_birth=dt.date(1980, 6, 17))
    file_request = FileRequestFactory(account=account, patient=patient)
    client = Client()
    answer = client.post(
        f"/r/{file_request.short_link_id}", {"day": "17", "month": "6", "year": "1980"}
    )
    assert answer.status_code == 302
    client.file_request = file_request

    def post(path, body):
        return client.post(path, json.dumps(body), content_type="application/json")

    client.post_json = post
    return client


def photo_ticket_case(case, page, settings):
    """Arrange ``case`` for the patient page's ticket; the body to send."""
    file_request = page.file_request
    if case == "too_large":
        return {"size": settings.FILES_MAX_UPLOAD_BYTES + 1}
    if case == "quota_exceeded":
        trial_full(file_request.account, file_request.patient)
    if case == "too_many":
        for _ in range(uploads.MAX_TICKETS_PER_REQUEST):
            UploadTicketFactory(
                account=file_request.account,
                patient=file_request.patient,
                file_request=file_request,
            )
    if case == "too_many_waiting":
        settings.FILES_UNCONFIRMED_MAX_BYTES_PER_REQUEST = 10
    if case == "invalid":
        return {"size": 0}
    if case == "invalid_photo_id":
        return {"size": 100, "photoId": "not-a-uuid"}
    return {"size": 100}


PHOTO_TICKET_CASES = {
    "invalid": (400, "The photo is empty or its size is unknown. Choose it again."),
    "invalid_photo_id": (400, uploads.PHOTO_ID_MESSAGE),
    "too_large": (413, None),
    "quota_exceeded": (403, uploads.CLINIC_FULL_MESSAGE),
    "too_many": (429, "Too many uploads for this request. Please call the clinic."),
    "too_many_waiting": (429, uploads.WAITING_MESSAGE),
}


@pytest.mark.parametrize("case", PHOTO_TICKET_CASES)
def test_the_patient_page_ticket_answers_each_kind(case, patient_page, settings):
    status, message = PHOTO_TICKET_CASES[case]
    body = photo_ticket_case(case, patient_page, settings)
    answer = patient_page.post_json("/r/upload/ticket", body)
    assert answer.status_code == status, answer.content
    assert list(answer.json()) == ["error"]
    if message:
        assert answer.json()["error"] == message
    issued = UploadTicket.objects.filter(file_request=patient_page.file_request).count()
    assert issued == (uploads.MAX_TICKETS_PER_REQUEST if case == "too_many" else 0)


@pytest.mark.parametrize(
    "case, status, message",
    [
        ("unknown ticket", 404, "This upload is not part of your request. Add the photo again."),
        ("note not text", 400, "The note must be text."),
        ("unknown step", 400, uploads.UNKNOWN_SLOT_MESSAGE),
        ("step not text", 400, uploads.UNKNOWN_SLOT_MESSAGE),
        ("nothing uploaded", 409, "No file has been uploaded for this upload ticket yet."),
        ("bad photo id", 400, uploads.PHOTO_ID_MESSAGE),
    ],
)
def test_the_patient_page_confirmation_answers_each_kind(case, status, message, patient_page):
    ticket = patient_page.post_json("/r/upload/ticket", {"size": 100}).json()
    body = {
        "ticketId": ticket["ticketId"],
        "unknown ticket": {"ticketId": "00000000-0000-4000-8000-000000000000"},
        "note not text": {"description": ["a"]},
        "unknown step": {"slotId": "elbow"},
        "step not text": {"slotId": 3},
        "nothing uploaded": {},
        "bad photo id": {"photoId": 7},
    }
    answer = patient_page.post_json("/r/upload/confirm", {**body, **body.pop(case)})
    assert answer.status_code == status, answer.content
    assert answer.json() == {"error": message}
    assert not File.objects.filter(file_request=patient_page.file_request).exists()


@pytest.mark.parametrize(
    "case, status, message",
    [
        ("no size", 400, "The file is empty or its size is unknown."),
        ("too large", 413, "The file is larger than the 50 MB allowed."),
        ("no room", 403, "The file does not fit in what is left of the free trial's space."),
        ("trial full", 403, None),
        ("too many waiting", 429, None),
    ],
)
def test_the_dashboard_ticket_answers_each_kind(case, status, message, account, settings):
    settings.FILES_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
    patient = PatientFactory(account=account)
    staff = signed_in_client(StaffFactory(account=account))
    size = {"no size": 0, "too large": 50 * 1024 * 1024 + 1}.get(case, 100)
    if case == "no room":
        account.plan = Account.Plan.TRIAL
        account.save()
        FileFactory(account=account, patient=patient, size=1024 * 1024 - 50)
    if case == "trial full":
        trial_full(account, patient)
    if case == "too many waiting":
        settings.FILES_UNCONFIRMED_MAX_BYTES_PER_PATIENT = 10
    answer = staff.post(
        f"/patients/{patient.id}/attachments/upload/ticket/",
        {"name": "consent.pdf", "size": size},
        content_type="application/json",
    )
    assert answer.status_code == status, answer.content
    assert list(answer.json()) == ["error"]
    if message:
        assert answer.json()["error"] == message
    assert not UploadTicket.objects.exists()


def test_the_cliniko_presigned_post_answers_a_full_trial_and_too_many_waiting(
    api, account, patient, settings
):
    settings.FILES_UNCONFIRMED_MAX_BYTES_PER_PATIENT = 10
    waiting = api.get(f"/api/v1/patients/{patient.id}/attachment_presigned_post")
    assert waiting.status_code == 429
    assert list(waiting.json()) == ["message"]
    assert "waiting to be confirmed" in waiting.json()["message"]
    trial_full(account, patient)
    full = api.get(f"/api/v1/patients/{patient.id}/attachment_presigned_post")
    assert full.status_code == 422
    assert full.json()["message"] == "Validation Failed"
    assert full.json()["errors"]["base"].startswith("The free trial's limit of 10 files")


def xon_body(patient, **changes) -> dict:
    return {
        "files": [
            {
                "name": "IMG_1.jpg",
                "type": "image/jpeg",
                "contents": base64.b64encode(samples.jpeg((40, 30))).decode(),
            }
        ],
        "userId": str(patient.id),
        **changes,
    }


def test_the_xon_upload_answers_each_kind(api, account, patient, settings):
    """X-on's door: an unknown user or request 400 naming the field, an ended request
    409, a file past the limit 413, a full trial 403, each in the portal's shape."""
    unknown_user = api.post("/api/v1/files", xon_body(patient, userId="nobody"), format="json")
    assert unknown_user.status_code == 400
    assert unknown_user.json()["fields"] == {
        "userId": ["No patient or staff member with this id exists in your account."]
    }
    unknown_request = api.post(
        "/api/v1/files",
        xon_body(patient, fileRequestId="00000000-0000-4000-8000-000000000000"),
        format="json",
    )
    assert unknown_request.status_code == 400
    assert unknown_request.json() == {
        "error": "fileRequestId: No file request with this id exists in your account.",
        "code": "invalid",
        "fields": {"fileRequestId": ["No file request with this id exists in your account."]},
    }
    ended = FileRequestFactory(account=account, patient=patient, status=FileRequest.Status.EXPIRED)
    closed = api.post(
        "/api/v1/files", xon_body(patient, fileRequestId=str(ended.id)), format="json"
    )
    assert closed.status_code == 409
    assert closed.json() == {
        "error": "This file request has expired; it accepts no more files.",
        "code": "conflict",
    }
    settings.FILES_MAX_UPLOAD_BYTES = 100
    too_large = api.post("/api/v1/files", xon_body(patient), format="json")
    assert too_large.status_code == 413
    assert too_large.json()["code"] == "payload_too_large"
    settings.FILES_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
    trial_full(account, patient)
    full = api.post("/api/v1/files", xon_body(patient), format="json")
    assert full.status_code == 403
    assert full.json()["code"] == "trial_quota_exceeded"
    assert full.json()["error"].startswith("The free trial's limit of 10 files is reached.")
    assert not File.objects.filter(original_name="IMG_1.jpg").exists()
