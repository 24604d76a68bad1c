"""One inbox for every new file: what came by the practice system, a PDF letter, the
patient's app or a colleague's upload waits beside the patients' answers to requests,
named in words, until someone marks it reviewed."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from files.models import File
from files.pipeline.processing import file_process
from portal.audit.models import AuditEvent
from tests.attachments import samples as attachment_samples
from tests.dashboard.objects import stored_file
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def inbox(client, **query) -> str:
    response = client.get("/inbox/", query)
    assert response.status_code == 200
    return response.content.decode()


def rows(html: str) -> list[str]:
    return re.findall(r'data-testid="inbox-([^"]+)" data-source="([^"]*)"', html)


@pytest.fixture
def margaret(account):
    return PatientFactory(
        account=account,
        first_name="Margaret",
        last_name="Thompson",
        nhs_number="9434765919",
    )


def test_a_claros_pdf_arrives_in_the_inbox_as_a_pdf_letter(
    api, account, margaret, clinician_client
):
    """GIVEN a PDF pushed through Claros's door and processed WHEN the inbox is opened THEN
    one row names the patient (banner, NHS number), "PDF letter", the file's name, and
    counts in the menu; Mark reviewed (audited) empties the inbox."""
    response = api.post(
        f"/api/v1/patients/{margaret.id}/pdf/",
        {
            "file": SimpleUploadedFile("upload.bin", attachment_samples.pdf()),
            "filename": "discharge letter.pdf",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    file = File.objects.get(account=account)
    assert "PDF letter" not in inbox(clinician_client)  # not until it is processed
    file_process(file_id=file.pk)

    html = inbox(clinician_client)
    assert rows(html) == [(f"{margaret.id}-claros", "claros")]
    assert "PDF letter" in html
    assert "THOMPSON, Margaret" in html and "943 476 5919" in html
    assert "discharge letter.pdf" in html
    assert "Claros" not in html  # words for people, not integration names
    assert re.search(r'data-review-count="clinic">\s*1\s*<', html)

    marked = clinician_client.post("/inbox/review/", {"file": [str(file.pk)]})
    assert marked.status_code == 302
    assert rows(inbox(clinician_client)) == []
    file.refresh_from_db()
    assert file.reviewed_at is not None
    assert AuditEvent.objects.filter(action="file.review", target_id=str(file.pk)).count() == 1


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (File.Source.XON, "From the practice system"),
        (File.Source.CLAROS, "PDF letter"),
        (File.Source.CLINIKO, "From the clinic system"),
        (File.Source.MEDABLE, "Photo from the patient&#x27;s app"),
        (File.Source.DASHBOARD, "Uploaded by staff"),
    ],
)
def test_every_door_has_its_row_in_words(account, margaret, clinician_client, source, words):
    stored_file(account=account, patient=margaret, name="a.jpg", source=source)
    html = inbox(clinician_client)
    assert rows(html) == [(f"{margaret.id}-{source}", source)]
    assert words in html


def test_one_row_per_patient_and_door_the_latest_first(account, margaret, clinician_client):
    other = PatientFactory(account=account, first_name="Omar", last_name="Haddad")
    stored_file(account=account, patient=margaret, name="a.pdf", source=File.Source.CLAROS)
    stored_file(account=account, patient=margaret, name="b.pdf", source=File.Source.CLAROS)
    stored_file(account=account, patient=margaret, name="c.jpg", source=File.Source.XON)
    stored_file(account=account, patient=other, name="d.pdf", source=File.Source.CLAROS)
    assert rows(inbox(clinician_client)) == [
        (f"{other.id}-claros", "claros"),
        (f"{margaret.id}-xon", "xon"),
        (f"{margaret.id}-claros", "claros"),
    ]
    assert "2 new" in inbox(clinician_client)


def test_what_is_not_news_stays_out(account, other_account, margaret, clinician_client):
    """A report the clinic saved itself, a file still processing, one reviewed already, a
    file of no patient and another clinic's file are not in the inbox, nor counted; the
    "requests I sent" view has no doors."""
    stored_file(account=account, patient=margaret, name="r.pdf", source=File.Source.REPORT)
    stored_file(account=account, patient=None, name="rota.pdf", source=File.Source.XON)
    stored_file(
        account=account, patient=margaret, name="p.pdf", source=File.Source.XON, process=False
    )
    seen = stored_file(account=account, patient=margaret, name="s.pdf", source=File.Source.XON)
    File.objects.filter(pk=seen.pk).update(reviewed_at=seen.created_at)
    stored_file(
        account=other_account,
        patient=PatientFactory(account=other_account),
        name="o.pdf",
        source=File.Source.CLAROS,
    )
    html = inbox(clinician_client)
    assert rows(html) == []
    assert re.search(r'data-review-count="clinic">\s*0\s*<', html)
    stored_file(account=account, patient=margaret, name="n.pdf", source=File.Source.XON)
    assert len(rows(inbox(clinician_client))) == 1
    assert rows(inbox(clinician_client, view="mine")) == []


def test_mark_reviewed_marks_only_the_files_shown_of_this_clinic(
    account, other_account, margaret, clinician_client
):
    shown = stored_file(account=account, patient=margaret, name="a.pdf", source="claros")
    foreign = stored_file(
        account=other_account,
        patient=PatientFactory(account=other_account),
        name="b.pdf",
        source="claros",
    )
    later = stored_file(account=account, patient=margaret, name="c.pdf", source="claros")
    response = clinician_client.post(
        "/inbox/review/", {"file": [str(shown.pk), str(foreign.pk), "not-an-id"]}
    )
    assert response.status_code == 302
    shown.refresh_from_db(), foreign.refresh_from_db(), later.refresh_from_db()
    assert shown.reviewed_at is not None
    assert foreign.reviewed_at is None and later.reviewed_at is None
    assert clinician_client.get("/inbox/review/").status_code == 405


DOOR_QUERIES: dict[int, int] = {}


@pytest.mark.parametrize("count", [2, 7])
def test_the_inbox_costs_the_same_for_2_patients_letters_as_for_7(account, clinician_client, count):
    for index in range(count):
        patient = PatientFactory(account=account)
        for door in (File.Source.CLAROS, File.Source.XON):
            stored_file(account=account, patient=patient, name=f"{index}.pdf", source=door)
    with CaptureQueriesContext(connection) as captured:
        assert len(rows(inbox(clinician_client))) == 2 * count
    DOOR_QUERIES[count] = len(captured.captured_queries)
    if len(DOOR_QUERIES) == 2:
        assert DOOR_QUERIES[2] == DOOR_QUERIES[7], DOOR_QUERIES
