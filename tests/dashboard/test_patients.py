"""Patients in the dashboard: search, list, add, edit, the patient's page."""

from __future__ import annotations

import datetime

import pytest

from dashboard.search import parse_patient_query
from portal.audit.models import AuditEvent
from portal.patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patients(account, other_account):
    return {
        "ann": PatientFactory(
            account=account,
            first_name="Ann",
            last_name="Jones",
            mobile="+447911000001",
            date_of_birth=datetime.date(1980, 6, 17),
        ),
        "bob": PatientFactory(
            account=account,
            first_name="Bob",
            last_name="Jones",
            mobile="+447911000002",
            date_of_birth=datetime.date(1975, 1, 2),
        ),
        "foreign": PatientFactory(
            account=other_account,
            first_name="Ann",
            last_name="Jones",
            mobile="+447911000001",
            date_of_birth=datetime.date(1980, 6, 17),
        ),
    }


def listed(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("jones", {"ann", "bob"}),
        ("ann jon", {"ann"}),
        ("07911 000002", {"bob"}),
        ("+447911000001", {"ann"}),
        ("17/06/1980", {"ann"}),
        ("1975-01-02", {"bob"}),
        ("nobody", set()),
    ],
)
def test_search_by_name_mobile_or_date_of_birth(clinician_client, patients, query, expected):
    """GIVEN two patients of the clinic (and a look-alike in another clinic)
    WHEN staff search by name words, a national or E.164 mobile, or a date of birth
    THEN exactly the matching patients of their own clinic are listed."""
    html = listed(clinician_client.get("/patients/", {"q": query}))
    for key, patient in patients.items():
        shown = f"/patients/{patient.id}/" in html
        assert shown == (key in expected), (query, key)


def test_search_explains_an_invalid_phone_number(clinician_client, patients):
    """GIVEN digits that are not a phone number WHEN searched THEN nothing, and why."""
    html = listed(clinician_client.get("/patients/", {"q": "0000000"}))
    assert "that is not a valid phone number" in html
    assert parse_patient_query("0000000").unparsable_phone


def test_htmx_search_returns_only_the_results(clinician_client, patients):
    """GIVEN the live search box WHEN htmx asks for results
    THEN only the results section comes back."""
    response = clinician_client.get(
        "/patients/", {"q": "bob"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="patient-results"
    )
    html = listed(response)
    assert html.lstrip().startswith('<section id="patient-results"')
    assert f"/patients/{patients['bob'].id}/" in html


def test_the_list_is_paginated(clinician_client, account, settings):
    """GIVEN more patients than fit on a page WHEN the list is opened THEN pages link on."""
    settings.DASHBOARD_PAGE_SIZE = 2
    for _ in range(5):
        PatientFactory(account=account)
    first = listed(clinician_client.get("/patients/"))
    assert "Page 1 of 3" in first
    third = listed(clinician_client.get("/patients/", {"page": 3}))
    assert "Page 3 of 3" in third
    assert third.count('class="row-title"') == 1


def test_empty_states(clinician_client):
    """GIVEN a clinic with no patients WHEN the list is opened or searched
    THEN helpful empty states."""
    assert "No patients yet" in listed(clinician_client.get("/patients/"))
    assert "No patients found" in listed(clinician_client.get("/patients/", {"q": "x"}))


def test_add_a_patient_and_see_their_page(clinician_client, account, clinician):
    """GIVEN the add form WHEN valid details are sent
    THEN the patient exists in this clinic, the change is audited, and their page shows
    the details and the empty Attachments and File requests sections."""
    response = clinician_client.post(
        "/patients/new/",
        {
            "first_name": "Cara",
            "last_name": "Nolan",
            "date_of_birth": "1990-03-04",
            "mobile": "+447911123456",
        },
    )
    patient = Patient.objects.get(account=account, last_name="Nolan")
    assert response["Location"] == f"/patients/{patient.id}/"
    assert AuditEvent.objects.filter(
        action="patient.create", target_id=str(patient.id), actor_id=str(clinician.id)
    ).exists()
    html = listed(clinician_client.get(response["Location"]))
    assert "Born 4-Mar-1990" in html
    assert 'id="attachments"' in html and "Nothing in the record yet" in html
    assert 'id="file-requests"' in html and "No file requests yet" in html


def test_form_validation_errors_are_shown(clinician_client, account):
    """GIVEN the add form WHEN the date is in the future, the mobile a landline and no name
    THEN each error is shown beside its field and nothing is saved."""
    response = clinician_client.post(
        "/patients/new/",
        {
            "first_name": "",
            "last_name": "",
            "date_of_birth": "2999-01-01",
            "mobile": "+442071234567",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Date of birth cannot be in the future." in html
    assert "is a landline number" in html
    assert "Enter the patient&#x27;s first or last name." in html
    assert "There are 3 problems" in html
    assert not Patient.objects.filter(account=account).exists()


def test_edit_a_patient(clinician_client, patients):
    """GIVEN a patient WHEN their details are edited THEN they are saved and audited."""
    ann = patients["ann"]
    form = listed(clinician_client.get(f"/patients/{ann.id}/edit/"))
    assert 'value="+44 7911 000001"' in form
    response = clinician_client.post(
        f"/patients/{ann.id}/edit/",
        {"first_name": "Anne", "last_name": "Jones", "date_of_birth": "1980-06-17", "mobile": ""},
    )
    assert response["Location"] == f"/patients/{ann.id}/"
    ann.refresh_from_db()
    assert ann.first_name == "Anne" and not ann.mobile
    assert AuditEvent.objects.filter(action="patient.update", target_id=str(ann.id)).exists()


def test_section_fragments_render_for_htmx(clinician_client, patients):
    """GIVEN a patient WHEN the sections' fragments are fetched
    THEN each renders its empty state."""
    ann = patients["ann"]
    assert "Nothing in the record yet" in listed(
        clinician_client.get(f"/patients/{ann.id}/attachments/")
    )
    assert "No file requests yet" in listed(
        clinician_client.get(f"/patients/{ann.id}/file-requests/")
    )


def test_file_requests_page_has_an_empty_state(clinician_client):
    """GIVEN no file requests WHEN the page is opened THEN the empty state explains it."""
    assert "No file requests yet" in listed(clinician_client.get("/file-requests/"))
