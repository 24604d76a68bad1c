"""Mobile numbers as staff type them: national in the clinic's region (GB here) or
international, stored as E.164, shown back as ``+44 7911 123456``, and refused in words
when they are not a mobile number. The APIs keep E.164 only (tests/portal/test_patients_api.py)."""

from __future__ import annotations

import pytest
from django.test import Client

from filerequests.models import FileRequest
from portal.patients.models import Patient
from tests.factories import PatientFactory, UserFactory
from tests.support.sessions import sign_in

pytestmark = pytest.mark.django_db

TYPED = [
    "07911 123456",
    "07911123456",
    "(07911) 123-456",
    "07911 123 456",
    " 07911 123456 ",
    "+44 7911 123456",
    "+447911123456",
    "0044 7911 123456",
    "+44 (0)7911 123456",
]

REFUSED = [
    ("07911 12345", "not a real UK phone number"),
    ("07911 1234567", "too long"),
    ("020 7123 4567", "+44 20 7123 4567 is a landline number"),
    ("0800 123 4567", "is a freephone number"),
    ("09098 790 000", "is a premium-rate number"),
    ("+999 1234 5678", "country code that does not exist"),
    ("seven nine one one", "characters a phone number cannot have"),
    ("=cmd|' /C calc'!A0", "characters a phone number cannot have"),
    ("0", "too short"),
    ("0" * 300, "too long"),
]


def add_patient(client, mobile, **extra):
    return client.post(
        "/patients/new/",
        {
            "first_name": "Cara",
            "last_name": "Nolan",
            "date_of_birth": "1990-03-04",
            "mobile": mobile,
            **extra,
        },
    )


@pytest.mark.parametrize("typed", TYPED)
def test_add_patient_accepts_the_number_as_typed(clinician_client, account, typed):
    """GIVEN the add-patient form WHEN the mobile is typed in any usual way
    THEN the patient is stored with +447911123456 and their page shows +44 7911 123456."""
    response = add_patient(clinician_client, typed)
    assert response.status_code == 302, response.content.decode()[:2000]
    patient = Patient.objects.get(account=account, last_name="Nolan")
    assert patient.mobile.as_e164 == "+447911123456"
    assert "+44 7911 123456" in clinician_client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("typed", TYPED[:4] + TYPED[-2:])
def test_a_file_request_accepts_the_number_as_typed(clinician_client, account, typed):
    response = clinician_client.post(
        "/file-requests/new/",
        {
            "mobile": typed,
            "date_of_birth": "1975-02-14",
            "first_name": "Nadia",
            "last_name": "Rahman",
            "prompt": "The mole on your left shoulder.",
            "expires_in_days": "7",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    file_request = FileRequest.objects.get(account=account)
    assert file_request.patient.mobile.as_e164 == "+447911123456"


@pytest.mark.parametrize(("typed", "words"), REFUSED)
@pytest.mark.parametrize("form", ["patient", "file request"])
def test_what_is_not_a_mobile_is_refused_in_words(clinician_client, account, typed, words, form):
    """GIVEN a staff form WHEN the mobile typed is not a mobile (too short, too long, a
    landline, freephone, premium rate, no such country, letters, a formula)
    THEN 400 with a sentence that says what is wrong, and nothing is saved."""
    if form == "patient":
        response = add_patient(clinician_client, typed)
    else:
        response = clinician_client.post(
            "/file-requests/new/",
            {
                "mobile": typed,
                "date_of_birth": "1975-02-14",
                "last_name": "Rahman",
                "prompt": "A photo.",
                "expires_in_days": "7",
            },
        )
    assert response.status_code == 400
    html = response.content.decode()
    assert words in html.replace("&#x27;", "'")
    assert "E.164" not in html
    assert not Patient.objects.filter(account=account).exists()
    assert not FileRequest.objects.exists()


def test_a_good_number_is_shown_back_normalised_when_another_field_is_wrong(clinician_client):
    """GIVEN the add form WHEN the mobile is right but the date of birth is missing
    THEN the form comes back with the mobile written as +44 7911 123456."""
    response = add_patient(clinician_client, "07911123456", date_of_birth="")
    assert response.status_code == 400
    assert 'value="+44 7911 123456"' in response.content.decode()


def test_the_edit_form_shows_the_stored_number_readably(clinician_client, account):
    patient = PatientFactory(account=account, mobile="+447911123456")
    html = clinician_client.get(f"/patients/{patient.id}/edit/").content.decode()
    assert 'value="+44 7911 123456"' in html
    assert "07400 123456" in html  # the help shows how a UK mobile is written


def test_the_admin_patient_form_reads_national_numbers(account):
    """GIVEN the Django admin's patient page WHEN an operator types 07911 123456, then a
    landline THEN the first is stored as E.164; the second is refused in words."""
    patient = PatientFactory(account=account, mobile="+447911000000")
    operator = UserFactory(email="ops@portal.example", is_staff=True, is_superuser=True)
    client = sign_in(Client(), operator)
    url = f"/admin/patients/patient/{patient.id}/change/"
    form = {
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": "1980-06-17",
    }
    refused = client.post(url, {**form, "mobile": "020 7123 4567"})
    assert refused.status_code == 200
    assert "is a landline number" in refused.content.decode()
    saved = client.post(url, {**form, "mobile": "07911 123456"})
    assert saved.status_code == 302
    patient.refresh_from_db()
    assert patient.mobile.as_e164 == "+447911123456"
