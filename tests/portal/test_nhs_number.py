"""NHS numbers: the modulus-11 check, and the patients APIs of both dialects (the
snake_case patients API and X-on's camelCase file requests) that take one."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from filerequests.models import FileRequest
from portal.audit.services import Actor
from portal.patients.models import Patient
from portal.patients.nhs_number import NhsNumberError, nhs_number_format, nhs_number_parse
from portal.patients.services import NhsNumberTaken, patient_create
from tests.factories import PatientFactory
from tests.filerequests.test_filerequests_api import seed_body

# --- The check --------------------------------------------------------------------------

VALID = ["9434765919", "4010232137", "9990001235"]  # NHS examples, and a test-range one


@pytest.mark.parametrize("digits", VALID)
@pytest.mark.parametrize(
    "spelling",
    [
        "{}{}{}",
        "{} {} {}",
        "{}-{}-{}",
        "  {}  {}\t{} ",
        "{}\u00a0{}\u00a0{}",
        "{} {}-{}",
    ],
)
def test_a_valid_number_is_read_with_or_without_spaces_and_hyphens(digits, spelling):
    """GIVEN a valid NHS number written with spaces, hyphens or neither WHEN parsed
    THEN the ten digits come back."""
    typed = spelling.format(digits[:3], digits[3:6], digits[6:])
    assert nhs_number_parse(typed) == digits


@pytest.mark.parametrize(
    ("typed", "fragment"),
    [
        ("9434765918", "NHS number 9434765918 is not valid: its check digit does not match"),
        ("943 476 5918", "NHS number 943 476 5918 is not valid: its check digit does not match"),
        ("4010232138", "check digit does not match"),
        ("9434765991", "check digit does not match"),  # two digits swapped
        ("100000001 0", "no NHS number starts with 100 000 001"),  # check digit computes to 10
        ("1000000010", "no NHS number starts with"),
        ("943476591", "it has 9 digits and an NHS number has 10"),
        ("94347659199", "it has 11 digits and an NHS number has 10"),
        ("9", "it has 1 digit and an NHS number has 10"),
        ("9" * 40, "This NHS number is not valid: it has 40 digits"),
        ("943476591X", "no letters or other characters"),
        ("ABC 476 5919", "no letters or other characters"),
        ("943.476.5919", "no letters or other characters"),
        ("+9434765919", "no letters or other characters"),
        (
            "".join(chr(0x0660 + int(d)) for d in "9434765919"),
            "no letters or other",
        ),  # Arabic-Indic
        ("".join(chr(0xFF10 + int(d)) for d in "9434765919"), "no letters or other"),  # full-width
        ("   ", "Enter the NHS number"),
        ("- -", "Enter the NHS number"),
    ],
)
def test_an_invalid_number_is_refused_in_words(typed, fragment):
    """GIVEN text that is no NHS number WHEN parsed THEN the message says what is wrong."""
    with pytest.raises(NhsNumberError) as refused:
        nhs_number_parse(typed)
    assert fragment in str(refused.value)


def test_every_ten_digit_string_with_a_wrong_last_digit_is_refused():
    """GIVEN the nine first digits of a valid number WHEN any other last digit is given
    THEN it is refused (a single mistyped digit is always caught)."""
    refused = 0
    for last in "0123456789":
        if last != "9":
            with pytest.raises(NhsNumberError):
                nhs_number_parse("943476591" + last)
            refused += 1
    assert refused == 9


def test_shown_grouped_three_three_four():
    assert nhs_number_format("9434765919") == "943 476 5919"
    assert PatientFactory.build(nhs_number="9434765919").nhs_number_display == "943 476 5919"
    assert PatientFactory.build(nhs_number="").nhs_number_display == ""


@pytest.mark.django_db
def test_the_database_holds_one_patient_per_number_per_clinic(account, other_account):
    """GIVEN a patient with an NHS number WHEN a second row of the clinic is written with
    it straight to the database THEN the constraint refuses it; another clinic's row and
    any number of patients without one are kept."""
    PatientFactory(account=account, nhs_number="9434765919")
    PatientFactory(account=account, nhs_number="")
    PatientFactory(account=account, nhs_number="")
    PatientFactory(account=other_account, nhs_number="9434765919")
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.bulk_create(
            [PatientFactory.build(account=account, number=99, nhs_number="9434765919")]
        )


@pytest.mark.django_db
def test_the_service_refuses_a_taken_number_in_words(account):
    PatientFactory(account=account, nhs_number="9434765919")
    with pytest.raises(NhsNumberTaken) as taken:
        patient_create(
            account=account,
            actor=Actor.system(),
            date_of_birth=PatientFactory.build().date_of_birth,
            nhs_number="9434765919",
        )
    assert "NHS number 943 476 5919 already belongs to another patient" in str(taken.value)


# --- The patients API (snake_case) -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["9434765919", "943 476 5919", "943-476-5919"])
def test_api_create_with_an_nhs_number_stores_its_digits(api, account, typed):
    """GIVEN a valid NHS number, spaced or not WHEN a patient is created through the API
    THEN the ten digits are stored and answered back."""
    response = api.post(
        "/api/v1/patients",
        {"last_name": "Thompson", "date_of_birth": "1948-03-03", "nhs_number": typed},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["nhs_number"] == "9434765919"
    assert Patient.objects.get(pk=response.json()["id"]).nhs_number == "9434765919"


@pytest.mark.django_db
@pytest.mark.parametrize("absent", [None, ""])
def test_api_nhs_number_is_optional(api, absent):
    body = {"last_name": "Thompson", "date_of_birth": "1948-03-03", "nhs_number": absent}
    response = api.post("/api/v1/patients", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["nhs_number"] is None
    assert Patient.objects.get().nhs_number == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "fragment"),
    [
        ("943 476 5918", "NHS number 943 476 5918 is not valid: its check digit does not match"),
        ("943476591", "it has 9 digits"),
        ("94347659190", "it has 11 digits"),
        ("1000000010", "no NHS number starts with"),
        ("943476591O", "no letters"),
        (9434765919, "no letters"),  # a JSON number is not a string of digits: refused
    ],
)
def test_api_invalid_nhs_number_is_a_400_naming_the_field(api, typed, fragment):
    """GIVEN an invalid NHS number WHEN creating a patient THEN 400 names nhs_number and
    says what is wrong, and no patient is written."""
    response = api.post(
        "/api/v1/patients",
        {"last_name": "Thompson", "date_of_birth": "1948-03-03", "nhs_number": typed},
        format="json",
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert fragment in " ".join(body["fields"]["nhs_number"])
    assert "nhs_number" in body["error"]
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_api_duplicate_nhs_number_is_a_409_in_words(api, account):
    """GIVEN a patient of the clinic with an NHS number WHEN another is created, or an
    existing one updated, with it (spaced or not) THEN 409 says the number belongs to
    another patient, and nothing changes."""
    holder = PatientFactory(account=account, nhs_number="9434765919")
    other = PatientFactory(account=account)
    response = api.post(
        "/api/v1/patients",
        {"last_name": "Thomson", "date_of_birth": "1952-01-01", "nhs_number": "943 476 5919"},
        format="json",
    )
    assert response.status_code == 409, response.content
    assert "nhs_number" in response.json()["error"]
    assert "NHS number 943 476 5919 already belongs to another patient" in response.json()["error"]
    response = api.patch(
        f"/api/v1/patients/{other.id}", {"nhs_number": "9434765919"}, format="json"
    )
    assert response.status_code == 409, response.content
    other.refresh_from_db()
    assert other.nhs_number == ""
    assert Patient.objects.filter(nhs_number="9434765919").get() == holder
    # The holder itself may be sent its own number again.
    response = api.patch(
        f"/api/v1/patients/{holder.id}", {"nhs_number": "943-476-5919"}, format="json"
    )
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_api_another_clinic_may_hold_the_same_number(api, other_account):
    """GIVEN another clinic's patient with an NHS number WHEN this clinic creates its own
    patient with it THEN it is created (a person may be registered at both), and this
    clinic's search by the number finds only its own."""
    foreign = PatientFactory(account=other_account, nhs_number="9434765919")
    response = api.post(
        "/api/v1/patients",
        {"last_name": "Thompson", "date_of_birth": "1948-03-03", "nhs_number": "9434765919"},
        format="json",
    )
    assert response.status_code == 201, response.content
    listed = api.get("/api/v1/patients", {"nhs_number": "943 476 5919"}).json()
    assert [row["id"] for row in listed["results"]] == [response.json()["id"]]
    assert str(foreign.id) not in str(listed)


@pytest.mark.django_db
def test_api_update_sets_and_clears_the_nhs_number(api, account):
    patient = PatientFactory(account=account)
    response = api.patch(
        f"/api/v1/patients/{patient.id}", {"nhs_number": "401 023 2137"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["nhs_number"] == "4010232137"
    response = api.patch(f"/api/v1/patients/{patient.id}", {"nhs_number": ""}, format="json")
    assert response.status_code == 200, response.content
    patient.refresh_from_db()
    assert patient.nhs_number == ""
    response = api.patch(
        f"/api/v1/patients/{patient.id}", {"nhs_number": "4010232138"}, format="json"
    )
    assert response.status_code == 400
    assert "check digit does not match" in " ".join(response.json()["fields"]["nhs_number"])


@pytest.mark.django_db
def test_api_list_filter_by_an_invalid_nhs_number_is_a_400(api):
    response = api.get("/api/v1/patients", {"nhs_number": "943 476 5918"})
    assert response.status_code == 400
    assert "check digit does not match" in " ".join(response.json()["fields"]["nhs_number"])


# --- X-on file requests (camelCase) --------------------------------------------------------


def create_request(api, account, **overrides):
    return api.post("/api/v1/file-requests", seed_body(account, **overrides), format="json")


@pytest.mark.django_db
def test_xon_request_for_a_new_patient_records_the_nhs_number(api, account):
    """GIVEN an X-on request with patientNhsNumber for an unknown patient WHEN created
    THEN the shell patient holds the ten digits."""
    response = create_request(api, account, patientNhsNumber="943 476 5919")
    assert response.status_code == 200, response.content
    patient = FileRequest.objects.get(pk=response.json()["id"]).patient
    assert patient.nhs_number == "9434765919"


@pytest.mark.django_db
def test_xon_request_fills_in_a_known_patients_missing_nhs_number(api, account):
    """GIVEN a patient known by mobile and date of birth, without an NHS number WHEN a
    request names them with one THEN it is that patient, now with the number."""
    known = PatientFactory(
        account=account, mobile="+447777123456", date_of_birth="1980-06-17", first_name="John"
    )
    response = create_request(api, account, patientNhsNumber="9434765919")
    assert response.status_code == 200, response.content
    assert response.json()["patientId"] == str(known.id)
    known.refresh_from_db()
    assert known.nhs_number == "9434765919"


@pytest.mark.django_db
def test_xon_request_tells_apart_family_members_by_nhs_number(api, account):
    """GIVEN twins sharing a mobile and a date of birth, each with an NHS number WHEN a
    request gives one twin's number THEN it reaches that twin; a third number is a third
    person."""
    first = PatientFactory(
        account=account,
        mobile="+447777123456",
        date_of_birth="1980-06-17",
        first_name="John",
        nhs_number="9434765919",
    )
    second = PatientFactory(
        account=account,
        mobile="+447777123456",
        date_of_birth="1980-06-17",
        first_name="John",
        nhs_number="4010232137",
    )
    response = create_request(api, account, patientNhsNumber="4010232137")
    assert response.json()["patientId"] == str(second.id)
    response = create_request(api, account, patientNhsNumber="9434765919")
    assert response.json()["patientId"] == str(first.id)
    response = create_request(api, account, patientNhsNumber="9990001235")
    assert response.status_code == 200, response.content
    assert response.json()["patientId"] not in {str(first.id), str(second.id)}
    assert Patient.objects.get(nhs_number="9990001235").is_shell


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "fragment"),
    [
        ("943 476 5918", "NHS number 943 476 5918 is not valid: its check digit does not match"),
        ("943476591", "it has 9 digits"),
        ("94347659190", "it has 11 digits"),
        ("NHS9434765919", "no letters"),
    ],
)
def test_xon_invalid_nhs_number_is_a_400_naming_the_field(api, account, typed, fragment):
    response = create_request(api, account, patientNhsNumber=typed)
    assert response.status_code == 400, response.content
    assert fragment in " ".join(response.json()["fields"]["patientNhsNumber"])
    assert not FileRequest.objects.exists()
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_xon_nhs_number_of_a_patient_with_another_mobile_is_a_409(api, account):
    """GIVEN a patient holding an NHS number, with another mobile WHEN a request gives that
    number with a new mobile THEN 409 says whose the number is, and no request or patient
    is made (the text would otherwise reach a phone the record does not know)."""
    PatientFactory(account=account, mobile="+447700900999", nhs_number="9434765919")
    response = create_request(api, account, patientNhsNumber="9434765919")
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert "patientNhsNumber" in error
    assert "NHS number 943 476 5919 already belongs to another patient" in error
    assert not FileRequest.objects.exists()
    assert Patient.objects.count() == 1


@pytest.mark.django_db
def test_xon_another_clinic_may_hold_the_same_number(api, account, other_account):
    PatientFactory(account=other_account, mobile="+447777123456", nhs_number="9434765919")
    response = create_request(api, account, patientNhsNumber="9434765919")
    assert response.status_code == 200, response.content
    patient = FileRequest.objects.get(pk=response.json()["id"]).patient
    assert patient.account == account
    assert patient.nhs_number == "9434765919"
