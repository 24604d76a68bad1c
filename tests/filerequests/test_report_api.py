"""``GET /api/v1/file-requests/{id}/report``: the record report as a PDF, made on the first
ask (409 with Retry-After meanwhile), never another clinic's; and FHIR offers it as a
DocumentReference of the patient."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from filerequests.models import RecordReport
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from tests.factories import FileRequestFactory
from tests.filerequests.reports import answered_request, make_report, pdf_text, photo_sent

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(account, django_capture_on_commit_callbacks):
    return answered_request(account, django_capture_on_commit_callbacks)


def report_url(file_request) -> str:
    return f"/api/v1/file-requests/{file_request.id}/report"


def test_the_report_is_made_on_the_first_ask_then_answered_as_a_pdf(
    api, answered, django_capture_on_commit_callbacks
):
    """GIVEN an answered request WHEN its report is asked THEN 409 with Retry-After while
    the worker makes it (and while the pipeline checks the PDF), asking again makes no
    second one; once ready THEN 200 application/pdf holding the patient's name, NHS
    number and each photo's SHA-256, the download audited."""
    file_request = answered["request"]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = api.get(report_url(file_request))
    assert first.status_code == 409, first.content
    assert first["Retry-After"] == "5"
    assert first.json()["error"] == "The report is being made; try again shortly."
    assert len(queued) == 1  # the worker's task, after commit

    again = api.get(report_url(file_request))
    assert again.status_code == 409 and again["Retry-After"] == "5"
    report = RecordReport.objects.get()

    with django_capture_on_commit_callbacks(execute=False):
        from filerequests.record_reports import record_report_make

        record_report_make(report_id=report.pk, actor=Actor.system())
    report.refresh_from_db()
    checking = api.get(report_url(file_request))  # stored, not yet through the pipeline
    assert checking.status_code == 409 and checking["Retry-After"]

    make_report(report, django_capture_on_commit_callbacks, Actor.system())
    response = api.get(report_url(file_request))
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    data = b"".join(response.streaming_content)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data).replace("\n", "")
    assert "THOMPSON, Margaret" in text and "943 476 5919" in text
    assert all(photo.sha256 in text for photo in answered["photos"])
    assert len(PdfReader(io.BytesIO(data)).pages) == 3
    assert RecordReport.objects.count() == 1
    assert AuditEvent.objects.filter(action="file.download", target_id=str(report.file_id))


def test_the_report_of_another_clinics_request_is_not_found(
    other_api, answered, django_capture_on_commit_callbacks
):
    """GIVEN clinic A's answered request WHEN clinic B's key asks its report (and ids
    that are not requests) THEN 404 every time, and nothing is made."""
    file_request = answered["request"]
    with django_capture_on_commit_callbacks(execute=False):
        for path in (
            report_url(file_request),
            "/api/v1/file-requests/00000000-0000-0000-0000-000000000000/report",
            "/api/v1/file-requests/not-a-uuid/report",
            f"/api/v1/file-requests/{answered['photos'][0].id}/report",
        ):
            response = other_api.get(path)
            assert response.status_code == 404, path
    assert not RecordReport.objects.exists()


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_X_API_KEY": "cfp_not-a-key"}, {"HTTP_AUTHORIZATION": "Bearer "}],
    ids=["no key", "unknown key", "empty bearer"],
)
def test_the_report_needs_a_key(anonymous_api, answered, headers):
    response = anonymous_api.get(report_url(answered["request"]), **headers)
    assert response.status_code == 401
    assert not RecordReport.objects.exists()


def test_a_request_nothing_answered_has_no_report(api, account):
    """GIVEN a request no photo has answered WHEN its report is asked THEN 409 in words,
    without Retry-After (waiting will not help until the patient answers)."""
    response = api.get(report_url(FileRequestFactory(account=account)))
    assert response.status_code == 409
    assert "no photos have arrived" in response.json()["error"]
    assert "Retry-After" not in response


def test_fhir_lists_the_report_as_a_document_of_the_patient(
    api, answered, django_capture_on_commit_callbacks
):
    """GIVEN a made report WHEN a record system searches the patient's DocumentReferences
    THEN the report is one, a PDF, with its own id, beside the photos."""
    file_request = answered["request"]
    with django_capture_on_commit_callbacks(execute=False):
        api.get(report_url(file_request))
    report = RecordReport.objects.get()
    file = make_report(report, django_capture_on_commit_callbacks, Actor.system())
    response = api.get(
        f"/fhir/R4/DocumentReference?patient={answered['patient'].id}",
        HTTP_ACCEPT="application/fhir+json",
    )
    assert response.status_code == 200, response.content
    entries = {e["resource"]["id"]: e["resource"] for e in response.json()["entry"]}
    assert str(file.id) in entries
    attachment = entries[str(file.id)]["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    assert entries[str(file.id)]["subject"]["reference"] == f"Patient/{answered['patient'].id}"
    assert {str(p.id) for p in answered["photos"]} <= set(entries)


def test_the_request_says_its_outcome_and_who_saved_it_to_the_record(
    api, answered, django_capture_on_commit_callbacks
):
    """GIVEN a request reviewed as Referred and saved to record WHEN read or listed by
    the API THEN reviewOutcome and savedToRecord say what, who and when; before, null."""
    from filerequests import record_reports, staff_actions

    file_request, staff = answered["request"], answered["staff"]
    before = api.get(f"/api/v1/file-requests/{file_request.id}").json()
    assert before["reviewOutcome"] is None and before["savedToRecord"] is None
    with django_capture_on_commit_callbacks(execute=False):
        staff_actions.file_request_review(
            file_request=file_request,
            staff=staff,
            actor=Actor.for_staff(staff),
            outcome="referred",
            note="To dermatology.",
        )
        report = record_reports.file_request_save_to_record(
            file_request=file_request, staff=staff, actor=Actor.for_staff(staff)
        )
    body = api.get(f"/api/v1/file-requests/{file_request.id}").json()
    assert body["reviewOutcome"]["outcome"] == "referred"
    assert body["reviewOutcome"]["label"] == "Referred"
    assert body["reviewOutcome"]["note"] == "To dermatology."
    assert body["reviewOutcome"]["recordedBy"] == "Dr Rachel Williams"
    assert body["savedToRecord"]["savedBy"] == "Dr Rachel Williams"
    assert body["savedToRecord"]["fileId"] is None  # the worker has not made it yet
    make_report(report, django_capture_on_commit_callbacks, Actor.system())
    (listed,) = api.get("/api/v1/file-requests").json()["results"]
    assert listed["savedToRecord"]["fileId"] == str(RecordReport.objects.get().file_id)


def test_a_report_whose_task_was_lost_is_asked_of_the_worker_again(
    api, answered, django_capture_on_commit_callbacks
):
    """GIVEN a report asked three minutes ago and never made (its task lost) WHEN asked
    again THEN 409 with Retry-After and its task queued again; within two minutes, not."""
    file_request = answered["request"]
    with django_capture_on_commit_callbacks(execute=False):
        api.get(report_url(file_request))
    report = RecordReport.objects.get()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert api.get(report_url(file_request)).status_code == 409
    assert queued == []
    RecordReport.objects.filter(pk=report.pk).update(
        created_at=report.created_at - dt.timedelta(minutes=3)
    )
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api.get(report_url(file_request))
    assert response.status_code == 409 and response["Retry-After"] == "5"
    assert len(queued) == 1
    assert RecordReport.objects.count() == 1


def test_a_set_of_one_patients_files_is_reported_through_the_api(
    api, answered, django_capture_on_commit_callbacks
):
    """GIVEN two of Margaret Thompson's photos WHEN a record system asks one report of
    them THEN 202 with the report and its Location, 409 with Retry-After while it is made,
    then the PDF holding both SHA-256s; the same set asked again is the same report."""
    ids = [str(photo.id) for photo in answered["photos"]]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        created = api.post("/api/v1/record-reports", {"fileIds": ids[::-1]}, format="json")
    assert created.status_code == 202, created.content
    body = created.json()
    assert body["state"] == "making" and body["fileIds"] == ids  # in the order they arrived
    assert body["patientId"] == str(answered["patient"].id) and len(queued) == 1
    assert created["Location"] == f"/api/v1/record-reports/{body['id']}"
    waiting = api.get(created["Location"])
    assert waiting.status_code == 409 and waiting["Retry-After"] == "5"
    make_report(RecordReport.objects.get(), django_capture_on_commit_callbacks, Actor.system())
    response = api.get(created["Location"])
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(b"".join(response.streaming_content)).replace("\n", "")
    assert all(photo.sha256 in text for photo in answered["photos"])
    again = api.post("/api/v1/record-reports", {"fileIds": ids}, format="json")
    assert again.json()["id"] == body["id"] and again.json()["state"] == "ready"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "This field is required."),
        ({"fileIds": []}, "Ensure this field has at least 1 elements."),
        ({"fileIds": "not-a-list"}, 'Expected a list of items but got type "str".'),
        ({"fileIds": ["not-a-uuid"]}, "'not-a-uuid' is not a file id."),
        ({"fileIds": ["00000000-0000-0000-0000-000000000000"]}, "No file with id"),
        ({"fileIds": ["FOREIGN"]}, "No file with id"),
        ({"fileIds": ["OTHER_PATIENT", "MINE"]}, "one patient of this clinic"),
        ({"fileIds": ["MINE"] * 51}, "Ensure this field has no more than 50 elements."),
        ({"fileIds": ["MINE"], "patientId": "x"}, "patientId"),
    ],
    ids=[
        "no ids",
        "empty",
        "not a list",
        "not a uuid",
        "unknown",
        "another clinic's",
        "two patients",
        "too many",
        "unknown field",
    ],
)
def test_a_report_of_files_that_cannot_be_one_is_refused(
    api, answered, account, django_capture_on_commit_callbacks, body, message
):
    """GIVEN files of two patients, another clinic's file, or a body that is not a list
    of ids WHEN a report of them is asked THEN 400 naming fileIds (another clinic's file
    reads as no file at all), and nothing is made."""
    mine = str(answered["photos"][0].id)
    other_patient = photo_sent(
        FileRequestFactory(account=account),
        django_capture_on_commit_callbacks,
        name="o.jpg",
        note="",
    )
    foreign = photo_sent(
        FileRequestFactory(), django_capture_on_commit_callbacks, name="f.jpg", note=""
    )
    swap = {"MINE": mine, "OTHER_PATIENT": str(other_patient.id), "FOREIGN": str(foreign.id)}
    if isinstance(body.get("fileIds"), list):
        body = {**body, "fileIds": [swap.get(i, i) for i in body["fileIds"]]}
    response = api.post("/api/v1/record-reports", body, format="json")
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert "fileIds" in response.json()["fields"] or message == "patientId"
    assert not RecordReport.objects.exists()


def test_another_clinics_record_report_is_not_found(
    other_api, api, answered, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        created = api.post(
            "/api/v1/record-reports",
            {"fileIds": [str(answered["photos"][0].id)]},
            format="json",
        )
    for path in (
        created["Location"],
        "/api/v1/record-reports/not-a-uuid",
        f"/api/v1/record-reports/{answered['request'].id}",
    ):
        assert other_api.get(path).status_code == 404, path
