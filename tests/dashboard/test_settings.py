"""Settings for account admins: API keys, staff and roles, the audit log."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from portal.accounts.models import ApiKey, Staff, User
from portal.accounts.services import api_key_create
from portal.audit.models import AuditEvent
from tests.conftest import client_with_key
from tests.support.sessions import sign_in

pytestmark = pytest.mark.django_db


def html_of(response) -> str:
    return response.content.decode()


# --- API keys -------------------------------------------------------------------


def test_creating_a_key_shows_it_once(admin_client, account, admin_staff):
    """GIVEN an admin on the API keys page
    WHEN they create a key
    THEN the key is shown in that response only, it works, and its creation is audited."""
    response = admin_client.post("/settings/api-keys/", {"name": "Practice sync"})
    assert response.status_code == 201
    assert response["Cache-Control"].startswith("max-age=0")
    plaintext = re.search(r'id="issued-key">(cfp_[^<]+)<', html_of(response)).group(1)
    api_key = ApiKey.objects.get(account=account, name="Practice sync")
    assert plaintext.startswith(f"cfp_{api_key.prefix}_")
    assert AuditEvent.objects.filter(
        action="api_key.create", target_id=str(api_key.id), actor_id=str(admin_staff.id)
    ).exists()
    again = html_of(admin_client.get("/settings/api-keys/"))
    assert plaintext not in again
    assert f"cfp_{api_key.prefix}_…" in again
    assert client_with_key(plaintext).get("/api/v1/patients").status_code == 200


def test_a_key_needs_a_name(admin_client, account):
    """GIVEN the create form WHEN the name is empty THEN the error is shown and no key made."""
    response = admin_client.post("/settings/api-keys/", {"name": ""})
    assert response.status_code == 400
    assert "Give the key a name" in html_of(response)
    assert not ApiKey.objects.filter(account=account).exists()


def test_revoking_a_key_stops_it_at_once(admin_client, account, admin_staff):
    """GIVEN a working key WHEN an admin revokes it THEN the next API call with it is 401."""
    issued = api_key_create(account=account, name="Old system")
    api = client_with_key(issued.plaintext)
    assert api.get("/api/v1/patients").status_code == 200
    response = admin_client.post(f"/settings/api-keys/{issued.api_key.id}/revoke/", follow=True)
    assert "is revoked" in html_of(response)
    assert api.get("/api/v1/patients").status_code == 401
    assert AuditEvent.objects.filter(
        action="api_key.revoke", target_id=str(issued.api_key.id), actor_id=str(admin_staff.id)
    ).exists()


# --- Staff -----------------------------------------------------------------------


# Inviting (same answer for every address, accept by signing in or choosing a
# password): tests/dashboard/test_staff_invitations.py.


def test_invite_validation_errors_are_shown(admin_client, admin_staff):
    """GIVEN the add form WHEN the e-mail is invalid, or the person is already a member
    THEN the error is shown beside the field."""
    bad = admin_client.post(
        "/settings/staff/",
        {"email": "not-an-email", "display_name": "X", "role": "clinician", "how": "link"},
    )
    assert bad.status_code == 400
    assert "Enter a valid email address." in html_of(bad)
    again = admin_client.post(
        "/settings/staff/",
        {"email": admin_staff.user.email, "display_name": "X", "role": "clinician", "how": "link"},
    )
    assert again.status_code == 400
    assert "is already a member of Riverside Clinic" in html_of(again)


def test_change_a_role(admin_client, account, clinician):
    """GIVEN a clinician WHEN an admin makes them an admin THEN the role changes and is audited."""
    admin_client.post(f"/settings/staff/{clinician.id}/role/", {"role": "admin"})
    clinician.refresh_from_db()
    assert clinician.role == Staff.Role.ADMIN
    event = AuditEvent.objects.get(action="staff.role_change", target_id=str(clinician.id))
    assert event.detail == {"from": "clinician", "to": "admin"}


def test_the_last_admin_cannot_be_demoted(admin_client, admin_staff):
    """GIVEN the clinic's only admin WHEN they demote themselves THEN refused, with the reason."""
    response = admin_client.post(
        f"/settings/staff/{admin_staff.id}/role/", {"role": "clinician"}, follow=True
    )
    assert "A clinic needs at least one account admin." in html_of(response)
    admin_staff.refresh_from_db()
    assert admin_staff.role == Staff.Role.ADMIN


def test_remove_a_member_ends_their_access_at_once(admin_client, clinician, account):
    """GIVEN a clinician with an open session WHEN an admin removes them
    THEN their next page load is refused, and the removal is audited."""
    session = sign_in(Client(), clinician.user)
    assert session.get("/patients/").status_code == 200
    response = admin_client.post(f"/settings/staff/{clinician.id}/remove/", follow=True)
    assert "no longer has access" in html_of(response)
    assert session.get("/patients/").status_code == 403
    assert User.objects.filter(pk=clinician.user_id).exists()
    assert AuditEvent.objects.filter(action="staff.remove", target_id=str(clinician.id)).exists()


def test_admins_cannot_remove_themselves(admin_client, admin_staff):
    """GIVEN an admin WHEN they try to remove themselves THEN refused."""
    response = admin_client.post(f"/settings/staff/{admin_staff.id}/remove/", follow=True)
    assert "You cannot remove yourself" in html_of(response)
    assert Staff.objects.filter(pk=admin_staff.pk).exists()


# --- Audit log ----------------------------------------------------------------------


def test_audit_log_filters(admin_client, account, other_account, admin_staff):
    """GIVEN events of several kinds (and another clinic's)
    WHEN the admin filters by actor kind, action, target id and dates
    THEN only matching events of this clinic are listed."""
    kept = api_key_create(account=account, name="kept", created_by=admin_staff).api_key
    by_system = api_key_create(account=account, name="by system").api_key
    foreign = api_key_create(account=other_account, name="foreign").api_key
    everything = html_of(admin_client.get("/settings/audit/"))
    assert str(kept.id) in everything and str(by_system.id) in everything
    assert str(foreign.id) not in everything

    staff_only = html_of(admin_client.get("/settings/audit/", {"who": f"staff:{admin_staff.id}"}))
    assert str(kept.id) in staff_only and str(by_system.id) not in staff_only

    by_target = html_of(admin_client.get("/settings/audit/", {"target_id": str(by_system.id)}))
    assert str(by_system.id) in by_target and str(kept.id) not in by_target

    by_action = html_of(admin_client.get("/settings/audit/", {"action": "api_key.create"}))
    assert str(kept.id) in by_action

    long_ago = html_of(
        admin_client.get(
            "/settings/audit/", {"occurred_from": "2000-01-01", "occurred_to": "2000-12-31"}
        )
    )
    assert "No events match" in long_ago


def test_audit_log_date_errors_are_shown(admin_client):
    """GIVEN the filters WHEN the end date is before the start THEN the error is shown."""
    response = admin_client.get(
        "/settings/audit/", {"occurred_from": "2024-02-01", "occurred_to": "2024-01-01"}
    )
    assert response.status_code == 400
    assert "The end date is before the start date." in html_of(response)


def test_audit_log_is_paginated(admin_client, account):
    """GIVEN more events than a page holds WHEN the log is opened THEN it pages."""
    for number in range(55):
        api_key_create(account=account, name=f"key {number}")
    html = html_of(admin_client.get("/settings/audit/"))
    assert "Page 1 of 2" in html
