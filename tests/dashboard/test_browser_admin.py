"""The Django admin in headless Chromium at desktop width: an operator signs in with
password and authenticator code, and the file and file-request lists (with their
thumbnails) and a request's page are saved as screenshots for review."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import expect

from portal.accounts.models import Staff
from portal.audit.services import Actor
from portal.patients.services import patient_create
from tests.dashboard.conftest import PASSWORD, confirmed_device_for, current_code
from tests.dashboard.showcase import everything_for
from tests.factories import UserFactory
from tests.support.browser import DESKTOP, console_errors, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_screenshots_of_the_admin_file_and_file_request_lists(live_server, open_page, clinic):
    """GIVEN a clinic with photos, documents, a rejected upload and an answered request
    WHEN an operator signs in to the admin with a code and opens the files list, the
    file requests list and the request
    THEN each page renders without script errors or CSP violations, every thumbnail
    loads, and the screenshots are saved."""
    account = clinic["account"]
    staff = Staff.objects.get(account=account, role=Staff.Role.CLINICIAN)
    patient = patient_create(
        account=account,
        actor=Actor.for_staff(staff),
        first_name="Imogen",
        last_name="Thackeray",
        mobile="+447911123499",
        date_of_birth=datetime.date(1986, 5, 4),
    )
    made = everything_for(account=account, staff=staff, patient=patient)
    operator = UserFactory(email="ops@portal.example", is_staff=True, is_superuser=True)
    device = confirmed_device_for(operator)
    base = live_server.url
    page = open_page(DESKTOP)
    errors = console_errors(page)

    page.goto(f"{base}/admin/files/file/")
    page.wait_for_url(f"{base}/login/**")
    page.fill("input[name=username]", operator.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/login/verify/")
    page.fill("input[name=token]", current_code(device))
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/files/file/")

    thumbnails = page.locator("#result_list img.admin-thumbnail")
    expect(thumbnails).to_have_count(6)  # three photos, the profile photo, two requested
    for index in range(thumbnails.count()):
        expect(thumbnails.nth(index)).to_have_js_property("complete", True)
        assert thumbnails.nth(index).evaluate("img => img.naturalWidth") > 0
        assert thumbnails.nth(index).bounding_box()["width"] <= 80
    expect(page.locator("#result_list .admin-file-state-rejected")).to_have_count(1)
    screenshot(page, "admin-files-desktop")

    page.goto(f"{base}/admin/filerequests/filerequest/")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    screenshot(page, "admin-file-requests-desktop")

    page.goto(f"{base}/admin/filerequests/filerequest/{made['file_request'].id}/change/")
    photos = page.locator(".admin-gallery img")
    expect(photos).to_have_count(2)
    for index in range(2):
        expect(photos.nth(index)).to_have_js_property("complete", True)
        assert photos.nth(index).evaluate("img => img.naturalWidth") > 0
    screenshot(page, "admin-file-request-desktop")

    page.goto(f"{base}/admin/attachments/patientattachment/")
    screenshot(page, "admin-attachments-desktop")
    page.goto(f"{base}/admin/files/file/{made['ready_attachment'].file_id}/change/")
    expect(page.locator("img.admin-thumbnail-large")).to_have_js_property("complete", True)
    screenshot(page, "admin-file-desktop")
    page.goto(f"{base}/admin/")
    screenshot(page, "admin-index-desktop")
    assert not errors, errors
