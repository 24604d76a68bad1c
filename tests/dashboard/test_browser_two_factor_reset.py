"""An account admin resets a colleague's two-factor sign-in in headless Chromium: from
Settings → Staff, through the confirmation page, to the colleague's next sign-in,
which sets up a new authenticator app. axe-core finds nothing serious on either page."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from portal.accounts.models import Staff
from portal.audit.models import AuditEvent
from tests.dashboard.browsing import enrol_on_the_page, sign_in_with_code
from tests.dashboard.conftest import PASSWORD, confirmed_device_for, current_code
from tests.support.axe import assert_no_serious_violations
from tests.support.browser import DESKTOP, PHONE, console_errors, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_as(page, base: str, email: str, device) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/login/verify/")
    page.fill("input[name=token]", current_code(device))
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/patients/")


def test_an_admin_resets_a_colleagues_two_factor_sign_in(live_server, open_page, clinic):
    """GIVEN Dr Ben Carter, signed in on his phone with an authenticator app he then loses
    WHEN the admin opens Settings → Staff, presses 'Reset two-factor sign-in' on his row,
    reads what will happen and confirms
    THEN the staff page says it is done, Ben's open session is signed out, his next
    sign-in sets up a new authenticator before the patients open, the event is in the
    audit log, and neither page has a serious accessibility violation."""
    base = live_server.url
    ben = Staff.objects.get(
        account=clinic["account"], user__email="ben.clinician@riverside.example"
    )
    old_device = confirmed_device_for(ben.user)
    bens_phone = open_page(PHONE)
    sign_in_as(bens_phone, base, ben.user.email, old_device)

    page = open_page(DESKTOP)
    errors = console_errors(page)
    sign_in_with_code(page, base, clinic)
    page.goto(f"{base}/settings/staff/")
    row = page.locator("[data-testid='member-ben.clinician@riverside.example']")
    expect(
        row.get_by_role("link", name="Reset two-factor sign-in of Dr Ben Carter")
    ).to_be_visible()
    own_row = page.locator("[data-testid='member-ada.admin@riverside.example']")
    expect(own_row.get_by_role("link", name="Reset two-factor sign-in")).to_have_count(0)
    assert_no_serious_violations(page, "staff page")
    screenshot(page, "dashboard-staff-two-factor-reset-button-desktop")

    row.get_by_role("link", name="Reset two-factor sign-in of Dr Ben Carter").click()
    page.wait_for_url(f"{base}/settings/staff/{ben.id}/two-factor-reset/")
    confirmation = page.locator("[data-testid=two-factor-reset]")
    expect(confirmation.get_by_role("heading")).to_have_text(
        "Reset two-factor sign-in for Dr Ben Carter?"
    )
    expect(confirmation).to_contain_text("Their authenticator app stops working")
    expect(confirmation).to_contain_text("They are signed out everywhere")
    expect(confirmation).to_contain_text("they set up a new authenticator app")
    assert TOTPDevice.objects.filter(pk=old_device.pk).exists()  # opening it changed nothing
    assert_no_serious_violations(page, "confirmation page")
    screenshot(page, "dashboard-staff-two-factor-reset-confirm-desktop")

    confirmation.get_by_role("button", name="Reset two-factor sign-in").click()
    page.wait_for_url(f"{base}/settings/staff/")
    expect(page.locator(".message-success")).to_contain_text(
        "Two-factor sign-in of Dr Ben Carter is reset"
    )
    assert_no_serious_violations(page, "staff page after the reset")
    screenshot(page, "dashboard-staff-two-factor-reset-done-desktop")
    assert not TOTPDevice.objects.filter(user=ben.user).exists()

    bens_phone.goto(f"{base}/patients/")
    bens_phone.wait_for_url(f"{base}/login/**")
    bens_phone.fill("input[name=username]", ben.user.email)
    bens_phone.fill("input[name=password]", PASSWORD)
    bens_phone.click("button[type=submit]")
    bens_phone.wait_for_url(f"{base}/login/enrol/")
    assert_no_serious_violations(bens_phone, "Ben's enrolment")
    screenshot(bens_phone, "dashboard-staff-two-factor-reset-enrol-phone")
    enrol_on_the_page(bens_phone)
    bens_phone.wait_for_url(f"{base}/patients/**")
    new_device = TOTPDevice.objects.get(user=ben.user)
    assert new_device.confirmed and new_device.key != old_device.key

    page.goto(f"{base}/settings/audit/")
    expect(page.locator("body")).to_contain_text("Reset a staff member's two-factor sign-in")
    event = AuditEvent.objects.get(action="staff.two_factor_reset")
    assert event.actor_id == str(clinic["admin"].pk)
    assert event.target_id == str(ben.pk)
    assert errors == []
