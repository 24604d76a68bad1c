"""API keys: the three ways of sending one, and what happens without a good one."""

from __future__ import annotations

import base64

import pytest
from rest_framework.test import APIClient

from portal.accounts.models import ApiKey
from portal.accounts.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("style", ["x-api-key", "bearer", "basic"])
def test_each_documented_key_style_is_accepted(account, patient, style):
    """GIVEN a key WHEN sent as Claros (X-API-Key), X-on (Bearer) or Cliniko (Basic, key as
    user name) does THEN the caller sees its account's patients."""
    key = api_key_create(account=account).plaintext
    headers = {
        "x-api-key": {"HTTP_X_API_KEY": key},
        "bearer": {"HTTP_AUTHORIZATION": f"Bearer {key}"},
        "basic": {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key}:".encode()).decode()},
    }[style]
    response = APIClient().get("/api/v1/patients", **headers)
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [str(patient.id)]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_API_KEY": "cfp_abcdefgh_not-a-real-key"},
        {"HTTP_X_API_KEY": "garbage"},
        {"HTTP_AUTHORIZATION": "Bearer "},
        {"HTTP_AUTHORIZATION": "Basic !!!notbase64"},
    ],
)
def test_missing_or_bad_key_answers_401_json(headers):
    response = APIClient().get("/api/v1/patients", **headers)
    assert response.status_code == 401
    body = response.json()
    assert body["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key_fails_at_once(account):
    issued = api_key_create(account=account)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=issued.plaintext)
    assert client.get("/api/v1/patients").status_code == 200
    api_key_revoke(api_key=issued.api_key)
    response = client.get("/api/v1/patients")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]


def test_key_is_stored_hashed_and_last_use_recorded(account):
    issued = api_key_create(account=account)
    stored = ApiKey.objects.get(pk=issued.api_key.pk)
    assert issued.plaintext not in (stored.key_digest, stored.prefix)
    assert issued.plaintext.startswith(f"cfp_{stored.prefix}_")
    assert stored.last_used_at is None
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.plaintext}")
    client.get("/api/v1/patients")
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_staff_session_sees_its_own_account(client, staff, patient, other_account):
    """GIVEN a signed-in staff member WHEN they use the browsable API THEN they see their
    clinic's patients, and a user with no membership sees nothing."""
    from tests.support.sessions import sign_in

    sign_in(client, staff.user)
    response = client.get("/api/v1/patients", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [str(patient.id)]


def test_signed_in_user_without_membership_is_refused(client, django_user_model):
    from tests.support.sessions import sign_in

    user = django_user_model.objects.create_user(email="nobody@example.com", password="x" * 12)
    sign_in(client, user)
    assert client.get("/api/v1/patients", HTTP_ACCEPT="application/json").status_code in (401, 403)


def test_staff_session_writes_need_csrf(staff):
    from tests.support.sessions import sign_in

    client = sign_in(APIClient(enforce_csrf_checks=True), staff.user)
    response = client.post("/api/v1/patients", {"date_of_birth": "1980-01-01"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]


def test_session_without_its_second_factor_cannot_use_the_api(staff, patient):
    """GIVEN a staff member who set up an authenticator app WHEN their session signed in with
    the password only THEN the API refuses it, and accepts it once verified with a code."""
    from tests.support.sessions import sign_in, verify_session

    client = sign_in(APIClient(), staff.user, verified=False)
    verify_session(APIClient(), staff.user)  # gives the user a confirmed device
    response = client.get("/api/v1/patients", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert "authentication code" in response.json()["error"]
    verify_session(client, staff.user)
    assert client.get("/api/v1/patients", HTTP_ACCEPT="application/json").status_code == 200


def test_admin_session_must_be_verified_even_without_a_device(account):
    from portal.accounts.models import Staff
    from tests.factories import StaffFactory
    from tests.support.sessions import sign_in

    admin = StaffFactory(account=account, role=Staff.Role.ADMIN)
    client = sign_in(APIClient(), admin.user, verified=False)
    assert client.get("/api/v1/patients", HTTP_ACCEPT="application/json").status_code == 401


def test_schema_documents_each_way_of_signing_in():
    """GIVEN the OpenAPI schema an integrator reads WHEN fetched THEN it describes the key
    in its three forms (X-API-Key, Bearer, Basic with the key as user name) and the staff
    session, and every patients operation accepts them."""
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["BearerKey"]["scheme"] == "bearer"
    assert schemes["BasicKey"]["scheme"] == "basic"
    assert schemes["StaffSession"]["in"] == "cookie"
    operation = schema["paths"]["/api/v1/patients"]["get"]
    named = {name for requirement in operation["security"] for name in requirement}
    assert {"ApiKeyHeader", "BearerKey", "BasicKey", "StaffSession"} <= named
