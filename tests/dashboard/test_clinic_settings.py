"""Settings → Clinic: the phone number and safety line every patient page
shows are a clinic setting an account admin changes in the dashboard."""

from __future__ import annotations

import pytest

from portal.accounts.models import Staff
from portal.audit.models import AuditEvent
from tests.factories import FileRequestFactory, StaffFactory
from tests.support.sessions import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, account):
    sign_in(client, StaffFactory(account=account, role=Staff.Role.ADMIN).user)
    return client


def test_an_admin_sets_the_number_and_line_patients_see(admin_client, client, account):
    """GIVEN an account admin WHEN they save the clinic's number as staff type it and a
    safety line THEN it is stored normalised, audited by field name, and the patient's
    link page shows the number to tap and the line."""
    page = admin_client.get("/settings/clinic/")
    assert page.status_code == 200
    saved = admin_client.post(
        "/settings/clinic/",
        {
            "name": "Riverside Clinic",
            "phone_number": "0117 496 0000",
            "patient_safety_line": "Not for emergencies: call 999.",
        },
    )
    assert saved.status_code == 302
    account.refresh_from_db()
    assert str(account.phone_number) == "+441174960000", repr(account.phone_number)
    event = AuditEvent.objects.get(action="account.clinic_settings_update")
    assert event.detail == {"fields": ["phone_number", "patient_safety_line"]}
    link = FileRequestFactory(account=account)
    html = client.get(f"/r/{link.short_link_id}").content.decode()
    assert 'href="tel:+441174960000"' in html
    assert "Not for emergencies: call 999." in html


@pytest.mark.parametrize("number", ["not a number", "123", "+999 123"])
def test_a_wrong_number_is_refused_in_words_and_nothing_changes(admin_client, account, number):
    before = (account.name, account.phone_number, account.patient_safety_line)
    answer = admin_client.post(
        "/settings/clinic/",
        {"name": "Elsewhere", "phone_number": number, "patient_safety_line": "x"},
    )
    assert answer.status_code == 400
    assert "Enter a phone number" in answer.content.decode()
    account.refresh_from_db()
    assert (account.name, account.phone_number, account.patient_safety_line) == before
    assert not AuditEvent.objects.filter(action="account.clinic_settings_update").exists()


def test_a_clinician_cannot_change_the_clinic(client, account):
    sign_in(client, StaffFactory(account=account, role=Staff.Role.CLINICIAN).user)
    answer = client.post(
        "/settings/clinic/",
        {"name": "Taken over", "phone_number": "", "patient_safety_line": ""},
    )
    assert answer.status_code in (302, 403, 404)
    account.refresh_from_db()
    assert account.name == "Riverside Clinic"
