"""The patient record: every file of a patient, whatever door it came through, with its
source, request, prompt, note and who asked; filters; grouping; one query for the files."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from attachments.models import PatientAttachment, PatientPhoto
from files.models import File
from portal.audit.models import AuditEvent
from tests.dashboard.objects import stored_file
from tests.factories import FileFactory, FileRequestFactory, PatientFactory

pytestmark = pytest.mark.django_db

LONG_NOTE = (
    "This is the patch on my left forearm. It started three weeks ago after gardening, "
    "itches at night, and has spread about a centimetre since Monday. " * 3
).strip()


def a_file(account, patient, *, name, mime="image/jpeg", actor_kind="api_key", **fields) -> File:
    fields.setdefault(
        "source", File.Source.REQUEST if actor_kind == "patient_link" else File.Source.XON
    )
    return FileFactory(
        account=account,
        patient=patient,
        original_name=name,
        declared_type=mime,
        actor_kind=actor_kind,
        actor_label={"api_key": "key pk_abc", "patient_link": "patient link"}.get(actor_kind, ""),
        ready=True,
        **fields,
    )


def attached(account, patient, *, name, source, mime="image/jpeg", archived=False):
    file = a_file(account, patient, name=name, mime=mime, actor_kind="staff", source=source)
    return PatientAttachment.objects.create(
        account=account,
        patient=patient,
        file=file,
        archived_at=timezone.now() if archived else None,
    )


@pytest.fixture
def record(account, clinician):
    """One patient with a file through every door, and another patient's file."""
    patient = PatientFactory(account=account, first_name="Nadia", last_name="Rahman")
    request = FileRequestFactory(
        account=account,
        patient=patient,
        staff=clinician,
        staff_name="Dr Cal Clinician",
        prompt="Please photograph the patch on your left forearm in daylight.",
    )
    by_patient = a_file(
        account,
        patient,
        name="forearm.jpg",
        actor_kind="patient_link",
        file_request=request,
        description=LONG_NOTE,
    )
    xon = a_file(account, patient, name="letter.pdf", mime="application/pdf")
    cliniko = attached(account, patient, name="scan.png", source="cliniko", mime="image/png")
    claros = attached(
        account, patient, name="referral.pdf", source="claros", mime="application/pdf"
    )
    dashboard = attached(account, patient, name="dermatoscope.jpg", source="dashboard")
    archived = attached(
        account,
        patient,
        name="old-consent.pdf",
        source="dashboard",
        mime="application/pdf",
        archived=True,
    )
    photo_file = a_file(account, patient, name="profile.jpg", source=File.Source.MEDABLE)
    PatientPhoto.objects.create(
        account=account,
        patient=patient,
        filename="profile.jpg",
        content_type="image/jpeg",
        file=photo_file,
    )
    other = PatientFactory(account=account)
    a_file(account, other, name="someone-else.jpg")
    return {
        "patient": patient,
        "request": request,
        "names": {
            "request": by_patient.original_name,
            "xon": xon.original_name,
            "cliniko": cliniko.file.original_name,
            "claros": claros.file.original_name,
            "dashboard": dashboard.file.original_name,
            "medable": photo_file.original_name,
        },
        "archived": archived,
    }


def page(client, patient, **query):
    response = client.get(f"/patients/{patient.id}/", query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_record_holds_every_file_of_the_patient_with_its_story(clinician_client, record):
    """GIVEN a patient with a file through each of the six doors, an archived attachment
    and another patient's file
    WHEN the patient's page is opened
    THEN the record lists the six, each with its source in words; the patient's file
    shows its request's prompt, who asked and the note in full; neither the archived
    attachment nor the other patient's file is there."""
    html = page(clinician_client, record["patient"])
    for name in record["names"].values():
        assert name in html
    for label in (
        "Sent by the patient",
        "From the practice system",
        "From the clinic system",
        "PDF letter",
        "Uploaded by staff",
        "Photo from the patient&#x27;s app",
    ):
        assert label in html
    assert "Please photograph the patch on your left forearm in daylight." in html
    assert "asked by Dr Cal Clinician" in html
    assert LONG_NOTE in html  # in full, not cut short
    assert "old-consent.pdf" not in html
    assert "someone-else.jpg" not in html
    assert "Show 1 archived" in html
    assert "No attachments yet" not in html


@pytest.mark.parametrize("source", ["request", "xon", "cliniko", "claros", "dashboard", "medable"])
def test_the_source_filter_shows_only_that_door(clinician_client, record, source):
    """GIVEN the record WHEN filtered by one source THEN only that door's file is listed."""
    html = page(clinician_client, record["patient"], source=source)
    shown = [name for name in record["names"].values() if f"{name}</span>" in html]
    assert shown == [record["names"][source]]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("photo", {"request", "cliniko", "dashboard", "medable"}),
        ("document", {"xon", "claros"}),
        ("", {"request", "xon", "cliniko", "claros", "dashboard", "medable"}),
        ("<script>", {"request", "xon", "cliniko", "claros", "dashboard", "medable"}),
    ],
)
def test_the_type_filter(clinician_client, record, kind, expected):
    """GIVEN the record WHEN filtered by type (or by a value that means nothing)
    THEN photos or documents only (or everything)."""
    html = page(clinician_client, record["patient"], kind=kind)
    shown = {source for source, name in record["names"].items() if f"{name}</span>" in html}
    assert shown == expected
    assert "<script>" not in html.split("<main", 1)[-1].split("</main>")[0] or kind != "<script>"


def test_grouped_by_request_the_request_is_the_heading(clinician_client, record):
    """GIVEN the record WHEN grouped by request THEN the request's prompt heads its files
    and links to the request; other doors are grouped under their own name."""
    html = page(clinician_client, record["patient"], group="request")
    assert f'href="/file-requests/{record["request"].id}/"' in html
    assert "Request: Please photograph the patch" in html
    assert ">From the clinic system</h3>" in html


def test_grouped_by_date_today_heads_the_files(clinician_client, record):
    html = page(clinician_client, record["patient"])
    assert ">Today</h3>" in html


def test_the_archived_view_lists_only_archived_attachments(clinician_client, record):
    html = page(clinician_client, record["patient"], archived="1")
    assert "old-consent.pdf" in html
    assert record["names"]["xon"] not in html


def file_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if 'FROM "files_file"' in q["sql"]]


@pytest.mark.parametrize("count", [2, 12])
def test_one_query_reads_the_files_whatever_their_number(
    clinician_client, account, clinician, count
):
    """GIVEN a patient with N files from requests (with notes) and N attachments
    WHEN the record is fetched
    THEN one query reads every file with its request, attachment and source, and the
    whole page costs the same number of queries for 2 files as for 12."""
    patient = PatientFactory(account=account)
    for index in range(count):
        request = FileRequestFactory(account=account, patient=patient, staff=clinician)
        a_file(
            account,
            patient,
            name=f"r{index}.jpg",
            actor_kind="patient_link",
            file_request=request,
            description="note",
        )
        attached(account, patient, name=f"a{index}.pdf", source="claros", mime="application/pdf")
    with CaptureQueriesContext(connection) as captured:
        html = page(clinician_client, patient)
    assert html.count('class="record-item') == 2 * count
    # The record's query reads each file with its door, request and attachment; the File
    # requests section prefetches its requests' files in one query of its own.
    selects = [
        q
        for q in file_queries(captured)
        if '"attachments_patientattachment"' in q and "COUNT(" not in q
    ]
    assert len(selects) == 1, selects
    QUERY_COUNTS[count] = len(captured.captured_queries)
    if len(QUERY_COUNTS) == 2:
        assert QUERY_COUNTS[2] == QUERY_COUNTS[12], QUERY_COUNTS


QUERY_COUNTS: dict[int, int] = {}


def test_a_files_bytes_are_served_only_for_this_patients_files(clinician_client, account):
    """GIVEN a processed photo that came by the X-on files API (no attachment, no request)
    WHEN its thumbnail and content are asked for under its own patient, under another
    patient of the clinic, and with a malformed id
    THEN 200 with the bytes (each an audited download), then 404 and 404."""
    patient, other = PatientFactory(account=account), PatientFactory(account=account)
    file = stored_file(account=account, patient=patient, name="letter.jpg")
    base = f"/patients/{patient.id}/files/{file.id}"
    for variant in ("thumbnail", "content"):
        response = clinician_client.get(f"{base}/{variant}/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    assert AuditEvent.objects.filter(action="file.download", target_id=str(file.id)).count() == 2
    for url in (
        f"/patients/{other.id}/files/{file.id}/content/",
        f"/patients/{patient.id}/files/nope/content/",
        f"/patients/{patient.id}/files/{other.id}/thumbnail/",
    ):
        assert clinician_client.get(url).status_code == 404
