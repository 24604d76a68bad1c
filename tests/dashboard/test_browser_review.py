"""The clinic's day in headless Chromium with a real Celery worker: a patient's answer
reaches the staff inbox live, is marked reviewed and followed up; a locked-out patient
is unlocked and answers; a receptionist types a UK mobile the way she writes it.
Screenshots: tests/artifacts/screenshots/review-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from filerequests.models import FileRequest
from filerequests.services import file_request_create
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.patients.models import Patient
from tests.dashboard.browsing import sign_in_with_code
from tests.support.browser import DESKTOP, PHONE, console_errors, screenshot
from tests.support.patient_phone import DONE_PAGE_WAIT_MS, fill_date_of_birth, jpeg_bytes
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def ask(clinic, patient, prompt="Please send a photo of the rash on your left forearm."):
    admin = clinic["admin"]
    return file_request_create(
        account=clinic["account"],
        actor=Actor.for_staff(admin),
        type="photo",
        staff_id=admin.id,
        staff_name=admin.display_name,
        patient_mobile=patient.mobile,
        patient_date_of_birth=patient.date_of_birth,
        prompt=prompt,
    )


def patient_sends(phone, base, file_request, patient, *, name="forearm.jpg"):
    """The patient opens the link, confirms their date of birth and sends one photo."""
    born = patient.date_of_birth
    phone.goto(f"{base}/r/{file_request.short_link_id}")
    fill_date_of_birth(phone, f"{born.day:02d}", f"{born.month:02d}", str(born.year))
    phone.get_by_role("button", name="Continue").click()
    phone.wait_for_url(f"{base}/r/upload")
    phone.locator("#library-input").set_input_files(
        [{"name": name, "mimeType": "image/jpeg", "buffer": jpeg_bytes(1200, 900, (60, 90, 40))}]
    )
    phone.get_by_role("button", name=re.compile(r"^Send 1 photo")).click()
    phone.wait_for_url(re.compile(rf"{base}/r/done"), timeout=DONE_PAGE_WAIT_MS)


def test_an_answer_reaches_the_inbox_live_then_is_reviewed_and_followed_up(
    live_server, open_page, clinic, settings, tmp_path
):
    """GIVEN a clinician who asked a patient for photos, with the Inbox open
    WHEN the patient sends a photo from their phone
    THEN without a reload the menu's Inbox count and the tab title show 1, a notice says
    photos arrived for a request they sent, and the inbox offers them; opening the
    request, Mark reviewed (with its outcome) records them as the reviewer; Ask for more (prompt
    prefilled) sends a linked follow-up, which the patient answers too."""
    base = live_server.url
    settings.PORTAL_PUBLIC_BASE_URL = base
    patient = clinic["patients"][0]
    file_request = ask(clinic, patient)
    with celery_worker(tmp_path, extra_env={"PORTAL_PUBLIC_BASE_URL": base}):
        staff = open_page(DESKTOP)
        errors = console_errors(staff)
        sign_in_with_code(staff, base, clinic)
        staff.goto(f"{base}/inbox/")
        expect(staff.get_by_role("heading", name="Nothing to review")).to_be_visible()
        count = staff.locator("nav.main-nav .nav-count")
        expect(count).to_be_hidden()
        staff.evaluate("() => { window.__marker = 'still the same page'; }")

        phone = open_page(PHONE)
        patient_sends(phone, base, file_request, patient)

        expect(count).to_have_text("1", timeout=40_000)
        expect(staff).to_have_title(re.compile(r"^\(1\) Inbox"))
        expect(staff.locator("#review-toast")).to_contain_text(
            "New photos arrived for a request you sent"
        )
        expect(staff.locator("[data-inbox-live]")).to_contain_text("1 new file since")
        assert staff.evaluate("() => window.__marker") == "still the same page"
        screenshot(staff, "review-1-inbox-notice", full_page=False)
        staff.locator("[data-inbox-live] a").click()
        item = staff.get_by_test_id(f"inbox-{file_request.id}")
        expect(item).to_contain_text("Amelia Jones")
        expect(item).to_contain_text("1 new")
        screenshot(staff, "review-2-inbox")

        item.get_by_role("link", name=re.compile("^Open")).click()
        staff.wait_for_url(f"{base}/file-requests/{file_request.id}/")
        actions = staff.get_by_test_id("request-actions")
        expect(actions.get_by_role("link", name="Mark reviewed")).to_be_visible()
        expect(actions.get_by_role("link", name="Ask for more")).to_be_visible()
        expect(actions).not_to_contain_text("Resend text")
        staff.locator("#file-request-live .tile-open").first.click()
        expect(staff.locator("dialog#viewer")).to_be_visible()
        staff.keyboard.press("Escape")
        screenshot(staff, "review-3-request-answered")
        actions.get_by_role("link", name="Mark reviewed").click()
        staff.get_by_label("No action needed", exact=True).check()
        staff.get_by_role("button", name="Mark reviewed").click()
        expect(staff.locator(".message-success")).to_contain_text("as reviewed by you")
        expect(staff.get_by_test_id("reviewed")).to_contain_text("Reviewed by Dr Ada Lovelace")
        expect(count).to_be_hidden()

        staff.get_by_role("link", name="Ask for more").click()
        prompt = staff.get_by_label("What else do you need?")
        expect(prompt).to_have_value("Please send a photo of the rash on your left forearm.")
        prompt.fill("Thank you. One more from further away, please, to see the whole arm.")
        screenshot(staff, "review-4-ask-for-more")
        staff.get_by_role("button", name="Send the new request").click()
        staff.wait_for_url(re.compile(rf"{base}/file-requests/[0-9a-f-]{{36}}/$"))
        expect(staff.get_by_test_id("follow-up-links")).to_contain_text("Follows up")
        follow_up = FileRequest.objects.get(follow_up_of=file_request)
        assert staff.url.endswith(f"/file-requests/{follow_up.id}/")

        patient_sends(open_page(PHONE), base, follow_up, patient, name="whole-arm.jpg")
        thumbnails = staff.locator("#file-request-live .gallery img.tile-image")
        expect(thumbnails).to_have_count(1, timeout=60_000)
        expect(staff.get_by_test_id("request-status")).to_have_text("Answered")
        expect(staff.get_by_test_id("request-actions")).to_contain_text("Mark reviewed")
        screenshot(staff, "review-5-follow-up-answered")
        assert not errors, errors

    assert AuditEvent.objects.filter(action="file_request.review").count() == 1
    assert AuditEvent.objects.filter(action="file_request.follow_up").count() == 1


def test_a_locked_out_patient_is_unlocked_and_answers(
    live_server, open_page, clinic, settings, tmp_path
):
    """GIVEN a request whose page staff have open
    WHEN someone types a wrong date of birth five times on the phone
    THEN the staff page shows, without a reload, "Locked after 5 wrong dates of birth"
    with the date of birth on record; "Unlock and resend" gives a new link (the old one
    no longer opens) and the patient answers through it."""
    base = live_server.url
    settings.PORTAL_PUBLIC_BASE_URL = base
    patient = clinic["patients"][2]
    file_request = ask(clinic, patient, prompt="A photo of the wound, please.")
    old_link = f"{base}/r/{file_request.short_link_id}"
    with celery_worker(tmp_path, extra_env={"PORTAL_PUBLIC_BASE_URL": base}):
        staff = open_page(DESKTOP)
        sign_in_with_code(staff, base, clinic)
        staff.goto(f"{base}/file-requests/{file_request.id}/")
        phone = open_page(PHONE)
        phone.goto(old_link)
        for day in range(1, 6):
            fill_date_of_birth(phone, f"{day:02d}", "01", "1990")
            phone.get_by_role("button", name="Continue").click()
            phone.wait_for_load_state()
        expect(phone.locator("body")).to_contain_text("locked this link")
        panel = staff.get_by_test_id("locked-panel")
        expect(panel).to_contain_text(
            re.compile(r"Locked after 5 wrong dates of birth at \d\d:\d\d"), timeout=15_000
        )
        expect(staff.get_by_test_id("dob-on-record")).to_have_text("5 November 1991")
        expect(staff.get_by_test_id("request-status")).to_have_text("Locked")
        screenshot(staff, "review-6-locked")
        staff.on("dialog", lambda dialog: dialog.accept())
        panel.get_by_role("button", name="Unlock and resend").click()
        expect(staff.locator(".message-success")).to_contain_text("the old link no longer works")
        expect(staff.get_by_test_id("locked-panel")).to_have_count(0)
        file_request.refresh_from_db()
        assert not file_request.is_locked()
        assert AuditEvent.objects.filter(
            action="file_request.unlock", target_id=str(file_request.id)
        ).exists()

        stale = open_page(PHONE)
        stale.goto(old_link)
        expect(stale.get_by_label("Day")).to_have_count(0)
        patient_sends(open_page(PHONE), base, file_request, patient, name="wound.jpg")
        expect(staff.get_by_test_id("request-status")).to_have_text("Answered", timeout=60_000)


def test_a_receptionist_types_a_uk_mobile_as_she_writes_it(live_server, open_page, clinic):
    """GIVEN the add-patient form WHEN 07911 123456 is typed THEN the patient is added
    and shown with +44 7911 123456; a landline typed instead is refused in words."""
    base = live_server.url
    page = open_page(DESKTOP)
    sign_in_with_code(page, base, clinic)
    page.goto(f"{base}/patients/new/")
    page.get_by_label("First name").fill("Ravi")
    page.get_by_label("Last name").fill("Patel")
    page.get_by_label("Date of birth").fill("1988-08-08")
    page.get_by_label("Mobile number").fill("020 7123 4567")
    page.get_by_role("button", name=re.compile("Add patient|Save")).click()
    expect(page.locator(".field-error")).to_contain_text("is a landline number")
    screenshot(page, "review-7-mobile-landline-refused")
    page.get_by_label("Mobile number").fill("07911 123456")
    page.get_by_role("button", name=re.compile("Add patient|Save")).click()
    expect(page.locator(".patient-header")).to_contain_text("+44 7911 123456")
    assert Patient.objects.get(last_name="Patel").mobile.as_e164 == "+447911123456"
