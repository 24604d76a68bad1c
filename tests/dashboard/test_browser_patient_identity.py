"""The right patient, in a real browser: a receptionist finds Margaret Thompson by her NHS
number typed with spaces, and every page about her (the record, her request, the file
viewer, the inbox) carries her banner and warns of Margaret Thomson, born the same year.
axe-core on each: no serious or critical violation. Screenshots in
tests/artifacts/screenshots/identity-*.png."""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.sync_api import expect

from portal.audit.services import Actor
from portal.patients.services import patient_create
from tests.dashboard.browsing import SHAPES, sign_in_with_code
from tests.dashboard.showcase import answered_request
from tests.support.axe import assert_no_serious_violations
from tests.support.browser import console_errors, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

THOMPSON_BANNER = re.compile(
    r"THOMPSON, Margaret\s+Born 3-Mar-1948 \(\d+y\)\s+NHS No. 943 476 5919"
)
SIMILAR = "Another patient has a similar name: THOMSON, Margaret, born 12-Jul-1948"


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_find_margaret_thompson_by_nhs_number_and_see_her_banner_everywhere(
    live_server, open_page, clinic, shape
):
    """GIVEN Margaret Thompson (1948, NHS number 943 476 5919), who has sent photos, and
    Margaret Thomson (1948) in the same clinic
    WHEN a member of staff types "943 476 5919" in the patient search and opens the result,
    her request, a photo in the viewer and the inbox
    THEN the search lists her alone, and each page shows THOMPSON, Margaret with her date
    of birth, age and NHS number; the record and the request warn of Margaret Thomson,
    linking to her; no page has a serious accessibility violation."""
    account, admin = clinic["account"], clinic["admin"]
    actor = Actor.for_staff(admin)
    thompson = patient_create(
        account=account,
        actor=actor,
        first_name="Margaret",
        last_name="Thompson",
        date_of_birth=datetime.date(1948, 3, 3),
        mobile="+447911123480",
        nhs_number="9434765919",
    )
    thomson = patient_create(
        account=account,
        actor=actor,
        first_name="Margaret",
        last_name="Thomson",
        date_of_birth=datetime.date(1948, 7, 12),
        mobile="+447911123481",
        nhs_number="4010232137",
    )
    file_request = answered_request(account=account, staff=admin, patient=thompson)
    page = open_page(SHAPES[shape])
    errors = console_errors(page)
    base = live_server.url
    sign_in_with_code(page, base, clinic)

    # The live search, as typed: with spaces.
    page.get_by_label("Search patients").press_sequentially("943 476 5919", delay=20)
    results = page.locator("#patient-results")
    expect(results).to_contain_text("1 patient with NHS number matching")
    rows = results.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("THOMPSON, Margaret")
    expect(rows.first).to_contain_text("943 476 5919")
    expect(results).not_to_contain_text("THOMSON")
    assert_no_serious_violations(page, f"search by NHS number ({shape})")
    screenshot(page, f"identity-search-{shape}")

    rows.first.get_by_role("link", name="THOMPSON, Margaret").click()
    page.wait_for_url(f"{base}/patients/{thompson.id}/")
    banner = page.get_by_test_id("patient-banner").first
    expect(banner).to_contain_text(THOMPSON_BANNER)
    expect(banner.get_by_test_id("similar-patients")).to_contain_text(SIMILAR)
    expect(banner.get_by_role("link", name=re.compile("THOMSON, Margaret"))).to_have_attribute(
        "href", f"/patients/{thomson.id}/"
    )
    assert_no_serious_violations(page, f"record ({shape})")
    screenshot(page, f"identity-record-{shape}")

    page.goto(f"{base}/file-requests/{file_request.id}/")
    banner = page.get_by_test_id("patient-banner").first
    expect(banner).to_contain_text(THOMPSON_BANNER)
    expect(banner).to_contain_text(SIMILAR)
    assert_no_serious_violations(page, f"request ({shape})")
    screenshot(page, f"identity-request-{shape}")

    page.locator("#file-request-live .tile-open").first.click()
    viewer = page.locator("dialog#viewer")
    expect(viewer).to_be_visible()
    expect(viewer.get_by_test_id("patient-banner")).to_contain_text(THOMPSON_BANNER)
    expect(viewer.get_by_test_id("patient-banner")).to_be_visible()
    assert_no_serious_violations(page, f"viewer ({shape})")
    screenshot(page, f"identity-viewer-{shape}", full_page=False)
    page.keyboard.press("Escape")

    page.goto(f"{base}/inbox/")
    row = page.get_by_test_id(f"inbox-{file_request.id}")
    expect(row.get_by_test_id("patient-banner")).to_contain_text(THOMPSON_BANNER)
    assert_no_serious_violations(page, f"inbox ({shape})")
    screenshot(page, f"identity-inbox-{shape}")
    assert not errors, errors
