"""The audit log as a practice manager reads it: events in words, the patient and file
named, filters by person, patient, action and date, and a CSV export of the filtered
view that is itself audited and safe to open in a spreadsheet."""

from __future__ import annotations

import base64
import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.audit_log import ACTION_LABELS, action_label, csv_safe
from files.models import File
from portal.audit.models import AuditEvent
from portal.audit.services import Actor, audit_record
from tests.dashboard.conftest import signed_in_client
from tests.factories import FileRequestFactory, PatientFactory, StaffFactory
from tests.files import samples

pytestmark = pytest.mark.django_db


def a_file(account, patient, name, **fields):
    return File.objects.create(
        account=account, patient=patient, original_name=name, max_size=1, **fields
    )


@pytest.fixture
def history(account, admin_staff, clinician, other_account):
    nadia = PatientFactory(account=account, first_name="Nadia", last_name="Rahman")
    omar = PatientFactory(account=account, first_name="Omar", last_name="Haddad")
    request = FileRequestFactory(account=account, patient=nadia, staff=clinician)
    photo = a_file(account, nadia, "left-shoulder.jpg", file_request=request)
    omars = a_file(account, omar, "omar-letter.pdf")
    by_cal = Actor.for_staff(clinician)
    audit_record(account=account, actor=by_cal, action="file_request.create", target=request)
    audit_record(account=account, actor=by_cal, action="file.download", target=photo)
    audit_record(
        account=account, actor=Actor.for_staff(admin_staff), action="patient.update", target=omar
    )
    audit_record(
        account=account, actor=Actor.for_staff(admin_staff), action="file.download", target=omars
    )
    audit_record(
        account=account,
        actor=Actor.for_patient_link(request.id),
        action="file_request.dob_check_failed",
        target=request,
    )
    foreign = PatientFactory(account=other_account, first_name="Nadia", last_name="Rahman")
    audit_record(
        account=other_account, actor=Actor.system(), action="patient.update", target=foreign
    )
    return {"nadia": nadia, "omar": omar, "request": request, "photo": photo, "foreign": foreign}


def rows(html: str) -> int:
    return html.count('data-testid="audit-row"')


def test_events_read_in_words_with_patient_and_file_named(admin_client, history):
    html = admin_client.get("/settings/audit/").content.decode()
    assert rows(html) == 5
    for words in (
        "Asked a patient for photos",
        "Viewed or downloaded a file",
        "Changed a patient&#x27;s details",
        "Wrong date of birth on a photo link",
    ):
        assert words in html
    assert "left-shoulder.jpg" in html and "Nadia Rahman" in html
    assert "omar-letter.pdf" in html and "Omar Haddad" in html
    assert f'href="/patients/{history["nadia"].id}/"' in html
    assert "Patient, through their link" in html
    assert str(history["foreign"].id) not in html


def test_every_action_the_portal_records_has_words():
    """Codes without a label still read as words, never as a raw code."""
    assert action_label("file_request.review") == "Marked photos as reviewed"
    assert action_label("thing.did_something") == "Thing: did something"
    assert all(label[0].isupper() for label in ACTION_LABELS.values())


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"patient": "Nadia"}, 3),
        ({"patient": "rahman nadia"}, 3),
        ({"patient": "Omar"}, 2),
        ({"patient": "Nobody"}, 0),
        ({"action": "file.download"}, 2),
        ({"who": "kind:patient_link"}, 1),
        ({"occurred_from": "2000-01-01", "occurred_to": "2000-01-02"}, 0),
        ({"patient": "Nadia", "action": "file.download"}, 1),
    ],
)
def test_filters(admin_client, history, query, expected):
    html = admin_client.get("/settings/audit/", query).content.decode()
    assert rows(html) == expected


def test_filter_by_person_and_by_patient_id(admin_client, history, clinician):
    html = admin_client.get("/settings/audit/", {"who": f"staff:{clinician.id}"}).content.decode()
    assert rows(html) == 2 and "Omar" not in html
    html = admin_client.get(
        "/settings/audit/", {"patient": str(history["omar"].id)}
    ).content.decode()
    assert rows(html) == 2
    foreign = admin_client.get("/settings/audit/", {"patient": str(history["foreign"].id)})
    assert rows(foreign.content.decode()) == 0


@pytest.mark.parametrize("who", ["staff:not-a-uuid", "kind:wizard", "<script>", "staff:"])
def test_a_tampered_person_filter_is_refused_in_words(admin_client, history, who):
    response = admin_client.get("/settings/audit/", {"who": who})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_the_export_is_the_filtered_view_and_is_audited(admin_client, admin_staff, history):
    """GIVEN the log filtered to Nadia WHEN exported THEN the CSV holds her 3 events in
    words with her name, the file's name and the codes; the export is an audit event
    with the filters and the row count; the page shows it first afterwards."""
    response = admin_client.get("/settings/audit/export/", {"patient": "Nadia"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    header, *lines = read_csv(response)
    assert header[:4] == ["When (UTC)", "Who", "Who (kind)", "What happened"]
    assert len(lines) == 3
    assert {line[7] for line in lines} == {"Nadia Rahman"}
    assert any(line[6] == "left-shoulder.jpg" for line in lines)
    assert {line[4] for line in lines} == {
        "file_request.create",
        "file.download",
        "file_request.dob_check_failed",
    }
    export = AuditEvent.objects.get(action="audit_log.export")
    assert export.actor_id == str(admin_staff.id)
    assert export.detail == {"rows": 3, "filters": {"patient": "Nadia"}}
    html = admin_client.get("/settings/audit/").content.decode()
    assert "Exported the audit log" in html


FORMULAS = [
    '=HYPERLINK("https://evil.example","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("formula", FORMULAS)
def test_the_export_never_hands_a_spreadsheet_a_formula(admin_client, account, clinician, formula):
    """GIVEN a patient, file and staff member named like spreadsheet formulas
    WHEN the log is exported THEN every such cell starts with an apostrophe."""
    patient = PatientFactory(account=account, first_name=formula, last_name="")
    file = a_file(account, patient, formula)
    staff = StaffFactory(account=account, display_name=formula)
    audit_record(account=account, actor=Actor.for_staff(staff), action="file.download", target=file)
    _header, *lines = read_csv(admin_client.get("/settings/audit/export/"))
    cells = [cell for line in lines for cell in line]
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert csv_safe(formula) in cells  # the file's name, kept readable:
    assert csv_safe(formula).startswith("'")  # apostrophes added, nothing else changed
    assert csv_safe(formula).replace("'", "") == formula.replace("'", "")


def test_only_admins_export(clinician_client, history):
    assert clinician_client.get("/settings/audit/export/").status_code == 403
    assert not AuditEvent.objects.filter(action="audit_log.export").exists()


COUNTS: dict[int, int] = {}


@pytest.mark.parametrize("events", [5, 40])
def test_a_page_of_the_log_costs_the_same_for_5_events_as_for_40(account, admin_staff, events):
    client = signed_in_client(admin_staff)
    actor = Actor.for_staff(admin_staff)
    for number in range(events):
        patient = PatientFactory(account=account)
        file = a_file(account, patient, f"f{number}.jpg")
        audit_record(account=account, actor=actor, action="file.download", target=file)
        audit_record(account=account, actor=actor, action="patient.update", target=patient)
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/settings/audit/").status_code == 200
    COUNTS[events] = len(captured.captured_queries)
    if len(COUNTS) == 2:
        assert COUNTS[5] == COUNTS[40], COUNTS


# --- Formulas behind a separator -----------------------------------------------------
#
# A spreadsheet set to another list separator (a semicolon in most of Europe, a tab when
# pasted) splits one CSV cell into several and runs each part that starts like a formula.
# Every part of every cell, split at any of those separators, must read as text.

TRIGGERS = ["=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20"]
SEPARATORS = {"start": None, "comma": ",", "semicolon": ";", "tab": "\t"}
# A spreadsheet splits at one separator at a time; a naive importer also at line breaks.
SPLITTERS = [re.compile(pattern) for pattern in (r"(?!)", ",", ";", "\t", r"\r\n?|\n")]


def parts(cell: str) -> list[str]:
    """Every part of the cell a spreadsheet might read as a cell of its own."""
    return [part for splitter in SPLITTERS for part in splitter.split(cell)]


def formula_text(trigger: str, separator: str | None) -> str:
    """``=1+1`` as a whole value, or as the middle part of ``x;=1+1;y``."""
    formula = f"{trigger}1+1"
    return formula if separator is None else f"x{separator}{formula}{separator}y"


def via_file_name(api, account, text: str) -> str:
    """A photo uploaded through X-on's files API under ``text``."""
    patient = PatientFactory(account=account)
    answer = api.post(
        "/api/v1/files",
        {
            "files": [
                {
                    "name": f"{text}.jpg",
                    "type": "image/jpeg",
                    "contents": base64.b64encode(samples.jpeg((32, 24))).decode(),
                }
            ],
            "userId": str(patient.id),
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    return "file.upload"


def via_patient_name(api, account, text: str) -> str:
    """A patient added through the patients API with ``text`` as their first name."""
    answer = api.post(
        "/api/v1/patients",
        {"first_name": text, "last_name": "Doe", "date_of_birth": "1980-06-17"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    return "patient.create"


def via_staff_name(api, account, text: str) -> str:
    """A shell staff member named by X-on's ``staffName`` on a new file request."""
    answer = api.post(
        "/api/v1/file-requests",
        {
            "type": "photo",
            "accountId": str(account.id),
            "accountUserId": "42",
            "staffName": text,
            "patientMobile": "+447777123456",
            "patientDateOfBirth": "1980-06-17",
        },
        format="json",
    )
    assert answer.status_code == 200, answer.content
    return "staff.create_shell"


SOURCES = {
    "file name": via_file_name,
    "patient name": via_patient_name,
    "staffName": via_staff_name,
}


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("separator", SEPARATORS)
@pytest.mark.parametrize("trigger", TRIGGERS, ids=[hex(ord(t)) for t in TRIGGERS])
def test_no_part_of_any_cell_starts_a_formula(
    admin_client, api, account, trigger, separator, source
):
    """GIVEN a file name, a patient name or a staffName sent through the API with a
    formula at its start or behind a comma, semicolon or tab (``x;=1+1;y``)
    WHEN the audit log is exported and read back
    THEN the event about it names it, still readable, and no part of any cell, split at
    any separator a spreadsheet might use, starts with = + - @ tab CR or their full-width
    forms."""
    text = formula_text(trigger, SEPARATORS[separator])
    action = SOURCES[source](api, account, text)
    _header, *lines = read_csv(admin_client.get("/settings/audit/export/"))
    [named] = [line[6] for line in lines if line[4] == action]
    assert "1+1" in named, named
    for line in lines:
        for cell in line:
            for part in parts(cell):
                assert not part.lstrip(" ").startswith(tuple(TRIGGERS)), (cell, part)


@pytest.mark.parametrize(
    "text",
    ["Nadia Rahman", "left shoulder, day 3; after cream.jpg", "Dr O'Neil", "1+1", "x=1", "a@b"],
)
def test_ordinary_text_is_exported_as_it_is(text):
    """Only a formula start gets an apostrophe: names with commas, semicolons, an
    apostrophe or a formula character inside are exported as typed."""
    assert csv_safe(text) == text
