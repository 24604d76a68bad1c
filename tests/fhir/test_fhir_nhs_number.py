"""The NHS number over FHIR: ``Patient.identifier`` with the NHS's own system, and the
search a GP system makes by it, within the clinic only."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fhir.resources.R4B.patient import Patient as FhirPatient

from portal.patients.models import Patient
from tests.factories import PatientFactory
from tests.fhir.test_fhir_api import bundle_of, ids_in

pytestmark = pytest.mark.django_db

NHS = "https://fhir.nhs.uk/Id/nhs-number"


@pytest.fixture
def numbered(record, other_account):
    """John Smith of the record with an NHS number; another clinic's patient with the
    same number (a person registered at both)."""
    Patient.objects.filter(pk=record.patient.pk).update(nhs_number="9434765919")
    foreign = PatientFactory(account=other_account, first_name="John", nhs_number="9434765919")
    return {"patient": record.patient, "foreign": foreign}


def test_the_nhs_number_is_an_identifier_with_the_nhs_system(fhir, record, numbered):
    """GIVEN a patient with an NHS number WHEN read over FHIR THEN Patient.identifier holds
    it, its ten digits with the system https://fhir.nhs.uk/Id/nhs-number, and the resource
    parses as an R4 Patient; a patient without one carries no such identifier."""
    response = fhir(f"Patient/{record.patient.pk}")
    assert response.status_code == 200
    body = response.json()
    FhirPatient(**body)
    nhs = [i for i in body["identifier"] if i["system"] == NHS]
    assert nhs == [{"use": "official", "system": NHS, "value": "9434765919"}]
    other = fhir(f"Patient/{record.other_patient.pk}").json()
    assert NHS not in {i["system"] for i in other["identifier"]}


@pytest.mark.parametrize(
    "identifier",
    [f"{NHS}|9434765919", "9434765919", f"{NHS}|943 476 5919", f"{NHS}|943-476-5919"],
)
def test_search_by_nhs_number_finds_the_clinics_patient_only(fhir, numbered, identifier):
    """GIVEN this clinic's patient and another clinic's patient holding the same NHS
    number WHEN the record system searches Patient?identifier=<NHS system>|<number>
    (bare, or spaced as people write it) THEN it finds its own patient, never the other
    clinic's."""
    body = bundle_of(fhir(f"Patient?identifier={quote(identifier, safe='|')}"))
    assert ids_in(body, "Patient") == [str(numbered["patient"].pk)]
    assert str(numbered["foreign"].pk) not in str(body)


@pytest.mark.parametrize(
    "identifier",
    [
        f"{NHS}|9434765918",  # check digit wrong
        f"{NHS}|4010232137",  # valid, nobody's here
        f"{NHS}|943476591",
        f"{NHS}|",
        "https://fhir.nhs.uk/Id/other|9434765919",
        "https://elsewhere.example/Id/nhs-number|9434765919",  # another issuer's system
        "|9434765919",
        f"{NHS}|{'9' * 200}",
    ],
)
def test_search_by_an_nhs_number_nobody_here_holds_answers_nothing(fhir, numbered, identifier):
    body = bundle_of(fhir(f"Patient?identifier={quote(identifier, safe='|')}"))
    assert body["total"] == 0 and "entry" not in body, identifier


def test_the_other_clinic_finds_its_own_patient_by_the_same_number(client, numbered):
    from portal.accounts.services import api_key_create

    key = api_key_create(account=numbered["foreign"].account, name="their system").plaintext
    response = client.get(
        f"/fhir/R4/Patient?identifier={quote(NHS)}|9434765919",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert ids_in(bundle_of(response), "Patient") == [str(numbered["foreign"].pk)]


def test_the_capability_statement_names_the_nhs_number(client):
    body = client.get("/fhir/R4/metadata").json()
    patient = next(r for r in body["rest"][0]["resource"] if r["type"] == "Patient")
    identifier = next(p for p in patient["searchParam"] if p["name"] == "identifier")
    assert NHS in identifier["documentation"]
