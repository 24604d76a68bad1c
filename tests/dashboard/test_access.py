"""Who may open which dashboard page: the dashboard's own cross-account matrix.

Staff of account B, even B's admins, get 404 for every page about one of
account A's objects; anonymous callers are sent to sign in; clinicians and
receptionists get the portal's 403 page on settings.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.urls import get_resolver, reverse

from portal.accounts.models import Staff
from portal.accounts.services import api_key_create
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.webhooks.models import Delivery, Event, WebhookEndpoint
from portal.webhooks.services import webhook_endpoint_create
from tests.dashboard.conftest import signed_in_client
from tests.dashboard.objects import attachment_with_file, stored_file
from tests.dashboard.routes import PAGES, object_pages
from tests.factories import AccountFactory, FileRequestFactory, PatientFactory, StaffFactory

pytestmark = pytest.mark.django_db


def build_world() -> SimpleNamespace:
    """Account A with one of everything; account B with an admin of its own."""
    account_a = AccountFactory(name="A Clinic")
    account_b = AccountFactory(name="B Clinic")
    admin_a = StaffFactory(account=account_a, role=Staff.Role.ADMIN)
    patient = PatientFactory(account=account_a)
    file_request = FileRequestFactory(account=account_a, patient=patient)
    endpoint = webhook_endpoint_create(
        account=account_a,
        actor=Actor.system(),
        url="https://a.example/hooks",
        events=["file.ready"],
    )
    event = Event.objects.create(account=account_a, type="file.ready", payload={})
    return SimpleNamespace(
        account=account_a,
        admin=admin_a,
        patient=patient,
        attachment=attachment_with_file(account=account_a, patient=patient),
        file_request=file_request,
        request_file=stored_file(account=account_a, patient=patient, file_request=file_request),
        endpoint=endpoint,
        delivery=Delivery.objects.create(
            account=account_a,
            event=event,
            endpoint=endpoint,
            url=endpoint.url,
            status=Delivery.Status.FAILED,
        ),
        api_key=api_key_create(account=account_a, name="A's key").api_key,
        staff=StaffFactory(account=account_a, role=Staff.Role.ADMIN),
        other_admin=StaffFactory(account=account_b, role=Staff.Role.ADMIN),
        other_clinician=StaffFactory(account=account_b),
        reply_template=account_a.reply_templates.first(),
    )


def test_every_dashboard_page_has_an_access_rule():
    """GIVEN the dashboard's routes WHEN compared with the table THEN none is missing."""
    names = {
        key
        for key in get_resolver().namespace_dict["dashboard"][1].reverse_dict
        if isinstance(key, str)
    }
    missing = sorted(names - set(PAGES))
    assert not missing, f"Dashboard pages without a rule in tests/dashboard/routes.py: {missing}"


@pytest.mark.parametrize("page_name", sorted(object_pages()))
def test_other_accounts_staff_get_404_for_every_object_page(world, page_name):
    """GIVEN an admin and a clinician of account B
    WHEN they open any page about one of account A's objects, with any method
    THEN the answer is 404 and A's object is unchanged."""
    rule = PAGES[page_name]
    url = reverse(f"dashboard:{page_name}", kwargs=rule.kwargs(world))
    callers = [world.other_admin] if rule.admin else [world.other_admin, world.other_clinician]
    for staff in callers:
        client = signed_in_client(staff)
        for method in rule.methods:
            response = client.generic(method, url, "role=clinician&first_name=X")
            assert response.status_code == 404, (staff.role, method, url, response.status_code)
            assert "We could not find that page" in response.content.decode()
    world.patient.refresh_from_db()
    world.api_key.refresh_from_db()
    world.staff.refresh_from_db()
    world.attachment.refresh_from_db()
    world.file_request.refresh_from_db()
    world.delivery.refresh_from_db()
    assert world.api_key.is_active
    assert world.attachment.archived_at is None
    assert world.file_request.status == "sent"
    assert world.file_request.notifications.count() == 0
    assert world.delivery.status == Delivery.Status.FAILED
    assert WebhookEndpoint.objects.filter(pk=world.endpoint.pk).exists()
    assert not AuditEvent.objects.filter(
        account=world.account, action__in=["file.download", "upload_ticket.issue"]
    ).exists()
    assert world.staff.role == Staff.Role.ADMIN and world.staff.user_id is not None


@pytest.mark.parametrize("page_name", sorted(object_pages()))
def test_the_owning_accounts_admin_reaches_every_object_page(world, page_name):
    """GIVEN account A's admin WHEN they open the same pages THEN none answers 404
    (so the 404s above are about the account, not a broken URL)."""
    rule = PAGES[page_name]
    url = reverse(f"dashboard:{page_name}", kwargs=rule.kwargs(world))
    client = signed_in_client(world.admin)
    for method in rule.methods:
        response = client.generic(method, url, "role=clinician&first_name=X")
        assert response.status_code in {200, 302, 400}, (method, url, response.status_code)


@pytest.mark.parametrize("page_name", sorted(name for name, r in PAGES.items() if not r.public))
def test_anonymous_callers_are_sent_to_sign_in(world, page_name, client):
    """GIVEN no session WHEN any dashboard page is opened THEN it redirects to the sign-in."""
    rule = PAGES[page_name]
    url = reverse(f"dashboard:{page_name}", kwargs=rule.kwargs(world))
    for method in rule.methods:
        response = client.generic(method, url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith("/login/?next="), (method, url)


@pytest.mark.parametrize("page_name", sorted(name for name, r in PAGES.items() if r.admin))
@pytest.mark.parametrize("role", [Staff.Role.CLINICIAN, Staff.Role.RECEPTIONIST])
def test_non_admins_get_403_on_settings(world, page_name, role):
    """GIVEN a clinician or receptionist of account A
    WHEN they open any settings page THEN they get the portal's 403 page."""
    rule = PAGES[page_name]
    url = reverse(f"dashboard:{page_name}", kwargs=rule.kwargs(world))
    client = signed_in_client(StaffFactory(account=world.account, role=role))
    for method in rule.methods:
        response = client.generic(method, url)
        assert response.status_code == 403, (method, url)
        html = response.content.decode()
        assert "You do not have access to this page" in html
        assert 'class="app-header"' in html


def test_malformed_ids_are_404_not_500(world):
    """GIVEN ids that are not UUIDs WHEN used in dashboard URLs THEN 404."""
    client = signed_in_client(world.admin)
    for url in ("/patients/not-a-uuid/", "/patients/123/edit/"):
        assert client.get(url).status_code == 404
    assert client.post("/settings/api-keys/xyz/revoke/").status_code == 404
    assert client.post("/settings/staff/xyz/role/", {"role": "admin"}).status_code == 404


def test_switching_to_a_clinic_one_is_not_a_member_of_is_404(world):
    """GIVEN an admin of A WHEN they try to switch to account B THEN 404 and nothing changes."""
    client = signed_in_client(world.admin)
    response = client.post("/account/switch/", {"account_id": str(world.other_admin.account_id)})
    assert response.status_code == 404
    assert "account_id" not in client.session


def test_api_paths_still_answer_json_errors(world):
    """GIVEN the portal's HTML error pages WHEN an unknown API route is asked for THEN JSON 404."""
    client = signed_in_client(world.admin)
    response = client.get("/api/v1/no-such-route")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert "We could not find that page" in page.content.decode()
