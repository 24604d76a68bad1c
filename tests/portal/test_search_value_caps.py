"""Searches with more values than any real one, on every surface that searches: the
FHIR door, the API's patient list and the dashboard's patient search.

A thousand comma-separated names once answered "503 briefly unavailable" on SQLite (the
embedded shape's database refuses a query whose expression tree is deeper than 1,000).
Each surface now caps the values one parameter may carry and answers more with a 400
saying so, before the database is asked; a search at the cap is answered. The last test
runs this module again on SQLite, so both databases are proven.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from fhirapi import registry
from fhirapi.search import MAX_VALUE_LENGTH, MAX_VALUES
from portal.accounts.models import Staff
from portal.accounts.services import api_key_create
from portal.patients.selectors import NAME_SEARCH_MAX_LENGTH, NAME_SEARCH_MAX_WORDS
from tests.dashboard.conftest import signed_in_client
from tests.factories import PatientFactory, StaffFactory
from tests.support.sqlite_run import pytest_on_sqlite

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
THOUSAND = [f"name{i}" for i in range(1000)]


@pytest.fixture
def clinic(account, client):
    """John Smith in a clinic, its key, and a signed-in member of staff."""
    PatientFactory(account=account, first_name="John", last_name="Smith")
    key = api_key_create(account=account, name="record system").plaintext
    staff = StaffFactory(account=account, role=Staff.Role.CLINICIAN)

    class Clinic:
        def fhir(self, path: str, query=None):
            return client.get(f"/fhir/R4/{path}", query or {}, HTTP_AUTHORIZATION=f"Bearer {key}")

        def api(self, path: str, query):
            return client.get(f"/api/v1/{path}", query, HTTP_X_API_KEY=key)

        dashboard = signed_in_client(staff)

    return Clinic()


def a_value(parameter, index: int) -> str:
    """A value of the parameter, distinct for each index, of the form it matches on (so no
    condition is dropped as matching nothing, and the query is as deep as it can be)."""
    if parameter.type == "date":
        return f"ge{1900 + index % 100:04d}-01-01"
    if parameter.type == "reference":
        return f"Patient/{uuid.UUID(int=index + 1)}"
    return {
        "_id": str(uuid.UUID(int=index + 1)),
        "identifier": str(index + 1),
        "phone": f"+4479110{index:05d}",
        "telecom": f"+4479110{index:05d}",
        "type": ("photo", "document")[index % 2],
        "gender": ("male", "female", "other", "unknown")[index % 4],
    }.get(parameter.name, f"v{index}")


SEARCH_PARAMETERS = [
    (definition.type, parameter)
    for definition in (registry.PATIENT, registry.DOCUMENT_REFERENCE)
    for parameter in definition.parameters.values()
]
SEARCH_IDS = [f"{resource}.{parameter.name}" for resource, parameter in SEARCH_PARAMETERS]


def outcome(response, status: int, code: str) -> str:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith(FHIR_JSON)
    (issue,) = response.json()["issue"]
    assert issue["code"] == code
    return issue["diagnostics"]


# --- FHIR -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["1000 in one list", "101 in one list", "60 listed + 41 repeats"])
@pytest.mark.parametrize(("resource", "parameter"), SEARCH_PARAMETERS, ids=SEARCH_IDS)
def test_fhir_more_values_than_the_cap_are_refused_in_words(clinic, resource, parameter, shape):
    """GIVEN any search parameter of either resource WHEN it carries more than 100
    values (one comma-separated list, or lists and repeats together) THEN 400
    OperationOutcome (too-costly) naming the parameter, the count and the cap."""
    if shape == "1000 in one list":
        query = {parameter.name: ",".join(a_value(parameter, i) for i in range(1000))}
        count = 1000
    elif shape == "101 in one list":
        query = {parameter.name: ",".join(a_value(parameter, i) for i in range(101))}
        count = 101
    else:
        listed = ",".join(a_value(parameter, i) for i in range(60))
        query = {parameter.name: [listed, *(a_value(parameter, 60 + i) for i in range(41))]}
        count = 101
    diagnostics = outcome(clinic.fhir(resource, query), 400, "too-costly")
    assert f"'{parameter.name}' has {count} values" in diagnostics
    assert f"at most {MAX_VALUES}" in diagnostics


@pytest.mark.parametrize("shape", ["lists", "repeats"])
@pytest.mark.parametrize("resource", ["Patient", "DocumentReference"])
def test_fhir_every_parameter_at_its_cap_at_once_is_answered(clinic, resource, shape):
    """GIVEN every search parameter of a resource at once, each with 100 values (as one
    list, or as 100 repeats: the deepest query a search can ask for) WHEN searched THEN
    200 with a searchset, on either database."""
    definition = registry.RESOURCES[resource]
    query = {}
    for parameter in definition.parameters.values():
        values = [a_value(parameter, i) for i in range(MAX_VALUES)]
        query[parameter.name] = ",".join(values) if shape == "lists" else values
    response = clinic.fhir(resource, query)
    assert response.status_code == 200, response.content[:500]
    assert response.json()["type"] == "searchset"


def test_fhir_the_issue_s_thousand_names_on_patient(clinic):
    diagnostics = outcome(clinic.fhir("Patient", {"name": ",".join(THOUSAND)}), 400, "too-costly")
    assert "'name' has 1000 values" in diagnostics
    body = clinic.fhir("Patient", {"name": ",".join(["smi", *THOUSAND[:99]])}).json()
    assert body["total"] == 1


@pytest.mark.parametrize("resource", ["Patient", "DocumentReference"])
def test_fhir_a_value_longer_than_any_real_one_is_refused(clinic, resource):
    parameter = "_id"
    diagnostics = outcome(
        clinic.fhir(resource, {parameter: "a" * (MAX_VALUE_LENGTH + 1)}), 400, "too-long"
    )
    assert f"at most {MAX_VALUE_LENGTH}" in diagnostics
    assert clinic.fhir(resource, {parameter: "a" * MAX_VALUE_LENGTH}).status_code == 200


def test_fhir_more_parameters_than_a_request_may_carry_is_an_operation_outcome(clinic):
    """GIVEN 1,001 query parameters (more than Django reads from one request) WHEN sent
    to a FHIR search THEN a 400 OperationOutcome, not an HTML error page."""
    query = "&".join(f"x{i}=1" for i in range(1001))
    outcome(clinic.fhir(f"Patient?{query}"), 400, "too-costly")


# --- the API ----------------------------------------------------------------------------

TOO_LONG_NAMES = {
    "1000 comma-separated": ",".join(THOUSAND),
    "1000 comma-and-space-separated": ", ".join(THOUSAND),
    "1000 words": " ".join(f"n{i}" for i in range(1000)),
    "11 words": " ".join("abcdefghijk"),
    "201 characters": "s" * (NAME_SEARCH_MAX_LENGTH + 1),
    # Control characters: NUL reaches no database (PostgreSQL refused it: a 500).
    "NUL": "jo\x00hn",
    "NUL alone": "\x00",
    "escape sequence": "\x1b[2J",
    "DEL": "smi\x7f",
}


@pytest.mark.parametrize("name", list(TOO_LONG_NAMES.values()), ids=list(TOO_LONG_NAMES))
def test_api_a_name_search_longer_than_any_name_is_refused_in_words(clinic, name):
    """GIVEN a name search with more than 10 words or 200 characters WHEN the patients
    API lists with it THEN 400 in the API's error shape, the message on the name field."""
    response = clinic.api("patients", {"name": name})
    assert response.status_code == 400, response.content[:500]
    body = response.json()
    assert body["code"] == "invalid"
    (message,) = body["fields"]["name"]
    assert message.startswith("A name search") and message in body["error"]


def test_api_a_name_search_at_the_cap_is_answered(clinic):
    words = ["jo", "sm", *["h"] * (NAME_SEARCH_MAX_WORDS - 2)]
    response = clinic.api("patients", {"name": " ".join(words)})
    assert response.status_code == 200, response.content[:500]
    assert [p["last_name"] for p in response.json()["results"]] == ["Smith"]
    longest = "s" * (NAME_SEARCH_MAX_LENGTH - 5) + " john"
    assert clinic.api("patients", {"name": longest}).status_code == 200


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("file-requests", {"status": ",".join(["sent"] * 1000)}),
        ("patient_attachments", {"q[]": ["archived_at:*"] * 999}),
    ],
)
def test_api_other_list_filters_with_a_thousand_values_are_answered(clinic, path, query):
    """The other list filters take values from a closed set, so a thousand of them are a
    handful of conditions: answered, never a 503."""
    assert clinic.api(path, query).status_code == 200


@pytest.mark.parametrize("path", ["webhook-deliveries", "webhooks/{endpoint}/deliveries"])
@pytest.mark.parametrize("status", ["\x00", "pending\x00", "bogus", "PENDING"])
def test_api_a_delivery_status_that_is_none_is_refused_in_words(clinic, account, path, status):
    """GIVEN a delivery list filtered by a status that is none of the statuses (a NUL in
    it was a 500 on PostgreSQL) WHEN listed THEN 400 naming the statuses."""
    from portal.audit.services import Actor
    from portal.webhooks import events
    from portal.webhooks.services import webhook_endpoint_create

    endpoint = webhook_endpoint_create(
        account=account,
        actor=Actor.system(),
        url="https://hooks.example.org/a",
        events=[events.FILE_READY],
    )
    response = clinic.api(path.format(endpoint=endpoint.pk), {"status": status})
    assert response.status_code == 400, response.content[:300]
    assert "use pending, succeeded, failed" in response.json()["fields"]["status"][0]
    assert clinic.api(path.format(endpoint=endpoint.pk), {"status": "pending"}).status_code == 200


# --- the dashboard ------------------------------------------------------------------------


@pytest.mark.parametrize("text", list(TOO_LONG_NAMES.values()), ids=list(TOO_LONG_NAMES))
def test_dashboard_a_search_longer_than_any_name_says_so_on_the_page(clinic, text):
    """GIVEN the patient search box WHEN given more than 10 words or 200 characters
    THEN the page answers 400 and says why where the results go; the live search (htmx)
    gets the same message in its results."""
    response = clinic.dashboard.get("/patients/", {"q": text})
    assert response.status_code == 400
    page = response.content.decode()
    assert "A name search" in page and "No patients found" not in page
    live = clinic.dashboard.get(
        "/patients/", {"q": text}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="patient-results"
    )
    assert live.status_code == 200 and "A name search" in live.content.decode()


def test_dashboard_a_search_at_the_cap_is_answered(clinic):
    words = ["jo", "sm", *["h"] * (NAME_SEARCH_MAX_WORDS - 2)]
    response = clinic.dashboard.get("/patients/", {"q": " ".join(words)})
    assert response.status_code == 200
    assert "SMITH" in response.content.decode()


# --- SQLite -------------------------------------------------------------------------------


# What SQLite must answer too: the thousand values of the issue on each surface, the
# other refusals in words, and the deepest searches the caps allow. (The FHIR family of
# every parameter x shape refuses before any query, as on PostgreSQL.)
SQLITE_SELECTION = (
    "the_issue or at_its_cap or at_the_cap or longer_than_any_name or other_list_filters "
    "or more_parameters or delivery_status"
)


@pytest.mark.slow
def test_zz_the_same_on_sqlite(tmp_path):
    """GIVEN the embedded shape's database (SQLite, whose expression-tree limit a
    thousand values exceeded) WHEN the tests above that reach it run on it THEN each
    passes."""
    if connection.vendor == "sqlite":
        pytest.skip("this run is the SQLite one")
    pytest_on_sqlite(tmp_path, __file__, "-k", SQLITE_SELECTION)
