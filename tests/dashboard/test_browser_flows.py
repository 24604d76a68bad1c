"""The dashboard's two live journeys in headless Chromium, with a real Celery worker:
a file request answered from a patient's phone while staff watch the request's page,
and drag-and-drop upload of attachments on a patient's page. Screenshots land in
tests/artifacts/screenshots/dashboard-flow-*.png."""

from __future__ import annotations

import base64
import re

import pytest
from playwright.sync_api import expect

from attachments.models import PatientAttachment
from filerequests.models import FileRequest
from filerequests.sms import file_outbox_messages
from tests.dashboard.browsing import sign_in_with_code
from tests.support.browser import DESKTOP, PHONE, screenshot
from tests.support.patient_phone import DONE_PAGE_WAIT_MS, fill_date_of_birth, jpeg_bytes
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

        # The worker texts the link; the page shows it handed to the provider, waiting for
        # the network's receipt.
        (message,) = wait_for(lambda: file_outbox_messages(outbox), message="no SMS sent")
        assert message["to"] == "+447911123461"
        link = re.search(r"https?://\S+", message["body"])[0]
        expect(staff_page.get_by_test_id("sms-1")).to_contain_text(
            "handed to the text provider", timeout=15_000
        )
        expect(staff_page.get_by_test_id("sms-1")).to_contain_text("Waiting for the network")
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
        phone.wait_for_url(f"{base}/r/done", timeout=DONE_PAGE_WAIT_MS)

        thumbnails = staff_page.locator("#file-request-live .gallery img.tile-image")
        expect(thumbnails).to_have_count(2, timeout=60_000)
        for index in range(2):
            expect(thumbnails.nth(index)).to_have_js_property("complete", True)
            assert thumbnails.nth(index).evaluate("img => img.naturalWidth") > 0
        expect(status).to_have_text("Answered")
        # Named by step and date ("Photo, 6 Dec 2026"), the phone's file name as a detail.
        expect(staff_page.locator("#file-request-live .tile-name")).to_have_text(
            [re.compile(r"^Photo, \d{1,2} \w{3} \d{4}$")] * 2
        )
        names = staff_page.locator("#file-request-live .file-name-detail").all_inner_texts()
        assert sorted(names) == ["shoulder-close-up.jpg", "shoulder.jpg"]
        assert staff_page.evaluate("() => window.__marker") == "still the same page"
        screenshot(staff_page, "dashboard-flow-3-request-answered")

    file_request = FileRequest.objects.get(patient__last_name="Rahman")
    assert file_request.account == clinic["account"]
    assert file_request.status == FileRequest.Status.ANSWERED
    assert file_request.files.filter(state="ready").count() == 2


# Files built in the page from bytes sent from here, as a desktop's file manager would
# hand them to the browser on a drop.
DATA_TRANSFER = """(files) => {
  const transfer = new DataTransfer();
  for (const file of files) {
    const bytes = Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], file.name, { type: file.type }));
  }
  return transfer;
}"""


def dropped(name: str, data: bytes, mime_type: str) -> dict:
    return {"name": name, "type": mime_type, "base64": base64.b64encode(data).decode()}


def test_files_dropped_on_a_patient_upload_straight_to_storage_with_a_progress_bar_each(
    live_server, open_page, clinic, settings, tmp_path
):
    """GIVEN a clinician on a patient's page, a real worker, and a slow connection
    WHEN they drag two photos and a text file named like a photo onto the drop zone
    THEN each file gets its own progress bar, its bytes go straight to the storage URL
    of its own upload ticket (not through the dashboard), and once checked the photos
    show as ready thumbnails in the gallery and the text file as a rejected tile saying
    why, with no reload of the page."""
    base = live_server.url
    settings.PORTAL_PUBLIC_BASE_URL = base  # where the embedded storage takes uploads
    patient = clinic["patients"][0]
    page = open_page(DESKTOP)
    sign_in_with_code(page, base, clinic)
    page.goto(f"{base}/patients/{patient.id}/")
    expect(page.locator("#attachments-body")).to_contain_text("Nothing in the record yet")
    page.evaluate("() => { window.__marker = 'still the same page'; }")

    tickets: list[dict] = []
    storage_posts: list[str] = []
    dashboard_posts: list[str] = []
    page.on(
        "response",
        lambda response: (
            tickets.append(response.json())
            if response.url.endswith("/attachments/upload/ticket/")
            else None
        ),
    )

    def record_post(request):
        if request.method != "POST":
            return
        if "/storage/upload" in request.url:
            storage_posts.append(request.url)
        elif "/attachments/upload/" in request.url:
            dashboard_posts.append(request.post_data)

    page.on("request", record_post)
    files = [
        dropped("left-forearm.jpg", jpeg_bytes(2400, 1800, (40, 60, 90)), "image/jpeg"),
        dropped("right-forearm.jpg", jpeg_bytes(1800, 2400, (90, 40, 60)), "image/jpeg"),
        dropped("referral-notes.jpg", b"Referral notes, typed up. " * 4000, "image/jpeg"),
    ]

    with celery_worker(tmp_path):
        # About 100 KB/s up, so the progress bars can be seen moving.
        cdp = page.context.new_cdp_session(page)
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": 20,
                "downloadThroughput": -1,
                "uploadThroughput": 100 * 1024,
            },
        )
        transfer = page.evaluate_handle(DATA_TRANSFER, files)
        page.dispatch_event("#dropzone", "dragenter", {"dataTransfer": transfer})
        page.dispatch_event("#dropzone", "dragover", {"dataTransfer": transfer})
        expect(page.locator("#dropzone")).to_have_class(re.compile(r"\bis-dragging\b"))
        screenshot(page, "dashboard-flow-4-dragging-files")
        page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})

        uploads = page.locator("#upload-list .upload")
        expect(uploads).to_have_count(3)
        expect(uploads.locator(".upload-name")).to_have_text(
            [re.compile(rf"^{re.escape(file['name'])} · ") for file in files]
        )
        progress = uploads.locator("progress.upload-progress")
        page.wait_for_function(
            """() => [...document.querySelectorAll('#upload-list progress')]
                     .some((bar) => bar.value > 0 && bar.value < 99)"""
        )
        expect(uploads.first).to_have_attribute("data-state", "uploading")
        screenshot(page, "dashboard-flow-5-uploading")
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )

        for index in range(3):
            expect(uploads.nth(index)).to_have_attribute("data-state", "done", timeout=30_000)
            expect(uploads.nth(index).locator(".upload-status")).to_have_text("Uploaded")
            expect(progress.nth(index)).to_have_js_property("value", 100)

        gallery = page.locator("#attachments-body .record")
        for name in ("left-forearm.jpg", "right-forearm.jpg"):
            tile = gallery.locator(".record-item", has_text=name)
            expect(tile).to_have_attribute("data-state", "ready", timeout=60_000)
            image = tile.locator("img.tile-image")
            expect(image).to_have_js_property("complete", True)
            assert image.evaluate("img => img.naturalWidth") > 0
        rejected = gallery.locator(".record-item", has_text="referral-notes.jpg")
        expect(rejected).to_have_attribute("data-state", "rejected", timeout=60_000)
        expect(rejected.locator(".badge")).to_contain_text(["Rejected"])
        reason = rejected.locator(".record-reason")
        expect(reason).not_to_be_empty()
        screenshot(page, "dashboard-flow-6-uploaded")
        assert page.evaluate("() => window.__marker") == "still the same page"

    # Each file went to storage once, to the URL its own ticket gave; the dashboard
    # itself saw only small JSON bodies (asking for tickets, confirming them).
    assert len(tickets) == 3
    assert len({ticket["ticketId"] for ticket in tickets}) == 3
    assert all(ticket["url"] == f"{base}/storage/upload" for ticket in tickets)
    assert storage_posts == [f"{base}/storage/upload"] * 3
    assert len(dashboard_posts) == 6
    assert all(len(body) < 500 for body in dashboard_posts)
    attachments = PatientAttachment.objects.filter(patient=patient).select_related("file")
    assert sorted((a.file.original_name, a.file.state) for a in attachments) == [
        ("left-forearm.jpg", "ready"),
        ("referral-notes.jpg", "rejected"),
        ("right-forearm.jpg", "ready"),
    ]
    assert (
        reason.inner_text()
        == attachments.get(file__original_name="referral-notes.jpg").file.rejection_reason
    )
