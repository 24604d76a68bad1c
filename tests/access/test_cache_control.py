"""No answer to an authenticated caller is kept by a browser or a shared cache.

Pages, htmx partials, API JSON and file bytes about patients must not be left in a
browser's cache (a shared clinic computer) or a proxy's: every answer to a signed-in
staff member, an API key or a verified patient carries ``Cache-Control`` with
``no-store`` and ``private``, whatever the status. The walk takes every route of the
URLconf (tests/access/test_route_walker.py) with the callers that own account A's objects,
each method of each route. Static assets stay cacheable.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from portal.accounts.services import api_key_create
from tests.access.routes import OTHER_ROUTES, ROUTES
from tests.access.test_route_walker import (  # noqa: F401  (build_world: this module's world)
    body_for,
    build_world,
    caller_client,
    kind_of,
    walk,
)
from tests.dashboard.conftest import signed_in_client
from tests.dashboard.routes import PAGES

pytestmark = pytest.mark.django_db


def owners(world, kind: str) -> dict[str, Client]:
    """The authenticated callers of account A that may use a route of this kind: its
    admin's verified session, its own live key, the patient verified for request X."""
    staff = signed_in_client(world.staff)
    key = Client(HTTP_X_API_KEY=api_key_create(account=world.account).plaintext)
    if kind == "patient":
        return {"verified patient": caller_client(world, "another request's patient")}
    if kind == "api" or kind.startswith("fhir"):
        return {"API key": key, "staff session": staff}
    return {"staff session": staff}


def assert_not_kept(response, where) -> None:
    value = response.get("Cache-Control", "")
    directives = {part.strip().split("=")[0] for part in value.lower().split(",")}
    assert {"no-store", "private"} <= directives, (*where, value)


@pytest.mark.parametrize(("name", "route"), sorted(walk().items()))
def test_no_authenticated_answer_may_be_stored(world, name, route):
    """GIVEN account A with one of everything WHEN its own staff (verified session), its
    own API key and a verified patient call each route with each method THEN every
    answer, success or refusal, says Cache-Control: no-store, private."""
    kind = kind_of(name, route)
    rule = ROUTES.get(name) or PAGES.get(name.removeprefix("dashboard:")) or OTHER_ROUTES[name]
    url = reverse(name, kwargs=rule.kwargs(world))
    body, content_type = body_for(kind, world)
    for caller, client in owners(world, kind).items():
        for method in rule.methods:
            response = client.generic(method, url, body, content_type=content_type)
            where = (caller, method, url, response.status_code)
            assert response.status_code < 500, where
            assert_not_kept(response, where)


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_HX_REQUEST": "true"}, {"HTTP_ACCEPT": "application/json"}],
    ids=["htmx", "json"],
)
def test_partials_and_json_of_the_dashboard_are_not_stored(world, headers):
    """GIVEN a signed-in staff member WHEN the live parts of the dashboard are asked for
    as htmx or JSON (a request's live panel, the inbox status, the patient list)
    THEN those answers are not stored either."""
    client = signed_in_client(world.staff)
    for url in (
        reverse("dashboard:file-request-live", kwargs={"file_request_id": world.file_request.id}),
        reverse("dashboard:review-status"),
        reverse("dashboard:patient-list") + "?q=Zeb",
        reverse("dashboard:patient-detail", kwargs={"patient_id": world.patient.id}),
    ):
        response = client.get(url, **headers)
        assert_not_kept(response, (url, response.status_code))


def test_static_assets_stay_cacheable(world):
    """GIVEN a signed-in staff member WHEN a stylesheet is fetched THEN it may be cached
    (no patient data in it): no no-store."""
    client = signed_in_client(world.staff)
    response = client.get("/static/filerequests/patient.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
