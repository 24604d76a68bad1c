"""Cross-account access: for every API route, account B's key and B's staff see
nothing of account A's objects (404), and callers without credentials get 401.

Seed documents that define another status (Claros: 403 for another account's
patient) are the exception the route's own tests prove.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from filerequests.models import RecordReport
from files.services import file_create_from_stream
from portal.accounts.models import Staff
from portal.accounts.services import api_key_create, api_key_revoke
from portal.audit.services import Actor
from portal.webhooks import events
from portal.webhooks.services import event_dispatch, event_record, webhook_endpoint_create
from tests.access.routes import ROUTES
from tests.factories import (
    AccountFactory,
    FileFactory,
    FileRequestFactory,
    PatientFactory,
    StaffFactory,
)
from tests.support.sessions import sign_in

pytestmark = pytest.mark.django_db


def api_route_names(patterns=None, prefix: str = "") -> dict[str, str]:
    """Every named URL pattern under api/v1/, with its route text."""
    found: dict[str, str] = {}
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found.update(api_route_names(pattern.url_patterns, route))
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            found[pattern.name or f"<unnamed {route}>"] = route
    return found


def build_world() -> SimpleNamespace:
    """Account A with one of everything; account B, its key and its staff."""
    account_a = AccountFactory(name="A Clinic")
    account_b = AccountFactory(name="B Clinic")
    patient_a = PatientFactory(account=account_a)
    webhook_endpoint = webhook_endpoint_create(
        account=account_a,
        actor=Actor.system(),
        url="https://hooks.example.org/a",
        events=[events.FILE_READY],
    )
    webhook_event = event_record(account=account_a, type=events.FILE_READY, data={})
    [webhook_delivery] = event_dispatch(event_id=webhook_event.id)
    return SimpleNamespace(
        account=account_a,
        patient=patient_a,
        **attachment_objects(account_a, patient_a),
        file=file_create_from_stream(
            account=account_a,
            patient=patient_a,
            purpose="photo",
            original_name="a.png",
            declared_type="image/png",
            stream=[b"\x89PNG\r\n\x1a\n"],
            uploaded_by=None,
        ),
        file_request=FileRequestFactory(account=account_a, patient=patient_a),
        endpoint=webhook_endpoint,
        delivery=webhook_delivery,
        other_account=account_b,
        other_key=api_key_create(account=account_b).plaintext,
        # An admin: the strongest caller of another account still sees nothing of A's.
        other_staff=StaffFactory(account=account_b, role=Staff.Role.ADMIN),
        revoked_key=api_key_create(account=account_a),
        record_report=RecordReport.objects.create(
            account=account_a, patient=patient_a, fingerprint="0" * 64
        ),
    )


def attachment_objects(account, patient) -> dict:
    """A's patient attachment and photo property, each with a ready file."""
    from attachments.models import PatientAttachment, PatientPhoto

    def ready_file(name):
        return FileFactory(account=account, patient=patient, original_name=name, ready=True)

    attachment = PatientAttachment.objects.create(
        account=account, patient=patient, file=ready_file("a.pdf")
    )
    photo = PatientPhoto.objects.create(
        account=account,
        patient=patient,
        file=ready_file("a.jpg"),
        filename="a.jpg",
        content_type="image/jpeg",
    )
    return {"attachment": attachment, "photo": photo}


def callers(world):
    b_key = APIClient()
    b_key.credentials(HTTP_X_API_KEY=world.other_key)
    b_staff = APIClient()
    sign_in(b_staff, world.other_staff.user)
    return {"other account's key": b_key, "other account's staff": b_staff}


def test_every_api_route_has_an_access_rule():
    missing = sorted(set(api_route_names()) - set(ROUTES))
    assert not missing, f"API routes without a rule in tests/access/routes.py: {missing}"


@pytest.mark.parametrize("route_name", sorted(ROUTES))
def test_other_accounts_see_nothing(world, route_name):
    rule = ROUTES[route_name]
    url = reverse(route_name, kwargs=rule.kwargs(world))
    for caller_name, client in callers(world).items():
        for method in rule.methods:
            response = client.generic(method, url, "{}", content_type="application/json")
            if rule.collection and method == "GET":
                assert response.status_code == 200, (caller_name, method, url)
                assert str(world.patient.id) not in response.content.decode(), (caller_name, url)
            elif not rule.collection:
                assert response.status_code == rule.foreign_status, (
                    caller_name,
                    method,
                    url,
                    response.status_code,
                )


@pytest.mark.parametrize("route_name", sorted(ROUTES))
def test_anonymous_and_revoked_callers_get_401(world, route_name):
    rule = ROUTES[route_name]
    url = reverse(route_name, kwargs=rule.kwargs(world))
    revoked = APIClient()
    revoked.credentials(HTTP_X_API_KEY=world.revoked_key.plaintext)
    api_key_revoke(api_key=world.revoked_key.api_key)
    for client in (APIClient(), revoked):
        for method in rule.methods:
            response = client.generic(method, url, "{}", content_type="application/json")
            assert response.status_code == 401, (method, url, response.status_code)
