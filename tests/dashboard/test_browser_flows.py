"""The dashboard's two live journeys in headless Chromium, with a real Celery worker:
a file request answered from a patient's phone while staff watch the request's page,
and drag-and-drop upload of attachments on a patient's page. Screenshots land in
tests/artifacts/screenshots/dashboard-flow-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from filerequests.models import FileRequest
from filerequests.sms import file_outbox_messages
from tests.dashboard.browsing import sign_in_with_code
from tests.support.browser import DESKTOP, PHONE, screenshot
from tests.support.patient_phone import fill_date_of_birth, jpeg_bytes
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_photos_a_patient_sends_appear_on_the_staff_page_without_a_reload(
    live_server, open_page, clinic, settings, tmp_path
):
    """GIVEN a clinician signed in with a password and an authenticator code, and a
    real worker texting links through the file SMS backend
    WHEN they ask a new patient for photos through the dashboard form and keep the
    request's page open, and the patient, on their phone, opens the texted link,
    confirms their date of birth and sends two photos
    THEN both thumbnails appear on the staff page and its status turns to Answered,
    in the same page (no reload, no navigation)."""
    base = live_server.url
    outbox = tmp_path / "sms.jsonl"
    settings.PORTAL_PUBLIC_BASE_URL = base
    settings.SMS_FILE_PATH = str(outbox)
    worker_env = {"PORTAL_PUBLIC_BASE_URL": base, "SMS_FILE_PATH": str(outbox)}

    with celery_worker(tmp_path, extra_env=worker_env):
        staff_page = open_page(DESKTOP)
        sign_in_with_code(staff_page, base, clinic)
        staff_page.click("nav.main-nav >> text=File requests")
        staff_page.get_by_role("link", name="New file request").click()
        staff_page.get_by_label("Mobile number").fill("+447911123461")
        staff_page.get_by_label("Date of birth").fill("1975-02-14")
        staff_page.get_by_label("First name").fill("Nadia")
        staff_page.get_by_label("Last name").fill("Rahman")
        staff_page.get_by_label("What do you need photos of?").fill(
            "Please send a photo of the mole on your left shoulder, and one close-up."
        )
        screenshot(staff_page, "dashboard-flow-1-request-form")
        staff_page.get_by_role("button", name="Send request").click()
        staff_page.wait_for_url(re.compile(rf"{base}/file-requests/{UUID}/$"))
        expect(staff_page.locator(".message-success")).to_contain_text("+44 7911 123461")
        expect(staff_page.get_by_role("heading", level=1)).to_have_text("Photos from Nadia Rahman")
        status = staff_page.get_by_test_id("request-status")
        expect(status).to_have_text("Sent")
        staff_page.evaluate("() => { window.__marker = 'still the same page'; }")

        # The worker texts the link; the page shows the text message as delivered.
        (message,) = wait_for(lambda: file_outbox_messages(outbox), message="no SMS sent")
        assert message["to"] == "+447911123461"
        link = re.search(r"https?://\S+", message["body"])[0]
        expect(staff_page.get_by_test_id("sms-1")).to_contain_text(
            "Delivered to the SMS provider", timeout=15_000
        )
        expect(staff_page.locator(".waiting-state")).to_contain_text("Waiting for Nadia")
        screenshot(staff_page, "dashboard-flow-2-request-waiting")

        phone = open_page(PHONE)
        phone.goto(link)
        fill_date_of_birth(phone, "14", "02", "1975")
        phone.get_by_role("button", name="Continue").click()
        phone.wait_for_url(f"{base}/r/upload")
        assert "mole on your left shoulder" in phone.content()
        expect(status).to_have_text("Opened", timeout=15_000)

        phone.locator("#library-input").set_input_files(
            [
                {
                    "name": "shoulder.jpg",
                    "mimeType": "image/jpeg",
                    "buffer": jpeg_bytes(1600, 1200, (40, 60, 90)),
                },
                {
                    "name": "shoulder-close-up.jpg",
                    "mimeType": "image/jpeg",
                    "buffer": jpeg_bytes(1200, 1600, (90, 40, 60)),
                },
            ]
        )
        phone.get_by_role("button", name="Send 2 photos").click()
        phone.wait_for_url(f"{base}/r/done")

        thumbnails = staff_page.locator("#file-request-live .gallery img.tile-image")
        expect(thumbnails).to_have_count(2, timeout=60_000)
        for index in range(2):
            expect(thumbnails.nth(index)).to_have_js_property("complete", True)
            assert thumbnails.nth(index).evaluate("img => img.naturalWidth") > 0
        expect(status).to_have_text("Answered")
        expect(staff_page.locator("#file-request-live .tile-name")).to_have_text(
            ["shoulder.jpg", "shoulder-close-up.jpg"]
        )
        assert staff_page.evaluate("() => window.__marker") == "still the same page"
        screenshot(staff_page, "dashboard-flow-3-request-answered")

    file_request = FileRequest.objects.get(patient__last_name="Rahman")
    assert file_request.account == clinic["account"]
    assert file_request.status == FileRequest.Status.ANSWERED
    assert file_request.files.filter(state="ready").count() == 2
