"""What the FHIR door refuses, and how: dates it cannot search, searches it cannot narrow
as asked, and the one route a client reads before it holds a key.

A search that cannot be answered exactly is refused with a 400 OperationOutcome saying
what is wrong, never answered wider than asked (a record system would file another
patient's documents) and never a 500 page."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from portal.accounts.services import api_key_create, api_key_revoke
from tests.factories import PatientFactory
from tests.fhir.test_fhir_api import FHIR_JSON, bundle_of, ids_in, outcome_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def bare_fhir(client, account):
    """GET under /fhir/R4/ with a key of a clinic with one patient and no files: enough
    for refusals, which must not depend on what the clinic holds."""
    PatientFactory(account=account)
    key = api_key_create(account=account, name="record system").plaintext

    def get(path: str, **headers):
        headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {key}")
        return client.get(f"/fhir/R4/{path}", **headers)

    return get


DATE_PARAMETERS = [
    "Patient?_lastUpdated",
    "Patient?birthdate",
    "DocumentReference?_lastUpdated",
    "DocumentReference?date",
]


# --- dates ----------------------------------------------------------------------------


# Zones no place uses: FHIR's dateTime allows offsets from -14:00 to +14:00.
BAD_ZONES = [
    "gt2024-01-01T00:00:00+99:00",
    "2024-01-01T00:00:00+24:00",
    "2024-01-01T00:00:00-99:59",
    "2024-01-01T00:00:00+14:01",
    "lt2024-01-01T00:00:00-15:00",
    "2024-01-01T00:00:00+05:60",
    "ge2024-01-01T10:30+00:99",
]

# Values whose range, read in UTC, starts before year 1 or ends after year 9999.
OUTSIDE_THE_CALENDAR = [
    "9999-12-31T23:59:59Z",
    "ge0001-01-01T00:00:00+05:00",
    "lt0001-01-01T00:00:00+00:01",
    "le9999-12-31T23:59Z",
    "9999-12-31T23:59:59.999999Z",
    "sa9999-12-31T23:59:59-01:00",
    "eb0001-01-01T00:30:00+01:00",
    "ne9999-12-31T23:00:00-14:00",
    "le9999-12-31",
    "gt9999-12",
    "9999",
]


@pytest.mark.parametrize("value", BAD_ZONES)
@pytest.mark.parametrize("parameter", DATE_PARAMETERS)
def test_a_time_zone_no_place_uses_is_refused_in_words(bare_fhir, parameter, value):
    """GIVEN a date with an offset outside -14:00..+14:00 (or minutes past 59) WHEN any
    date parameter of either resource is searched with it THEN 400 OperationOutcome
    (invalid) naming the value and saying what offsets are allowed, not a 500 page."""
    diagnostics = outcome_of(bare_fhir(f"{parameter}={quote(value)}"), 400, "invalid")
    assert value[-6:] in diagnostics
    assert "-14:00 to +14:00" in diagnostics


@pytest.mark.parametrize("value", OUTSIDE_THE_CALENDAR)
@pytest.mark.parametrize("parameter", DATE_PARAMETERS)
def test_a_date_outside_the_calendar_is_refused_in_words(bare_fhir, parameter, value):
    """GIVEN a date whose range reaches before 0001-01-01 or past 9999-12-31 in UTC WHEN
    any date parameter is searched with it THEN 400 OperationOutcome (invalid) saying
    which dates can be searched."""
    diagnostics = outcome_of(bare_fhir(f"{parameter}={quote(value)}"), 400, "invalid")
    assert "0001-01-01" in diagnostics and "9999-12-31" in diagnostics


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("date=ge0001-01-01", 5),
        ("date=ge0001-01-01T00:00:00Z", 5),
        ("date=lt9999-12-30", 5),
        ("date=lt9999-12-31T23:59:58Z", 5),
        ("date=gt2000-01-01T00:00:00%2B14:00", 5),
        ("date=gt2000-01-01T00:00:00-14:00", 5),
        ("date=gt2000-01-01T00:00:00-00:00", 5),
        ("_lastUpdated=lt9000-01-01T12:00:00.5%2B05:30", 5),
    ],
)
def test_dates_at_the_edges_of_what_is_allowed_still_search(fhir, record, query, expected):
    body = bundle_of(fhir(f"DocumentReference?{query}"))
    assert body["total"] == expected


# --- searches that would widen if ignored ----------------------------------------------

WIDENING = {
    "DocumentReference": [
        # Chains: the server cannot follow a reference to another resource's parameters.
        "patient.name=Nobody",
        "patient.identifier=123",
        "patient.birthdate=1900-01-01",
        "subject.name=Nobody",
        "subject:Patient.name=Nobody",
        "patient:Patient.name=Nobody",
        "subject:Patient.identifier=x",
        "patient.name:exact=Nobody",
        # Modifiers the server does not support on a parameter it does.
        "patient:missing=true",
        "patient:missing=false",
        "patient:identifier=x",
        "patient:not=Patient/x",
        "subject:identifier=x",
        "type:not=photo",
        "type:text=photo",
        "type:in=http://example.org/vs",
        "category:not=xon",
        "category:below=xon",
        "date:missing=true",
        "_id:not=x",
        "_lastUpdated:missing=true",
        # Reverse chains and FHIR's other filters.
        "_has:Patient:link:name=Nobody",
        "_filter=patient eq x",
        "_text=rash",
        "_content=rash",
        "_list=x",
        "_query=x",
        "_tag:not=xon",
        "_profile=x",
        "_security=x",
        "_source=x",
        "_type=Patient",
        # Parameters the server does not know, with a modifier or a chain.
        "identifier:exact=x",
        "author.name=Nobody",
        "relatesto:missing=true",
        "context.related:identifier=x",
    ],
    "Patient": [
        "general-practitioner.name=Nobody",
        "organization.name=Nobody",
        "link.identifier=x",
        "name:missing=true",
        "name:not=John",
        "name:text=John",
        "name.family=Nobody",
        "phone:missing=true",
        "phone:not=07911123456",
        "telecom:text=x",
        "identifier:of-type=x",
        "identifier:not=x",
        "identifier:missing=true",
        "birthdate:missing=true",
        "_id:missing=true",
        "_id:contains=x",
        "_lastUpdated:not=2024",
        "_has:DocumentReference:patient:category=xon",
        "_has:DocumentReference:subject:_id=x",
        "_filter=name eq Nobody",
        "_text=Nobody",
        "_content=Nobody",
        "_tag=x",
        "_list=x",
        "family:missing=true",
        "given:not=Nemo",
        "gender:not=male",
        "address.city=Leeds",
    ],
}
WIDENING_CASES = [(kind, query) for kind, queries in WIDENING.items() for query in queries]


@pytest.mark.parametrize(("resource", "query"), WIDENING_CASES)
def test_a_search_the_server_cannot_narrow_is_refused_even_when_lenient(bare_fhir, resource, query):
    """GIVEN a search that names a filter in a form the server does not support (a chain,
    an unsupported modifier, ``_has`` or another of FHIR's filters, an unknown parameter
    with a modifier or a chain) WHEN it is sent with no Prefer header, with
    ``handling=lenient`` or with ``handling=strict`` THEN 400 OperationOutcome
    (not-supported) naming it: ignored, it would answer every file of the clinic."""
    name = query.split("=", 1)[0]
    path = f"{resource}?{quote(query, safe='=:')}"
    for handling in ("", "handling=lenient", "handling=strict", "respond-async, handling=lenient"):
        headers = {"HTTP_PREFER": handling} if handling else {}
        diagnostics = outcome_of(bare_fhir(path, **headers), 400, "not-supported")
        assert name.split(":")[0].split(".")[0] in diagnostics, handling


def test_a_chain_is_refused_with_the_way_to_search_instead(fhir, record):
    """GIVEN ``DocumentReference?patient.name=Smith`` (answered with every file of the
    clinic before) WHEN searched THEN 400 saying chains are not supported and how to
    search: the patient first, then the documents by the patient's id."""
    diagnostics = outcome_of(fhir("DocumentReference?patient.name=Smith"), 400, "not-supported")
    assert "patient.name" in diagnostics
    assert "chain" in diagnostics.lower()
    assert "Patient?" in diagnostics and "patient=Patient/<id>" in diagnostics


@pytest.mark.parametrize("resource", ["Patient", "DocumentReference"])
@pytest.mark.parametrize("query", ["nickname=Nobody", "x=1", "identifier2=5", "_pretty=true"])
def test_an_unknown_parameter_is_refused_unless_the_client_asks_for_lenient_handling(
    fhir, record, resource, query
):
    """GIVEN a parameter the server does not know WHEN sent without a Prefer header THEN
    400 naming it and the supported ones; WHEN sent with ``Prefer: handling=lenient`` THEN
    it is ignored as FHIR allows, and the self link leaves it out, so the client can see
    what the answer was searched by."""
    name = query.split("=")[0]
    diagnostics = outcome_of(fhir(f"{resource}?{query}"), 400, "not-supported")
    assert f"'{name}'" in diagnostics and "_lastUpdated" in diagnostics
    outcome_of(fhir(f"{resource}?{query}", HTTP_PREFER="handling=strict"), 400, "not-supported")
    lenient = bundle_of(fhir(f"{resource}?{query}", HTTP_PREFER="return=minimal, handling=lenient"))
    self_link = next(link["url"] for link in lenient["link"] if link["relation"] == "self")
    assert name not in self_link
    assert lenient["total"] == (2 if resource == "Patient" else 5)


def test_lenient_handling_still_applies_every_parameter_it_supports(fhir, record):
    body = bundle_of(
        fhir(
            f"DocumentReference?patient={record.patient.pk}&type=photo&nickname=x",
            HTTP_PREFER="handling=lenient",
        )
    )
    assert len(ids_in(body)) == 4


# --- the CapabilityStatement ------------------------------------------------------------------


def test_metadata_answers_without_credentials_and_says_how_to_authenticate(client, record):
    """GIVEN a client that holds no key yet WHEN it reads /metadata THEN 200 with the
    CapabilityStatement, whose rest.security names the service (Basic, from FHIR's
    restful-security-service codes) and says in words that a clinic's API key goes in
    X-API-Key, Authorization: Bearer or HTTP Basic."""
    response = client.get("/fhir/R4/metadata")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "CapabilityStatement"
    security = body["rest"][0]["security"]
    codings = [coding for service in security["service"] for coding in service["coding"]]
    assert {
        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
        "code": "Basic",
        "display": "Basic",
    } in codings
    for way in ("X-API-Key: <key>", "Authorization: Bearer <key>", "HTTP Basic"):
        assert way in security["description"]
    assert client.head("/fhir/R4/metadata").status_code == 200


@pytest.mark.parametrize("credentials", ["none", "wrong", "revoked", "basic-garbage", "another"])
def test_metadata_is_the_same_for_everyone_and_tells_nothing_of_any_clinic(
    client, record, other_account, credentials
):
    """GIVEN no key, a wrong, revoked or undecodable one, or another clinic's WHEN
    /metadata is read THEN the same bytes as for the clinic's own key, and nothing of
    either clinic in them: no name, id, patient, file or key prefix."""
    own = client.get("/fhir/R4/metadata", HTTP_AUTHORIZATION=f"Bearer {record.api_key}")
    headers = {}
    if credentials == "wrong":
        headers["HTTP_AUTHORIZATION"] = "Bearer cfp_live_notakey"
    elif credentials == "revoked":
        key = api_key_create(account=record.account, name="old")
        api_key_revoke(api_key=key.api_key)
        headers["HTTP_X_API_KEY"] = key.plaintext
    elif credentials == "basic-garbage":
        headers["HTTP_AUTHORIZATION"] = "Basic %%%"
    elif credentials == "another":
        headers["HTTP_AUTHORIZATION"] = "Bearer " + api_key_create(account=other_account).plaintext
    response = client.get("/fhir/R4/metadata", **headers)
    assert response.status_code == 200
    assert response.content == own.content
    text = response.content.decode()
    for secret in (
        record.account.name,
        str(record.account.pk),
        other_account.name,
        str(other_account.pk),
        record.patient.last_name,
        str(record.patient.pk),
        str(record.files[0].pk),
        record.api_key[:12],
    ):
        assert secret not in text


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_metadata_stays_read_only_without_credentials(client, method):
    response = getattr(client, method)("/fhir/R4/metadata", data="{}", content_type=FHIR_JSON)
    outcome_of(response, 405, "not-supported")
