"""A GP's loop closed, in headless Chromium with a real Celery worker: ask for photos, the
patient answers from their phone with a note, the GP reviews with an outcome and texts a
reply from the clinic's reply texts, saves the request to the record, and opens the PDF
the worker made. axe-core finds nothing serious on the new pages and states.
Screenshots: tests/artifacts/screenshots/save-to-record-*.png."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from filerequests.models import Notification, RecordReport
from filerequests.services import file_request_create
from filerequests.sms import file_outbox_messages
from files.models import File
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.patients.models import Patient
from tests.dashboard.browsing import sign_in_with_code
from tests.support.axe import assert_no_serious_violations
from tests.support.browser import DESKTOP, PHONE, console_errors, screenshot
from tests.support.patient_phone import DONE_PAGE_WAIT_MS, fill_date_of_birth, jpeg_bytes
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PROMPT = "Please send a close-up of the mole on your left shoulder."
NOTE = "It has got darker since the summer."


def test_review_reply_save_to_record_and_open_the_pdf(
    live_server, open_page, clinic, settings, tmp_path
):
    """GIVEN Amelia Jones (NHS No. 943 476 5919) asked for a photo
    WHEN she sends one with a note, and Dr Lovelace marks it reviewed as "Appointment
    needed" texting the clinic's "Please book an appointment" reply, then presses Save
    to record
    THEN the reply reaches her phone's outbox and the request page shows it; the page
    says "Saved to record by Dr Ada Lovelace at <time>", then offers the PDF the worker
    made, which holds her banner, NHS number, the note, the photo's SHA-256 and the
    outcome; the PDF is listed in her record; every new state has no serious axe
    violation."""
    base = live_server.url
    outbox = tmp_path / "sms" / "outbox.jsonl"
    settings.PORTAL_PUBLIC_BASE_URL = base
    settings.SMS_FILE_PATH = str(outbox)
    patient = clinic["patients"][0]
    Patient.objects.filter(pk=patient.pk).update(nhs_number="9434765919")
    admin = clinic["admin"]
    file_request = file_request_create(
        account=clinic["account"],
        actor=Actor.for_staff(admin),
        type="photo",
        staff_id=admin.id,
        staff_name=admin.display_name,
        patient_mobile=patient.mobile,
        patient_date_of_birth=patient.date_of_birth,
        prompt=PROMPT,
    )
    worker_env = {"PORTAL_PUBLIC_BASE_URL": base, "SMS_FILE_PATH": str(outbox)}
    with celery_worker(tmp_path, extra_env=worker_env):
        wait_for(lambda: file_outbox_messages(outbox), message="the request's text was not sent")

        # The patient answers from her phone, with a note.
        phone = open_page(PHONE)
        born = patient.date_of_birth
        phone.goto(f"{base}/r/{file_request.short_link_id}")
        fill_date_of_birth(phone, f"{born.day:02d}", f"{born.month:02d}", str(born.year))
        phone.get_by_role("button", name="Continue").click()
        phone.wait_for_url(f"{base}/r/upload")
        phone.locator("#library-input").set_input_files(
            [
                {
                    "name": "mole.jpg",
                    "mimeType": "image/jpeg",
                    "buffer": jpeg_bytes(1600, 1200, (150, 90, 70)),
                }
            ]
        )
        phone.locator(".photo__note").first.fill(NOTE)
        phone.get_by_role("button", name=re.compile(r"^Send 1 photo")).click()
        phone.wait_for_url(re.compile(rf"{base}/r/done"), timeout=DONE_PAGE_WAIT_MS)
        photo = wait_for(
            lambda: File.objects.filter(file_request=file_request, state="ready").first(),
            timeout=60,
            message="the photo was not processed",
        )

        # The GP reviews it with an outcome and a reply text.
        staff = open_page(DESKTOP)
        errors = console_errors(staff)
        sign_in_with_code(staff, base, clinic)
        staff.goto(f"{base}/inbox/")
        row = staff.get_by_test_id(f"inbox-{file_request.id}")
        expect(row.get_by_role("link", name=re.compile("^Mark reviewed"))).to_be_visible()
        expect(row.get_by_role("button", name=re.compile("^Save to record"))).to_be_visible()
        screenshot(staff, "save-to-record-0-inbox")
        assert_no_serious_violations(staff, "the inbox with Save to record")
        staff.goto(f"{base}/file-requests/{file_request.id}/")
        actions = staff.get_by_test_id("request-actions")
        expect(actions.get_by_role("link", name="Mark reviewed")).to_be_visible()
        expect(actions.get_by_role("button", name="Save to record")).to_be_visible()
        actions.get_by_role("link", name="Mark reviewed").click()
        staff.wait_for_url(f"{base}/file-requests/{file_request.id}/review/")
        expect(staff.get_by_test_id("patient-banner")).to_contain_text("JONES, Amelia")

        # Other without a note is refused, in words, beside the note.
        staff.get_by_label("Other", exact=True).check()
        staff.get_by_role("button", name="Mark reviewed").click()
        expect(staff.locator(".field-error")).to_contain_text(
            "Write a note saying what happens next: the outcome is Other."
        )
        screenshot(staff, "save-to-record-1-other-needs-a-note")
        assert_no_serious_violations(staff, "the review form with an error")

        staff.get_by_label("Appointment needed", exact=True).check()
        staff.get_by_label("Note").fill("Dermatology review within two weeks.")
        staff.get_by_label(re.compile(r"Please book an appointment:")).check()
        screenshot(staff, "save-to-record-2-review-form")
        assert_no_serious_violations(staff, "the review form")
        staff.get_by_role("button", name="Mark reviewed").click()
        staff.wait_for_url(f"{base}/file-requests/{file_request.id}/")
        expect(staff.locator(".message-success")).to_contain_text(
            "Outcome recorded for Amelia Jones: Appointment needed."
        )
        record = staff.get_by_test_id("review-record")
        expect(record.get_by_test_id("outcome")).to_contain_text("Appointment needed")
        expect(record.get_by_test_id("replies")).to_contain_text("Please call us to book")
        expect(record.get_by_test_id("reply-delivery")).to_have_text("Waiting for the network")
        reply = wait_for(
            lambda: [m for m in file_outbox_messages(outbox) if "/r/" not in m["body"]],
            message="the reply was not texted",
        )
        assert reply[0]["to"] == patient.mobile.as_e164
        assert "Amelia" in reply[0]["body"] and "book an appointment" in reply[0]["body"]

        # Save to record: the worker makes the PDF while the page waits for it.
        actions.get_by_role("button", name="Save to record").click()
        saved = staff.get_by_test_id("saved-to-record")
        expect(saved).to_contain_text("Saved to record by Dr Ada Lovelace at")
        screenshot(staff, "save-to-record-3-saved")
        download_link = saved.get_by_test_id("report-download")
        expect(download_link).to_be_visible(timeout=60_000)
        screenshot(staff, "save-to-record-4-pdf-ready")
        assert_no_serious_violations(staff, "the request page, saved to record")

        with staff.expect_download() as download_info:
            download_link.click()
        data = download_info.value.path().read_bytes()

        # The PDF is a document of her record like any other.
        report = RecordReport.objects.get()
        staff.goto(f"{base}/patients/{patient.id}/")
        expect(staff.locator("main")).to_contain_text(report.file.display_name)
        screenshot(staff, "save-to-record-5-in-the-record")
        assert not errors, errors

    assert data.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    flat = text.replace("\n", "")
    for expected in (
        "JONES, Amelia",
        "Born 12-Mar-1984",
        "NHS No. 943 476 5919",
        "Riverside Family Practice",
        "Dr Ada Lovelace",
        PROMPT,
        NOTE,
        "Appointment needed",
        "Dermatology review within two weeks.",
    ):
        assert expected in text, expected
    assert photo.sha256 in flat
    report = RecordReport.objects.get()
    assert report.file.state == "ready" and report.file.patient_id == patient.pk
    assert Notification.objects.filter(file_request=file_request, reply__isnull=False).count() == 1
    for action in (
        "file_request.outcome",
        "file_request.reply",
        "file_request.save_to_record",
        "record_report.made",
    ):
        assert AuditEvent.objects.filter(action=action).exists(), action


def test_the_clinics_reply_texts_are_edited_under_settings(live_server, open_page, clinic):
    """GIVEN a clinic's admin WHEN they open Settings, Reply texts THEN the four defaults
    are listed; editing one with an empty text is refused beside the field, then saved;
    neither state has a serious axe violation."""
    base = live_server.url
    staff = open_page(DESKTOP)
    errors = console_errors(staff)
    sign_in_with_code(staff, base, clinic)
    staff.goto(f"{base}/settings/")
    staff.get_by_role("navigation", name="Settings").get_by_role("link", name="Reply texts").click()
    staff.wait_for_url(f"{base}/settings/reply-texts/")
    listed = staff.get_by_test_id("reply-templates")
    for name in ("No action needed", "Please book an appointment", "Referred", "Photos received"):
        expect(listed).to_contain_text(name)
    screenshot(staff, "save-to-record-6-reply-texts")
    assert_no_serious_violations(staff, "Settings, Reply texts")

    staff.get_by_role("link", name="Edit Photos received").click()
    body = staff.get_by_label("Text message")
    body.fill("")
    staff.get_by_role("button", name="Save").click()
    expect(staff.locator(".field-error")).to_contain_text("Write the words of the text message.")
    screenshot(staff, "save-to-record-7-reply-text-error")
    assert_no_serious_violations(staff, "a reply text refused")
    staff.get_by_label("Text message").fill(
        "{clinic}: we have your photos, {first_name}. Thank you."
    )
    staff.get_by_role("button", name="Save").click()
    expect(staff.locator(".message-success")).to_contain_text(
        "Saved the reply text “Photos received”."
    )
    expect(listed).to_contain_text("{clinic}: we have your photos, {first_name}. Thank you.")
    assert not errors, errors
