"""NHS numbers in the dashboard: the patient search box and the add and edit forms."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from portal.audit.models import AuditEvent
from portal.patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patients(account, other_account):
    return {
        "thompson": PatientFactory(
            account=account,
            first_name="Margaret",
            last_name="Thompson",
            date_of_birth=datetime.date(1948, 3, 3),
            nhs_number="9434765919",
        ),
        "thomson": PatientFactory(
            account=account,
            first_name="Margaret",
            last_name="Thomson",
            date_of_birth=datetime.date(1952, 7, 1),
            nhs_number="4010232137",
        ),
        "foreign": PatientFactory(
            account=other_account,
            first_name="Margaret",
            last_name="Thompson",
            date_of_birth=datetime.date(1948, 3, 3),
            nhs_number="9434765919",
        ),
    }


def shown(html: str, patients: dict) -> set[str]:
    return {key for key, patient in patients.items() if f"/patients/{patient.id}/" in html}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("9434765919", {"thompson"}),
        ("943 476 5919", {"thompson"}),
        ("  943  476 5919 ", {"thompson"}),
        ("943-476-5919", {"thompson"}),
        ("401 023 2137", {"thomson"}),
        ("4010232137", {"thomson"}),
    ],
)
def test_search_by_nhs_number_with_or_without_spaces(clinician_client, patients, typed, expected):
    """GIVEN Margaret Thompson and Margaret Thomson, each with an NHS number (and a
    Thompson of another clinic with the same number as ours) WHEN staff type one's NHS
    number, spaced or not THEN exactly that patient of their own clinic is listed, the
    search is said to be by NHS number, and the number is shown grouped."""
    response = clinician_client.get("/patients/", {"q": typed})
    assert response.status_code == 200
    html = response.content.decode()
    assert shown(html, patients) == expected
    assert "1 patient with NHS number matching" in html
    number = patients[next(iter(expected))].nhs_number_display
    assert number in html


def test_a_ten_digit_search_that_is_no_nhs_number_says_why(clinician_client, patients):
    """GIVEN ten digits whose check digit does not match (and which are no phone number)
    WHEN searched THEN nothing is listed, and the page says the check digit is wrong."""
    response = clinician_client.get("/patients/", {"q": "943 476 5918"})
    html = response.content.decode()
    assert shown(html, patients) == set()
    assert "its check digit does not match" in html


def test_a_mobile_number_is_still_searched_as_a_mobile(clinician_client, account):
    """GIVEN a patient found by mobile WHEN their national mobile (11 digits) is typed
    THEN they are found by mobile, as before."""
    patient = PatientFactory(account=account, mobile="+447911123456")
    html = clinician_client.get("/patients/", {"q": "07911 123456"}).content.decode()
    assert f"/patients/{patient.id}/" in html
    assert "with mobile matching" in html


def test_the_results_show_the_nhs_number(clinician_client, patients):
    html = clinician_client.get("/patients/", {"q": "Margaret"}).content.decode()
    assert "943 476 5919" in html and "401 023 2137" in html


def test_add_a_patient_with_an_nhs_number(clinician_client, account):
    """GIVEN the add form WHEN an NHS number is typed with spaces THEN its ten digits are
    stored and the patient's page shows it grouped."""
    response = clinician_client.post(
        "/patients/new/",
        {
            "first_name": "Margaret",
            "last_name": "Thompson",
            "date_of_birth": "1948-03-03",
            "nhs_number": "943 476 5919",
            "mobile": "",
        },
    )
    patient = Patient.objects.get(account=account, last_name="Thompson")
    assert response["Location"] == f"/patients/{patient.id}/"
    assert patient.nhs_number == "9434765919"
    assert "943 476 5919" in clinician_client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("943 476 5918", "NHS number 943 476 5918 is not valid: its check digit does not match"),
        ("943 476 591", "it has 9 digits and an NHS number has 10"),
        ("943 476 59190", "it has 11 digits and an NHS number has 10"),
        ("100 000 0010", "no NHS number starts with 100 000 001"),
        ("NHS 943 476 5919", "no letters or other characters"),
    ],
)
def test_add_form_refuses_an_invalid_nhs_number(clinician_client, account, typed, message):
    response = clinician_client.post(
        "/patients/new/",
        {"last_name": "Thompson", "date_of_birth": "1948-03-03", "nhs_number": typed},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Patient.objects.filter(account=account).exists()


def test_add_form_refuses_a_number_another_patient_holds_and_names_them(clinician_client, patients):
    """GIVEN Margaret Thompson with an NHS number WHEN staff add a patient with the same
    number THEN the form says who holds it (so staff can go to them), nothing is saved."""
    response = clinician_client.post(
        "/patients/new/",
        {"last_name": "Thomson", "date_of_birth": "1952-07-01", "nhs_number": "9434765919"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "NHS number 943 476 5919 already belongs to another patient" in html
    assert "THOMPSON, Margaret, born 1948" in html
    assert Patient.objects.filter(nhs_number="9434765919").count() == 2  # ours and foreign


def test_edit_form_shows_sets_and_clears_the_nhs_number(clinician_client, patients, account):
    thompson = patients["thompson"]
    form = clinician_client.get(f"/patients/{thompson.id}/edit/").content.decode()
    assert 'value="943 476 5919"' in form
    fields = {"first_name": "Margaret", "last_name": "Thompson", "date_of_birth": "1948-03-03"}
    response = clinician_client.post(f"/patients/{thompson.id}/edit/", {**fields, "nhs_number": ""})
    assert response.status_code == 302
    thompson.refresh_from_db()
    assert thompson.nhs_number == ""
    response = clinician_client.post(
        f"/patients/{thompson.id}/edit/", {**fields, "nhs_number": "401-023-2137"}
    )
    assert response.status_code == 400
    assert "already belongs to another patient" in response.content.decode()
    response = clinician_client.post(
        f"/patients/{thompson.id}/edit/", {**fields, "nhs_number": "943-476-5919"}
    )
    assert response.status_code == 302
    thompson.refresh_from_db()
    assert thompson.nhs_number == "9434765919"
    assert AuditEvent.objects.filter(action="patient.update", target_id=str(thompson.id)).exists()


def test_the_admin_shows_edits_and_checks_the_nhs_number(patients):
    """GIVEN the operator's admin WHEN a patient's NHS number is changed there THEN it is
    shown grouped, stored as its digits, refused in words when invalid or another
    patient's of the clinic, and audited."""
    from django.urls import reverse

    from tests.dashboard.test_admin import sign_in
    from tests.factories import UserFactory

    client = sign_in(Client(), UserFactory(is_staff=True, is_superuser=True))
    thompson = patients["thompson"]
    url = reverse("admin:patients_patient_change", args=[thompson.pk])
    page = client.get(url).content.decode()
    assert 'value="943 476 5919"' in page
    fields = {
        "first_name": "Margaret",
        "last_name": "Thompson",
        "date_of_birth": "1948-03-03",
        "mobile": "",
    }
    response = client.post(url, {**fields, "nhs_number": "943 476 5918"})
    assert "its check digit does not match" in response.content.decode()
    response = client.post(url, {**fields, "nhs_number": "401 023 2137"})
    assert "NHS number 401 023 2137 already belongs to another patient" in (
        response.content.decode()
    )
    assert "THOMSON, Margaret" in response.content.decode()
    response = client.post(url, {**fields, "nhs_number": ""})
    assert response.status_code == 302
    thompson.refresh_from_db()
    assert thompson.nhs_number == ""
    response = client.post(url, {**fields, "nhs_number": "943-476-5919"})
    assert response.status_code == 302
    thompson.refresh_from_db()
    assert thompson.nhs_number == "9434765919"
    assert AuditEvent.objects.filter(
        action="patient.update", target_id=str(thompson.id), detail__fields__contains=["nhs_number"]
    ).exists()
