"""One inbox for every door and a record that tells the truth, in headless Chromium with
a real Celery worker: a PDF letter pushed in through Claros's door arrives in the inbox
in words, and a link locked by wrong dates of birth is unlocked from the patient's
record. axe-core finds nothing serious or critical on either page.
Screenshots: tests/artifacts/screenshots/inbox-doors-*.png."""

from __future__ import annotations

import datetime

import pytest
import requests
from django.conf import settings as django_settings
from django.test import RequestFactory
from playwright.sync_api import expect

from filerequests import services
from filerequests.models import FileRequest
from filerequests.services import file_request_create
from filerequests.sms import file_outbox_messages
from files.models import File
from portal.accounts.services import api_key_create
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.patients.models import Patient
from tests.attachments import samples as attachment_samples
from tests.dashboard.browsing import sign_in_with_code
from tests.support.axe import assert_no_serious_violations
from tests.support.browser import DESKTOP, console_errors, screenshot
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_claros_pdf_arrives_in_the_inbox_in_words(
    live_server, open_page, clinic, settings, tmp_path
):
    """GIVEN Dr Lovelace with the Inbox open and nothing to review
    WHEN the practice's letters system posts a PDF for Amelia Jones through Claros's door
    and the worker checks it
    THEN the inbox shows one row: Amelia's banner with her NHS number, "PDF letter", the
    letter's name; Open leads to her record, where the letter is listed as a PDF letter;
    Mark reviewed empties the inbox (audited)."""
    base = live_server.url
    settings.PORTAL_PUBLIC_BASE_URL = base
    patient = clinic["patients"][0]
    Patient.objects.filter(pk=patient.pk).update(nhs_number="9434765919")
    key = api_key_create(account=clinic["account"], name="Letters system").plaintext

    page = open_page(DESKTOP)
    errors = console_errors(page)  # from the first page on
    sign_in_with_code(page, base, clinic)
    page.goto(f"{base}/inbox/")
    expect(page.get_by_role("heading", name="Nothing to review")).to_be_visible()

    with celery_worker(tmp_path, extra_env={"PORTAL_PUBLIC_BASE_URL": base}):
        answer = requests.post(
            f"{base}/api/v1/patients/{patient.id}/pdf/",
            headers={"X-API-Key": key},
            files={"file": ("upload.bin", attachment_samples.pdf(), "application/pdf")},
            data={"filename": "Discharge letter.pdf"},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        file = wait_for(
            lambda: File.objects.filter(account=clinic["account"], state="ready").first(),
            message="the worker did not make the PDF ready",
        )
        assert file.source == File.Source.CLAROS

        page.reload()
        row = page.get_by_test_id(f"inbox-{patient.id}-claros")
        expect(row).to_be_visible()
        expect(row).to_contain_text("JONES, Amelia")
        expect(row).to_contain_text("943 476 5919")
        expect(row.get_by_test_id("inbox-source")).to_have_text("PDF letter")
        expect(row).to_contain_text("Discharge letter.pdf")
        expect(row).not_to_contain_text("Claros")
        expect(page.locator("[data-review-count=clinic]").first).to_have_text("1")
        screenshot(page, "inbox-doors-1-claros-pdf-in-the-inbox")
        assert_no_serious_violations(page, "the inbox with a PDF letter")

        row.get_by_role("link", name="Open").click()
        page.wait_for_url(f"{base}/patients/{patient.id}/#attachments")
        item = page.get_by_test_id(f"record-{file.id}")
        expect(item).to_contain_text("PDF letter")
        screenshot(page, "inbox-doors-2-the-letter-in-the-record")

        page.goto(f"{base}/inbox/")
        page.get_by_test_id(f"inbox-{patient.id}-claros").get_by_role(
            "button", name="Mark reviewed"
        ).click()
        expect(page.get_by_role("heading", name="Nothing to review")).to_be_visible()
        assert AuditEvent.objects.filter(action="file.review", target_id=str(file.id)).exists()
        screenshot(page, "inbox-doors-3-reviewed")
    assert errors == []


def test_a_locked_request_is_unlocked_from_the_record(
    live_server, open_page, clinic, settings, tmp_path
):
    """GIVEN a request whose link five wrong dates of birth locked
    WHEN Dr Lovelace opens the patient's record
    THEN the request reads "Locked" (as on the list), with Unlock and resend; pressing it
    (and confirming) brings her back to the record, which reads "Sent"; the worker texts
    the new link, and the old one no longer opens the request."""
    base = live_server.url
    outbox = tmp_path / "sms" / "outbox.jsonl"
    settings.PORTAL_PUBLIC_BASE_URL = base
    settings.SMS_FILE_PATH = str(outbox)
    patient = clinic["patients"][2]
    admin = clinic["admin"]
    file_request = file_request_create(
        account=clinic["account"],
        actor=Actor.for_staff(admin),
        type="photo",
        staff_id=admin.id,
        staff_name=admin.display_name,
        patient_mobile=patient.mobile,
        patient_date_of_birth=patient.date_of_birth,
        prompt="Please send a photo of the wound on your right knee.",
    )
    for day in range(1, django_settings.FILE_REQUEST_DOB_MAX_ATTEMPTS + 1):
        services.dob_check(
            short_link_id=file_request.short_link_id,
            date_of_birth=datetime.date(1900, 1, day),
            request=RequestFactory().post("/r/check", REMOTE_ADDR="203.0.113.9"),
        )
    file_request.refresh_from_db()
    assert file_request.is_locked()
    old_link = file_request.short_link_id

    worker_env = {"PORTAL_PUBLIC_BASE_URL": base, "SMS_FILE_PATH": str(outbox)}
    with celery_worker(tmp_path, extra_env=worker_env):
        wait_for(lambda: file_outbox_messages(outbox), message="the first text was not sent")
        page = open_page(DESKTOP)
        errors = console_errors(page)  # from the first page on
        sign_in_with_code(page, base, clinic)
        page.goto(f"{base}/patients/{patient.id}/")
        status = page.get_by_test_id("record-request-status")
        expect(status).to_contain_text("Locked")
        screenshot(page, "inbox-doors-4-locked-on-the-record")
        assert_no_serious_violations(page, "the record with a locked request")

        page.on("dialog", lambda dialog: dialog.accept())
        status.get_by_role("button", name="Unlock and resend").click()
        page.wait_for_url(f"{base}/patients/{patient.id}/#file-requests")
        expect(page.get_by_text("Unlocked. A new link is being texted")).to_be_visible()
        expect(page.get_by_test_id("record-request-status")).to_contain_text("Sent")
        expect(page.get_by_role("button", name="Unlock and resend")).to_have_count(0)
        screenshot(page, "inbox-doors-5-unlocked-from-the-record")
        assert_no_serious_violations(page, "the record after unlocking")

        texts = wait_for(
            lambda: (m := file_outbox_messages(outbox)) and len(m) == 2 and m,
            message="the new link was not texted",
        )
    file_request.refresh_from_db()
    assert file_request.short_link_id != old_link
    assert file_request.short_link_id in texts[-1]["body"]
    assert not file_request.is_locked()
    assert FileRequest.objects.filter(short_link_id=old_link).count() == 0
    assert AuditEvent.objects.filter(action="file_request.unlock").count() == 1
    assert errors == []


def test_text_delivery_reads_in_words_on_the_request_and_the_inbox(
    live_server, open_page, clinic, settings
):
    """GIVEN two requests whose texts went through Twilio
    WHEN Twilio's signed status callbacks say one was delivered and the other undelivered
    (30003) THEN each request page reads its message's fate in words, and the inbox lists
    the undelivered one with the reason; the clinic's time zone setting shows London."""
    import base64
    import hashlib
    import hmac

    from django.utils import timezone

    from filerequests.models import Notification

    base = live_server.url
    token = "12345678901234567890123456789012"
    settings.PORTAL_PUBLIC_BASE_URL = base
    settings.TWILIO_AUTH_TOKEN = token
    texts = []
    for patient, sid in ((clinic["patients"][3], "SM" + "3" * 32), (clinic["patients"][4], None)):
        request = FileRequest.objects.create(
            account=clinic["account"],
            patient=patient,
            staff=clinic["admin"],
            staff_name=clinic["admin"].display_name,
            prompt="Please send a photo of the wound on your right knee.",
            short_link_id=f"link{patient.pk.hex[:20]}",
        )
        texts.append(
            Notification.objects.create(
                file_request=request,
                status="sent",
                backend="twilio",
                provider_message_id=sid or "SM" + "4" * 32,
                sent_at=timezone.now(),
                attempts=1,
            )
        )
    for text, status in zip(texts, ("delivered", "undelivered"), strict=True):
        url = f"{base}/sms/receipts/twilio/{text.pk}"
        params = {"MessageSid": text.provider_message_id, "MessageStatus": status}
        if status == "undelivered":
            params["ErrorCode"] = "30003"
        data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
        signature = base64.b64encode(
            hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
        ).decode()
        answer = requests.post(
            url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10
        )
        assert answer.status_code == 204, answer.text

    page = open_page(DESKTOP)
    errors = console_errors(page)  # from the first page on
    sign_in_with_code(page, base, clinic)
    page.goto(f"{base}/file-requests/{texts[0].file_request_id}/")
    expect(page.get_by_test_id("sms-delivery")).to_have_text("Delivered to the phone")
    page.goto(f"{base}/file-requests/{texts[1].file_request_id}/")
    expect(page.get_by_test_id("sms-delivery")).to_have_text(
        "Not delivered: the phone is switched off or out of signal"
    )
    screenshot(page, "inbox-doors-6-text-not-delivered")
    assert_no_serious_violations(page, "a request whose text was not delivered")
    page.goto(f"{base}/inbox/")
    row = page.get_by_test_id(f"inbox-{texts[1].file_request_id}")
    expect(row.get_by_test_id("inbox-undelivered")).to_contain_text(
        "Not delivered: the phone is switched off or out of signal"
    )
    expect(page.get_by_test_id(f"inbox-{texts[0].file_request_id}")).to_have_count(0)
    screenshot(page, "inbox-doors-7-undelivered-text-in-the-inbox")
    assert_no_serious_violations(page, "the inbox with an undelivered text")
    page.goto(f"{base}/settings/clinic/")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/London")
    screenshot(page, "inbox-doors-8-clinic-time-zone")
    assert_no_serious_violations(page, "the clinic settings with the time zone")
    assert errors == []
