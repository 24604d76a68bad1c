"""The OpenAPI schema at /api/schema/: no sign-in, so it is made once per process for each
format and sent as kept; the caller chooses YAML or JSON and nothing else, so nothing it
sends is echoed into the schema or multiplies what the process keeps."""

from __future__ import annotations

import json

import pytest
import yaml
from django.test import Client, override_settings
from django.urls import path
from drf_spectacular.generators import SchemaGenerator

from config import api_docs
from config.api_docs import ApiSchemaView
from portal.patients.api import PatientListCreateApi

YAML_TYPE = "application/vnd.oai.openapi; charset=utf-8"
JSON_TYPE = "application/vnd.oai.openapi+json"


@pytest.fixture
def fresh_schema():
    """The process's kept schemas emptied for the test, and put back after it."""
    kept = dict(api_docs.SCHEMA_SENT)
    api_docs.SCHEMA_SENT.clear()
    yield
    api_docs.SCHEMA_SENT.clear()
    api_docs.SCHEMA_SENT.update(kept)


@pytest.fixture
def schemas_made(monkeypatch):
    """How many times drf-spectacular walked the routes to make a schema."""
    made = []
    walk = SchemaGenerator.get_schema

    def counted(self, *args, **kwargs):
        made.append(1)
        return walk(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counted)
    return made


def schema(**headers):
    return Client().get("/api/schema/", secure=True, **headers)


def test_the_schema_is_made_once_per_format_and_sent_alike_to_every_caller(
    fresh_schema, schemas_made
):
    """GIVEN a process that has not sent the schema WHEN three callers ask for YAML and three
    for JSON THEN the routes are walked once per format, and each caller of a format gets
    the same bytes, of the same document."""
    yamls = [schema() for _ in range(3)]
    jsons = [schema(HTTP_ACCEPT=JSON_TYPE) for _ in range(3)]
    assert len(schemas_made) == 2
    assert {r.status_code for r in yamls + jsons} == {200}
    assert len({r.content for r in yamls}) == 1 and len({r.content for r in jsons}) == 1
    assert yamls[0]["Content-Type"] == YAML_TYPE
    assert yamls[0]["Content-Disposition"] == 'inline; filename="Clinic File Portal API.yaml"'
    assert jsons[0]["Content-Type"] == JSON_TYPE
    assert jsons[0]["Content-Disposition"] == 'inline; filename="Clinic File Portal API.json"'
    document = json.loads(jsons[0].content)
    assert yaml.safe_load(yamls[0].content) == document
    assert "/api/v1/patients" in document["paths"]
    assert "Accept" in yamls[0]["Vary"]


def test_json_asked_by_format_parameter_or_plain_json_is_the_same_document(fresh_schema):
    by_parameter = Client().get("/api/schema/?format=json", secure=True)
    plain = schema(HTTP_ACCEPT="application/json")
    assert by_parameter.status_code == plain.status_code == 200
    assert plain["Content-Type"] == "application/json"
    assert json.loads(by_parameter.content) == json.loads(plain.content)


@pytest.mark.parametrize(
    "query, headers",
    [
        ("?version=%3Cscript%3Ealert(1)%3C/script%3E", {}),
        ("?version=9.9.9", {}),
        ("?lang=fr", {}),
        ("?lang=%00..%2F..", {}),
        ("", {"HTTP_ACCEPT": "application/vnd.oai.openapi; version=<script>"}),
        ("", {"HTTP_ACCEPT_LANGUAGE": "de"}),
    ],
    ids=["version-markup", "version-other", "lang", "lang-hostile", "accept-param", "accept-lang"],
)
def test_nothing_a_yaml_caller_sends_changes_the_schema(fresh_schema, schemas_made, query, headers):
    """GIVEN the schema sent once WHEN a caller adds a version, a language or parameters of
    its own THEN it gets the very same bytes, made no second time (the schema is the
    portal's one version, in English)."""
    plain = schema()
    asked = Client().get(f"/api/schema/{query}", secure=True, **headers)
    assert asked.status_code == 200
    assert asked.content == plain.content
    assert asked["Content-Type"] == YAML_TYPE
    assert b"<script>" not in asked.content and b"9.9.9" not in asked.content
    assert len(schemas_made) == 1


def test_json_indentation_asked_by_a_caller_is_not_kept_for_the_next(fresh_schema):
    first = schema(HTTP_ACCEPT="application/json; indent=12")
    second = schema(HTTP_ACCEPT="application/json")
    assert first.content == second.content
    assert first.content.startswith(b'{\n    "openapi"')


def test_a_format_the_schema_has_not_is_406_in_words(fresh_schema):
    answer = schema(HTTP_ACCEPT="text/csv")
    assert answer.status_code == 406
    said = yaml.safe_load(answer.content)
    assert said["code"] == "not_acceptable" and "Accept header" in said["error"]
    assert api_docs.SCHEMA_SENT == {}


# A URLconf of two routes, for the test below.
urlpatterns = [
    path("api/schema/", ApiSchemaView.as_view(), name="schema"),
    path("api/v1/patients", PatientListCreateApi.as_view(), name="patient-list"),
]


def test_a_change_to_the_urls_has_the_schema_made_afresh(fresh_schema):
    """GIVEN the schema sent WHEN the URLs it is made from change (a test's override) THEN
    the next caller gets the schema of those URLs, and the portal's again once they are
    back: nothing kept outlives what it was made from."""
    before = json.loads(schema(HTTP_ACCEPT=JSON_TYPE).content)
    with override_settings(ROOT_URLCONF=__name__):
        during = json.loads(schema(HTTP_ACCEPT=JSON_TYPE).content)
    after = json.loads(schema(HTTP_ACCEPT=JSON_TYPE).content)
    assert set(during["paths"]) == {"/api/v1/patients"}
    assert len(before["paths"]) > 20
    assert after == before
