"""Screenshots of the dashboard's file pages at desktop and tablet width, with real data:
the patient's gallery and viewer, the request form for one patient, a failing endpoint's
delivery and the failing-endpoint banner (tests/artifacts/screenshots/dashboard-*). The
request list, an answered request and the webhook settings as they open are the
accessibility scan's screenshots (tests/dashboard/test_accessibility.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.dashboard.browsing import SHAPES, sign_in_with_code
from tests.dashboard.showcase import gallery_for, webhooks_for
from tests.support.browser import console_errors, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_screenshots_of_the_file_pages(live_server, open_page, clinic, shape):
    """GIVEN a clinic with attachments in every state and webhook endpoints (one failing)
    WHEN an admin opens each page at this width, and the viewer on a photo
    THEN each renders without script errors or CSP violations, thumbnails load, the
    request form names the one patient it is for, and each screenshot is saved for review."""
    account, admin = clinic["account"], clinic["admin"]
    amelia = clinic["patients"][0]
    gallery_for(account=account, patient=amelia)
    _healthy, failing = webhooks_for(account=account, staff=admin)
    page = open_page(SHAPES[shape])
    errors = console_errors(page)
    base = live_server.url
    sign_in_with_code(page, base, clinic)
    expect(page.get_by_test_id("webhook-banner")).to_be_visible()

    page.goto(f"{base}/patients/{amelia.id}/")
    thumbnails = page.locator(".record img.tile-image")
    expect(thumbnails).to_have_count(3)
    for index in range(3):
        thumbnails.nth(index).scroll_into_view_if_needed()
        expect(thumbnails.nth(index)).to_have_js_property("complete", True)
        assert thumbnails.nth(index).evaluate("img => img.naturalWidth") > 0
    assert thumbnails.first.get_attribute("loading") == "lazy"
    expect(page.locator(".tile-rejected")).to_contain_text("Rejected")
    screenshot(page, f"dashboard-patient-gallery-{shape}")

    page.locator(".record-item", has_text="wound-day-3.jpg").locator(".tile-open").click()
    viewer = page.locator("dialog#viewer")
    expect(viewer).to_be_visible()
    expect(viewer.locator("[data-viewer-image]")).to_have_js_property("complete", True)
    screenshot(page, f"dashboard-viewer-{shape}", full_page=False)
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()

    # The accessibility scan shows the request form, list and answered request and the
    # webhook settings as they open (tests/dashboard/test_accessibility.py); here, the
    # form for one patient and a failing endpoint's delivery opened.
    response = page.goto(f"{base}/file-requests/new/?patient={amelia.id}")
    assert response.status == 200
    # The form is for this patient, and says so as every banner does (family name first,
    # date of birth), so a clinician with two Amelias sees which one.
    assert page.locator("input[name=patient]").get_attribute("value") == str(amelia.id)
    chip = page.locator(".patient-chip")
    expect(chip).to_contain_text(amelia.name_family_first)
    expect(chip).to_contain_text(f"Born {amelia.date_of_birth:%-d-%b-%Y}")
    screenshot(page, f"dashboard-file-request-new-for-patient-{shape}")
    response = page.goto(f"{base}/settings/webhooks/{failing.id}/")
    assert response.status == 200
    page.locator(".delivery summary").first.click()
    screenshot(page, f"dashboard-webhook-failing-{shape}")

    page.goto(f"{base}/file-requests/new/")
    page.click("main form button[type=submit]")
    expect(page.locator(".field-error").first).to_be_visible()
    screenshot(page, f"dashboard-file-request-errors-{shape}")

    page.goto(f"{base}/settings/webhooks/")
    page.fill("input[name=url]", "https://lab.riverside.example/portal-events")
    page.get_by_label("A file is ready").check()
    page.click("main form.stack button[type=submit]")
    expect(page.get_by_test_id("webhook-secret")).to_be_visible()
    screenshot(page, f"dashboard-webhook-created-{shape}")
    assert not errors, errors


def test_a_refreshed_record_keeps_to_the_content_security_policy(live_server, open_page, clinic):
    """GIVEN a patient's record on screen, its elements carrying a style set by script (as
    the browser's tools, an extension or a screenshot's caret hiding set one) WHEN the
    record section refreshes in place (htmx, as it does while a photo is being checked)
    THEN no CSP violation: htmx no longer copies a style attribute onto the new elements,
    which the policy (``style-src 'self'``) refuses. One whole run failed on it, when a
    photo was still being checked as the gallery's screenshot was taken."""
    account, amelia = clinic["account"], clinic["patients"][0]
    gallery_for(account=account, patient=amelia)
    page = open_page(SHAPES["desktop"])
    errors = console_errors(page)
    sign_in_with_code(page, live_server.url, clinic)
    page.goto(f"{live_server.url}/patients/{amelia.id}/")
    expect(page.locator(".record img.tile-image")).to_have_count(3)
    styled = page.evaluate(
        """() => {
            const kept = [...document.querySelectorAll('#attachments-body [id]')];
            kept.forEach(element => element.style.setProperty('caret-color', 'transparent'));
            return kept.length;
        }"""
    )
    assert styled > 0  # elements htmx matches by id across the swap
    page.evaluate(
        """() => new Promise(settled => {
            document.body.addEventListener('htmx:afterSettle', () => settled(), {once: true});
            htmx.trigger(document.body, 'attachments-changed');
        })"""
    )
    expect(page.locator(".record img.tile-image")).to_have_count(3)
    assert not errors, errors
