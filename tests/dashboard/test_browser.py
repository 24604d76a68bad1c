"""The dashboard in headless Chromium: TOTP sign-in, live patient search, revoking a key,
and screenshots at desktop and tablet width (tests/artifacts/screenshots/) of the
pages the accessibility scan, which shows every other page, does not."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from portal.accounts.models import Staff
from portal.accounts.services import api_key_create, staff_create
from tests.dashboard.browsing import SHAPES, enrol_on_the_page, sign_in_with_code
from tests.dashboard.conftest import PASSWORD
from tests.support.browser import DESKTOP, TABLET, console_errors, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_signs_in_with_totp_and_revoking_a_key_stops_it_at_once(
    live_server, desktop_page, clinic
):
    """GIVEN an account admin with an authenticator app and a key in use by another system
    WHEN they sign in with password and code, and revoke the key in Settings
    THEN the next API call with that key is refused (401)."""
    page = desktop_page
    issued = api_key_create(account=clinic["account"], name="Practice management sync")
    api_url = f"{live_server.url}/api/v1/patients"
    assert requests.get(api_url, headers={"X-API-Key": issued.plaintext}).status_code == 200

    sign_in_with_code(page, live_server.url, clinic)
    assert page.locator(".brand-clinic").inner_text() == "Riverside Family Practice"

    page.click("nav.main-nav >> text=Settings")
    page.wait_for_url(f"{live_server.url}/settings/api-keys/")
    row = page.locator(f"[data-testid=api-key-{issued.api_key.prefix}]")
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button", has_text="Revoke").click()
    page.wait_for_selector(".message-success")
    assert "Revoked" in row.inner_text()

    response = requests.get(api_url, headers={"X-API-Key": issued.plaintext})
    assert response.status_code == 401


def test_patients_search_updates_as_you_type(live_server, desktop_page, clinic):
    """GIVEN a clinic's patients
    WHEN staff type a name, then a date of birth, then a national mobile number
    THEN the list narrows to the matching patients, without a page reload."""
    page = desktop_page
    sign_in_with_code(page, live_server.url, clinic)
    page.evaluate("() => { window.__sameDocument = true; }")

    rows = page.locator("#patient-results tbody tr")
    expect(rows).to_have_count(6)

    page.fill("#patient-search", "jones")
    expect(rows).to_have_count(2)
    assert "Amelia" in rows.nth(0).inner_text()
    assert page.url.endswith("/patients/?q=jones")
    screenshot(page, "dashboard-patients-search-desktop")

    page.fill("#patient-search", "05/11/1991")
    expect(rows).to_have_count(1)
    assert "Priya" in rows.nth(0).inner_text()

    page.fill("#patient-search", "07911 123404")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Tomasz")
    assert page.evaluate("() => window.__sameDocument") is True


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_screenshots_of_the_pages_the_axe_scan_does_not_show(live_server, open_page, clinic, shape):
    """GIVEN a clinic with data WHEN an admin signs in and opens, at this width, the pages
    the accessibility scan does not (tests/dashboard/test_accessibility.py opens every
    dashboard page at every width, answers 200, takes its screenshot and fails on a script
    error): the not-found page, a key just issued, a form sent back with errors, the
    two-factor page THEN each renders without a server error or a script error, and its
    screenshot is saved for review."""
    page = open_page(SHAPES[shape])
    base = live_server.url
    # Script errors and CSP violations; the 404 page below is meant.
    errors = console_errors(page)

    sign_in_with_code(page, base, clinic, shot=shape)
    response = page.goto(f"{base}/patients/00000000-0000-0000-0000-000000000000/")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "We could not find that page"
    screenshot(page, f"dashboard-not-found-{shape}")

    page.goto(f"{base}/settings/api-keys/")
    page.fill("input[name=name]", "Lab results import")
    page.click("main form.inline-form button[type=submit]")
    page.wait_for_selector("[data-testid=issued-key]")
    screenshot(page, f"dashboard-api-keys-{shape}")

    page.goto(f"{base}/patients/new/")
    page.fill("input[name=date_of_birth]", "2999-01-01")
    page.fill("input[name=mobile]", "+442071234567")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".field-error")
    screenshot(page, f"dashboard-patient-form-errors-{shape}")

    page.goto(f"{base}/security/two-factor/")
    screenshot(page, f"dashboard-two-factor-{shape}")
    assert not errors, errors


def test_forbidden_and_enrolment_pages(live_server, open_page, clinic):
    """GIVEN a receptionist at their first sign-in, and an admin who has not set up
    two-factor sign-in WHEN the receptionist sets up a code and opens Settings, and the
    admin signs in THEN the enrolment, the portal's 403 page, and the enrolment page
    with a QR code, are shown."""
    page = open_page(DESKTOP)
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "front.desk@riverside.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/login/enrol/")
    enrol_on_the_page(page)
    page.wait_for_url(f"{base}/patients/")
    assert page.locator("nav.main-nav >> text=Settings").count() == 0
    response = page.goto(f"{base}/settings/api-keys/")
    assert response.status == 403
    screenshot(page, "dashboard-forbidden-desktop")

    staff_create(
        account=clinic["account"],
        email="new.admin@riverside.example",
        password=PASSWORD,
        display_name="Dr New Admin",
        role=Staff.Role.ADMIN,
    )
    page = open_page(TABLET)
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "new.admin@riverside.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/login/enrol/")
    assert page.locator("img.qr-code").evaluate("img => img.naturalWidth > 0")
    screenshot(page, "dashboard-enrol-tablet")
