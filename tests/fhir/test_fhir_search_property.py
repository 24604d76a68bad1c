"""A property of the FHIR door: whatever a client puts in a search's query string, every
parameter of both resources, with any modifier or chain, under any handling, the answer
is a Bundle or a 4xx OperationOutcome, never a 5xx or an HTML page.

Hypothesis draws the values (``tests.support.query_values``): dates with every field out
of range and any zone, tokens with and without systems, references of every shape, lists,
and any text. Bounded (a few hundred examples, derandomised) so the suite stays quick and
every run is the same run."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhirapi import codes, registry
from portal.accounts.services import api_key_create
from tests.factories import PatientFactory
from tests.support.examples import examples
from tests.support.query_values import any_text, dates, lists_of, numbers, uuids, values

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
PROPERTY_SETTINGS = settings(
    max_examples=examples(50),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


def token_values() -> st.SearchStrategy[str]:
    systems = st.sampled_from(
        [
            "",
            "phone",
            "email",
            "http://elsewhere.example/id",
            codes.PATIENT_ID_SYSTEM,
            codes.PATIENT_NUMBER_SYSTEM,
            codes.KIND_SYSTEM,
            codes.SOURCE_SYSTEM,
            codes.ATTACHMENT_ID_SYSTEM,
            codes.DOCUMENT_CLASS_SYSTEM,
            "https://old.example/fhir/sid/file-id",
        ]
    )
    code = st.one_of(
        uuids(),
        numbers,
        st.sampled_from(["photo", "document", "xon", "request", "+447911123456", "07911 123456"]),
        any_text,
    )
    return st.one_of(code, st.builds(lambda system, c: f"{system}|{c}", systems, code))


def reference_values() -> st.SearchStrategy[str]:
    return st.one_of(
        uuids(),
        uuids().map(lambda i: f"Patient/{i}"),
        uuids().map(lambda i: f"https://elsewhere.example/fhir/Patient/{i}"),
        st.builds(lambda kind, i: f"{kind}/{i}", any_text, any_text),
        st.sampled_from(["Patient/", "/", "//", "Patient//x", "http://", "Patient/x/_history/1"]),
    )


VALUES_BY_TYPE = {
    "date": values(dates()),
    "token": values(token_values()),
    "reference": values(reference_values()),
    "string": values(st.sampled_from(["John", "smi", "O'Brien", "%", "_", "\\"]), any_text),
}
MODIFIERS = ["missing", "not", "exact", "contains", "text", "Patient", "identifier", "in", ""]


@st.composite
def query_pairs(draw, definition) -> list[tuple[str, str]]:
    """1 to 4 (key, value) pairs: the resource's parameters, plain, with a modifier or a
    chain; its result parameters; and unknown names."""
    pairs = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["parameter", "parameter", "result", "unknown"]))
        if kind == "parameter":
            parameter = draw(st.sampled_from(list(definition.parameters.values())))
            key = parameter.name
            shape = draw(st.sampled_from(["plain", "plain", "modifier", "chain"]))
            if shape == "modifier":
                key += ":" + draw(st.sampled_from([*parameter.modifiers, *MODIFIERS]))
            elif shape == "chain":
                key += "." + draw(st.sampled_from(["name", "identifier", "_id", "x"]))
            pairs.append((key, draw(VALUES_BY_TYPE[parameter.type])))
        elif kind == "result":
            key = draw(
                st.sampled_from(
                    ["_count", "_offset", "_include", "_summary", "_format", "_total", "_sort"]
                )
            )
            likely = {
                "_count": numbers,
                "_offset": numbers,
                "_include": st.sampled_from([*definition.includes, "Patient:link", "*"]),
                "_summary": st.sampled_from(["count", "true", "text", "data", "false"]),
            }.get(key, any_text)
            pairs.append((key, draw(st.one_of(likely, lists_of(likely), any_text))))
        else:
            key = draw(
                st.one_of(st.sampled_from(["_has:Patient:link:name", "family", "x"]), any_text)
            )
            pairs.append((key, draw(any_text)))
    return pairs


DATE_PARAMETERS = [
    (definition.type, parameter.name)
    for definition in registry.RESOURCES.values()
    for parameter in definition.parameters.values()
    if parameter.type == "date"
]


def test_no_date_value_gets_a_server_error(client, account):
    """GIVEN every date parameter of both resources WHEN searched with any date (fields
    at and past their edges, any zone) THEN 200 or a 400 OperationOutcome."""
    PatientFactory(account=account)
    key = api_key_create(account=account, name="record system").plaintext

    @settings(PROPERTY_SETTINGS, max_examples=examples(80))
    @given(parameter=st.sampled_from(DATE_PARAMETERS), value=lists_of(dates()))
    def search(parameter, value):
        resource, name = parameter
        # A savepoint per example: a failing one rolls back alone, so the next examples
        # (and Hypothesis's shrinking) run on a usable connection.
        with transaction.atomic():
            response = client.get(
                f"/fhir/R4/{resource}",
                {name: value},
                HTTP_AUTHORIZATION=f"Bearer {key}",
            )
            assert response.status_code in (200, 400), (name, value, response.content[:300])
            assert response["Content-Type"].startswith(FHIR_JSON), (name, value)

    search()


@pytest.mark.parametrize("resource", ["Patient", "DocumentReference"])
def test_no_search_value_gets_a_server_error(client, record, resource):
    """GIVEN a clinic's record WHEN a search of either resource carries any parameters
    with any values, under any Prefer handling THEN a searchset Bundle or a 4xx
    OperationOutcome, never a 5xx."""
    definition = registry.RESOURCES[resource]

    @PROPERTY_SETTINGS
    @given(
        pairs=query_pairs(definition),
        handling=st.sampled_from(["", "handling=lenient", "handling=strict"]),
    )
    def search(pairs, handling):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {record.api_key}"}
        if handling:
            headers["HTTP_PREFER"] = handling
        with transaction.atomic():
            response = client.get(f"/fhir/R4/{resource}", pairs, **headers)
            assert response.status_code < 500, (pairs, response.content[:300])
        assert response["Content-Type"].startswith(FHIR_JSON), (pairs, response.status_code)
        body = response.json()
        if response.status_code == 200:
            assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
        else:
            assert 400 <= response.status_code < 500
            assert body["resourceType"] == "OperationOutcome", pairs

    search()
