"""The patients API: create, list with filters, read, update, and its errors."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.patients.birth_dates import FURTHEST_AHEAD_TIME_ZONE
from portal.patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_create_patient_returns_the_record(api, account):
    """GIVEN a clinic's API key WHEN it creates a patient THEN it gets the record back
    with an id, its mobile in E.164, and the creation is audited."""
    response = api.post(
        "/api/v1/patients",
        {
            "first_name": "John",
            "last_name": "Smith",
            "date_of_birth": "1980-06-17",
            "mobile": "+447911123456",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "number",
        "first_name",
        "last_name",
        "date_of_birth",
        "mobile",
        "nhs_number",
        "is_shell",
        "created_at",
    }
    assert body["mobile"] == "+447911123456"
    assert body["is_shell"] is False
    patient = Patient.objects.get(pk=body["id"])
    assert patient.account == account
    assert AuditEvent.objects.filter(action="patient.create", target_id=body["id"]).exists()


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"date_of_birth": "1980-06-17", "mobile": "07700900123"}, "mobile", "E.164"),
        ({"date_of_birth": "1980-06-17", "mobile": "+4477"}, "mobile", "E.164"),
        ({"date_of_birth": "1980-06-17", "mobile": "+442079460000"}, "mobile", "landline"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "future"),
        ({"date_of_birth": "17/06/1980"}, "date_of_birth", "format"),
        ({}, "date_of_birth", "required"),
        ({"date_of_birth": "1980-06-17", "shoe_size": 9}, "shoe_size", "Unknown field"),
        ({"date_of_birth": "1980-06-17", "first_name": ["John"]}, "first_name", "valid string"),
        ({"date_of_birth": "1980-06-17", "first_name": "x" * 101}, "first_name", "100"),
    ],
)
def test_bad_input_answers_400_with_a_message_per_field(api, payload, field, fragment):
    """GIVEN bad input WHEN creating a patient THEN 400 names the field and says what to fix,
    and no patient is written."""
    response = api.post("/api/v1/patients", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["fields"], body
    assert fragment.lower() in " ".join(body["fields"][field]).lower()
    assert field in body["error"]
    assert Patient.objects.count() == 0


def test_malformed_json_answers_400(api):
    response = api.generic("POST", "/api/v1/patients", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


def test_list_is_paginated_and_filtered(api, account, other_account):
    """GIVEN patients in two clinics WHEN one clinic lists THEN it sees only its own,
    50 a page, filterable by mobile, name and date of birth."""
    for n in range(55):
        PatientFactory(account=account, first_name=f"P{n}", last_name="Jones")
    family_a = PatientFactory(
        account=account,
        first_name="Alice",
        last_name="Brown",
        mobile="+447777123456",
        date_of_birth=datetime.date(1985, 1, 2),
    )
    family_b = PatientFactory(
        account=account,
        first_name="Ben",
        last_name="Brown",
        mobile="+447777123456",
        date_of_birth=datetime.date(2015, 3, 4),
    )
    PatientFactory(
        account=other_account, first_name="Alice", last_name="Brown", mobile="+447777123456"
    )

    first_page = api.get("/api/v1/patients").json()
    assert first_page["count"] == 57
    assert len(first_page["results"]) == 50
    assert first_page["next"]

    by_mobile = api.get("/api/v1/patients", {"mobile": "+447777123456"}).json()
    assert {p["id"] for p in by_mobile["results"]} == {str(family_a.id), str(family_b.id)}

    by_name = api.get("/api/v1/patients", {"name": "alice brown"}).json()
    assert [p["id"] for p in by_name["results"]] == [str(family_a.id)]

    by_dob = api.get(
        "/api/v1/patients", {"mobile": "+447777123456", "date_of_birth": "2015-03-04"}
    ).json()
    assert [p["id"] for p in by_dob["results"]] == [str(family_b.id)]

    assert api.get("/api/v1/patients", {"per_page": 5}).json()["results"].__len__() == 5
    assert api.get("/api/v1/patients", {"mobile": "0770"}).status_code == 400


def test_patch_updates_fields_and_a_named_shell_patient_is_no_longer_a_shell(api, account):
    shell = PatientFactory(account=account, first_name="", last_name="", is_shell=True)
    response = api.patch(f"/api/v1/patients/{shell.id}", {"first_name": "Jo"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["first_name"] == "Jo"
    assert response.json()["is_shell"] is False
    shell.refresh_from_db()
    assert shell.first_name == "Jo"


def test_patch_rejects_bad_values_and_changes_nothing(api, patient):
    before = (patient.first_name, patient.date_of_birth)
    tomorrow_everywhere = timezone.localdate(
        timezone=FURTHEST_AHEAD_TIME_ZONE
    ) + datetime.timedelta(1)
    response = api.patch(
        f"/api/v1/patients/{patient.id}",
        {"first_name": "New", "date_of_birth": tomorrow_everywhere.isoformat()},
        format="json",
    )
    assert response.status_code == 400
    patient.refresh_from_db()
    assert (patient.first_name, patient.date_of_birth) == before


# Half past eleven at night in UTC on 1 July: already 2 July in London (BST) and in
# Kiritimati (UTC+14, 13:30); still 1 July in New York.
LATE_UTC_EVENING = datetime.datetime(2026, 7, 1, 23, 30, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("born", "accepted"),
    [("2026-07-01", True), ("2026-07-02", True), ("2026-07-03", False), ("2027-07-01", False)],
)
def test_a_birth_today_anywhere_is_taken_and_a_later_one_refused(api, clock, born, accepted):
    """GIVEN the portal's clock at 23:30 UTC on 1 July WHEN a record system registers a
    baby born on 1 July (UTC's and New York's today) or 2 July (London's) THEN the patient
    is made; a date after today everywhere on Earth is refused in words, and nothing made."""
    clock.now = LATE_UTC_EVENING
    payload = {"first_name": "Baby", "last_name": "Lowe", "date_of_birth": born}
    response = api.post("/api/v1/patients", payload, format="json")
    if accepted:
        assert response.status_code == 201, response.json()
        assert response.json()["date_of_birth"] == born
    else:
        assert response.status_code == 400
        assert "future" in str(response.json()["fields"]["date_of_birth"])
        assert not Patient.objects.filter(last_name="Lowe").exists()


def test_put_and_delete_are_not_allowed(api, patient):
    assert api.put(f"/api/v1/patients/{patient.id}", {}, format="json").status_code == 405
    assert api.delete(f"/api/v1/patients/{patient.id}").status_code == 405


def test_unknown_and_malformed_ids_answer_404_json(api):
    for patient_id in ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "1"]:
        response = api.get(f"/api/v1/patients/{patient_id}")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_patients_are_numbered_per_clinic_and_found_by_number(api, account, other_account):
    """GIVEN two clinics adding patients WHEN they are created THEN each clinic numbers
    its own from 1, the number is answered beside the UUID, and the detail route accepts
    it; a number the clinic has not given answers 404 (never another clinic's patient)."""
    from tests.factories import PatientFactory

    ours = [
        api.post("/api/v1/patients", {"date_of_birth": f"1990-01-0{i}"}, format="json")
        for i in (1, 2)
    ]
    theirs = PatientFactory(account=other_account)
    assert [r.json()["number"] for r in ours] == [1, 2]
    assert theirs.number == 1
    by_number = api.get("/api/v1/patients/2")
    assert by_number.status_code == 200
    assert by_number.json()["id"] == ours[1].json()["id"]
    for unknown in ("3", "0", "00", "-1", "4294967296", "1.0", "\u0661"):
        assert api.get(f"/api/v1/patients/{unknown}").status_code == 404, unknown


@pytest.mark.django_db(transaction=True)
def test_patients_added_at_once_get_distinct_numbers(account):
    """GIVEN eight writers adding patients to one clinic at the same moment WHEN they
    commit THEN the numbers are 1..8, none given twice (the account row lock, and the
    unique constraint behind it)."""
    import threading

    from django.db import connection

    from tests.factories import PatientFactory

    barrier = threading.Barrier(8)
    errors = []

    def add():
        try:
            barrier.wait()
            PatientFactory(account=account)
        except Exception as error:  # reported below, with the thread's failure
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=add) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(Patient.objects.filter(account=account).values_list("number", flat=True))
    assert numbers == list(range(1, 9))
