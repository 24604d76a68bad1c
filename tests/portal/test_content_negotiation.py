"""What the API answers a client whose Accept header names only types it cannot send:
406 in the portal's error shape, as the schema documents for every operation; a missing,
wildcard or JSON Accept header is answered in JSON. (``text/html`` is DRF's browsable
API, which staff signed in to the dashboard may use.)"""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ROUTE = "/api/v1/patients"


@pytest.mark.parametrize(
    "accept",
    [
        "+=X6.[1\\",  # what the schema fuzzing once sent: no type at all
        "application/xml",
        "image/png",
        "text/csv; q=1.0",
    ],
)
def test_an_accept_header_naming_only_other_types_is_406_in_words(api, patient, accept):
    """GIVEN a key WHEN the patients list is asked for with only types the portal does
    not send THEN 406, with the portal's error shape saying so, and no patient data."""
    response = api.get(ROUTE, HTTP_ACCEPT=accept)
    assert response.status_code == 406
    body = response.json()
    assert body["code"] == "not_acceptable"
    assert "Accept" in body["error"]
    assert str(patient.id) not in response.content.decode()


@pytest.mark.parametrize(
    "accept", [None, "*/*", "application/json", "application/*", "application/xml, */*;q=0.1"]
)
def test_no_wildcard_or_json_accept_is_answered_in_json(api, patient, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = api.get(ROUTE, **headers)
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [str(patient.id)]


def test_every_operation_documents_the_406(db):
    """GIVEN the OpenAPI schema THEN every operation lists 406 with the error shape, so a
    client generated from it (and the schema fuzzing) knows the answer."""
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    missing = [
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
        and "406" not in operation["responses"]
    ]
    assert missing == []
    assert schema["paths"][ROUTE]["get"]["responses"]["406"]["content"]["application/json"] == {
        "schema": {"$ref": "#/components/schemas/Error"}
    }
