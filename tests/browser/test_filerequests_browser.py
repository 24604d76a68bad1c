"""The patient's journey in headless Chromium on a phone-sized screen, against the live
server and a real Celery worker. Screenshots of every page land in
tests/artifacts/screenshots/filerequest-*.png."""

from __future__ import annotations

import datetime
import io
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from filerequests.models import FileRequest
from filerequests.sms import file_outbox_messages
from portal.webhooks.models import Event
from tests.factories import FileRequestFactory, PatientFactory
from tests.support.browser import screenshot
from tests.support.patient_phone import DONE_PAGE_WAIT_MS, fill_date_of_birth, jpeg_bytes
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Receiver:
    """A local HTTP server standing in for the integrator's filesUpdateWebhookUrl."""

    def __init__(self):
        self.deliveries: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.deliveries.append(
                    {"headers": dict(self.headers.items()), "body": json.loads(body)}
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/x-on/files"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.slow
def test_patient_sends_two_photos_with_notes_from_a_phone(
    live_server, phone_page, api, account, settings, tmp_path
):
    """GIVEN a clinic that creates a file request through the API, and a real worker
    WHEN the patient opens the texted link on a phone, confirms their date of birth,
    takes one photo, picks another from the library, writes a note for each and sends
    THEN the confirmation page shows, and the API lists both files 'ready' with their
    notes and thumbnails, the request is 'answered', and one files.update event in
    X-on's shape was delivered to the request's webhook URL."""
    settings.PORTAL_PUBLIC_BASE_URL = live_server.url
    receiver = Receiver()
    outbox = tmp_path / "sms.jsonl"
    settings.SMS_FILE_PATH = str(outbox)
    worker_env = {"PORTAL_PUBLIC_BASE_URL": live_server.url, "SMS_FILE_PATH": str(outbox)}

    with celery_worker(tmp_path, extra_env=worker_env):
        created = api.post(
            "/api/v1/file-requests",
            {
                "prompt": "Please take a close-up photo of the rash on the back of your "
                "right hand, and one of the whole hand.",
                "type": "photo",
                "accountUserId": "42",
                "accountId": str(account.id),
                "staffName": "Dr Rachel Williams",
                "patientMobile": "+447777123456",
                "patientDateOfBirth": "1980-06-17",
                "patientFirstName": "John",
                "patientLastName": "Smith",
                "filesUpdateWebhookUrl": receiver.url,
            },
            format="json",
        ).json()

        # The worker texts the link.
        (message,) = wait_for(lambda: file_outbox_messages(outbox), message="no SMS sent")
        link = re.search(r"https?://\S+", message["body"])[0]
        assert link == f"{live_server.url}/r/{created['shortLinkId']}"
        assert message["to"] == "+447777123456"
        wait_for(
            lambda: (
                api.get(f"/api/v1/file-requests/{created['id']}").json()["notification"]["status"]
                == "sent"
            )
        )

        page = phone_page
        response = page.goto(link)
        assert response.status == 200
        assert response.headers["referrer-policy"] == "no-referrer"
        assert page.get_by_role("heading", level=1).inner_text().startswith("Dr Rachel Williams")
        assert "rash" not in page.content()
        screenshot(page, "filerequest-1-date-of-birth")

        fill_date_of_birth(page, "17", "06", "1980")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(f"{live_server.url}/r/upload")
        assert created["shortLinkId"] not in page.url
        assert "rash on the back of your right hand" in page.content()
        screenshot(page, "filerequest-2-prompt")

        page.locator("#camera-input").set_input_files(
            {
                "name": "IMG_0292.JPG",
                "mimeType": "image/jpeg",
                "buffer": jpeg_bytes(1600, 1200, (40, 60, 90)),
            }
        )
        page.locator("#library-input").set_input_files(
            [
                {
                    "name": "IMG_0293.JPG",
                    "mimeType": "image/jpeg",
                    "buffer": jpeg_bytes(1200, 1600, (90, 40, 60)),
                }
            ]
        )
        notes = page.get_by_label("Note for this photo (optional)")
        # Each chosen photo is read (its first bytes, a quality check) before its card
        # appears: wait for both cards, as a person would.
        expect(notes).to_have_count(2)
        notes.nth(1).fill("This rash is looking better here than it was yesterday.")
        page.get_by_role("button", name="Send 2 photos").focus()
        screenshot(page, "filerequest-3-photos-with-notes")

        page.get_by_role("button", name="Send 2 photos").click()
        page.wait_for_url(f"{live_server.url}/r/done", timeout=DONE_PAGE_WAIT_MS)
        assert page.get_by_role("heading", level=1).inner_text().startswith("Thank you")
        screenshot(page, "filerequest-4-sent")

        def both_ready():
            body = api.get(f"/api/v1/file-requests/{created['id']}").json()
            files = body["files"]
            ready = len(files) == 2 and all(f["state"] == "ready" and f["thumbnail"] for f in files)
            return body if ready else None

        body = wait_for(both_ready, timeout=90, message="files not ready with thumbnails")
        (landscape,) = [f for f in body["files"] if f["originalName"] == "IMG_0292.JPG"]
        (delivery,) = wait_for(lambda: receiver.deliveries, message="no files.update delivered")
        # An imageSize rendition is made by the worker: 409 with Retry-After until then.
        thumbnail = wait_for(
            lambda: (
                answer
                if (answer := api.get(landscape["thumbnail"]["url"])).status_code != 409
                else None
            ),
            timeout=60,
            message="thumbnail rendition not made",
        )
    receiver.close()

    assert body["status"] == "answered"
    # Listed as they arrived: two photos sent together may arrive in either order.
    first, second = sorted(body["files"], key=lambda f: f["originalName"])
    assert (first["originalName"], first["description"]) == ("IMG_0292.JPG", None)
    assert (second["originalName"], second["description"]) == (
        "IMG_0293.JPG",
        "This rash is looking better here than it was yesterday.",
    )
    assert {f["mimeType"] for f in body["files"]} == {"image/jpeg"}
    assert (first["imageWidth"], first["imageHeight"]) == (1600, 1200)
    assert (second["imageWidth"], second["imageHeight"]) == (1200, 1600)
    assert all(f["size"] > 1000 for f in body["files"])
    assert thumbnail.status_code == 200
    thumbnail_image = Image.open(io.BytesIO(b"".join(thumbnail.streaming_content)))
    assert thumbnail_image.format == "JPEG"
    # The listing says the size its URL answers: the aspect fill of 320x320 for 1600x1200.
    offered = first["thumbnail"]
    assert thumbnail_image.size == (offered["width"], offered["height"]) == (427, 320)

    (event,) = Event.objects.filter(type="file-request.files.update")
    assert event.extra_urls == [receiver.url]
    assert delivery["body"] == event.payload
    assert delivery["headers"]["webhook-id"] == str(event.id)
    assert delivery["headers"]["webhook-signature"].startswith("v1,")
    payload = event.payload["event"]
    assert set(payload) == {
        "id",
        "createdAt",
        "type",
        "fileRequest",
        "addedFileIds",
        "removedFileIds",
    }
    assert payload["id"] == str(event.id)
    assert sorted(payload["addedFileIds"]) == sorted(f["id"] for f in body["files"])
    assert payload["removedFileIds"] == []
    assert payload["fileRequest"]["id"] == created["id"]
    for private in ("John", "Smith", "rash", "IMG_0292", "+447777123456", "1980-06-17"):
        assert private not in str(event.payload)


def test_five_wrong_dates_of_birth_lock_the_link(live_server, phone_page, account):
    """GIVEN a texted link
    WHEN a visitor enters a wrong date of birth five times on a phone
    THEN each wrong answer is explained with the tries left, the fifth locks the
    link (429), and the locked page says to try later or call the clinic."""
    patient = PatientFactory(account=account, date_of_birth=datetime.date(1980, 6, 17))
    file_request = FileRequestFactory(account=account, patient=patient)
    page = phone_page
    page.goto(f"{live_server.url}/r/{file_request.short_link_id}")
    page.get_by_role("button", name="Continue").click()
    assert "Enter your date of birth" in page.locator("#error-summary").inner_text()
    screenshot(page, "filerequest-check-empty-error")

    for attempt in range(1, 5):
        fill_date_of_birth(page, "01", "01", "1990")
        page.get_by_role("button", name="Continue").click()
        summary = page.locator("#error-summary")
        assert "does not match" in summary.inner_text()
        assert f"{5 - attempt} more tr" in summary.inner_text()
        assert page.evaluate("document.activeElement.id") == "error-summary"
        if attempt == 1:
            screenshot(page, "filerequest-check-wrong-date")

    fill_date_of_birth(page, "01", "01", "1990")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Continue").click()
    assert navigation.value.status == 429
    assert page.get_by_role("heading", level=1).inner_text() == "This link is locked for now"
    assert "call Riverside Clinic" in page.content()
    screenshot(page, "filerequest-locked")

    file_request.refresh_from_db()
    assert file_request.locked_until > timezone.now()


def test_expired_link_says_to_call_the_clinic(live_server, phone_page, account):
    """GIVEN a link that expired yesterday
    WHEN the patient opens it on a phone
    THEN the page answers 410, says the link has expired and to call the clinic, and
    shows nothing about the patient."""
    patient = PatientFactory(account=account, first_name="Johnathan")
    file_request = FileRequestFactory(
        account=account,
        patient=patient,
        short_link_expires_at=timezone.now() - datetime.timedelta(days=1),
    )
    response = phone_page.goto(f"{live_server.url}/r/{file_request.short_link_id}")

    assert response.status == 410
    assert response.headers["referrer-policy"] == "no-referrer"
    assert phone_page.get_by_role("heading", level=1).inner_text() == "This link has expired"
    assert "Johnathan" not in phone_page.content()
    assert "Dr Rachel Williams" not in phone_page.content()
    screenshot(phone_page, "filerequest-expired")
    assert FileRequest.objects.get(pk=file_request.pk).status == "expired"


def test_unknown_link_page(live_server, phone_page):
    """GIVEN a link that was never issued
    WHEN it is opened on a phone
    THEN the page answers 404 and tells the visitor what to do."""
    response = phone_page.goto(f"{live_server.url}/r/AAAAAAAAAAAAAAAAAAAAAA")

    assert response.status == 404
    assert phone_page.get_by_role("heading", level=1).inner_text() == "This link isn't working"
    screenshot(phone_page, "filerequest-unknown")


def requests_told(page) -> list[str]:
    """Every request the page makes from now on, as it is answered or fails: seconds since
    the call, the method, the path, and the status or the browser's reason."""
    started = time.monotonic()
    told: list[str] = []

    def ended(request, outcome: str) -> None:
        path = request.url.split("//", 1)[-1].partition("/")[2]
        told.append(f"{time.monotonic() - started:6.1f} s {request.method} /{path}: {outcome}")

    page.on("response", lambda response: ended(response.request, str(response.status)))
    page.on("requestfailed", lambda request: ended(request, f"failed ({request.failure})"))
    return told


@pytest.mark.slow
def test_failed_photo_can_be_retried_with_the_keyboard_at_360px(
    live_server, chromium, account, settings, tmp_path
):
    """GIVEN a patient past the check on a 360 px wide phone, whose photo the storage
    refuses (with a fresh ticket too, so trying again by itself cannot mend it), and a
    real worker
    WHEN the page shows the photo as not sent and the patient presses "Try again"
    with the keyboard
    THEN the photo is sent and checked by the clinic, the confirmation page shows, and
    the request holds the file."""
    from tests.support.browser import new_context

    settings.PORTAL_PUBLIC_BASE_URL = live_server.url
    patient = PatientFactory(account=account, date_of_birth=datetime.date(1980, 6, 17))
    file_request = FileRequestFactory(account=account, patient=patient)
    context = new_context(
        chromium,
        {
            "viewport": {"width": 360, "height": 740},
            "is_mobile": True,
            "has_touch": True,
            "device_scale_factor": 2,
        },
    )
    page = context.new_page()
    requests_seen = requests_told(page)
    with celery_worker(tmp_path):
        try:
            page.goto(f"{live_server.url}/r/{file_request.short_link_id}")
            fill_date_of_birth(page, "17", "6", "1980")
            page.keyboard.press("Enter")
            page.wait_for_url(f"{live_server.url}/r/upload")
            assert page.evaluate("document.documentElement.scrollWidth") <= 360

            # The storage refuses the photo, whatever the ticket.
            page.route(
                "**/storage/upload**",
                lambda route: route.fulfill(
                    status=403, body="<Error><Code>AccessDenied</Code></Error>"
                ),
            )
            page.locator("#library-input").set_input_files(
                [
                    {
                        "name": "hand.jpg",
                        "mimeType": "image/jpeg",
                        "buffer": jpeg_bytes(800, 600, (1, 2, 3)),
                    }
                ]
            )
            page.get_by_role("button", name="Send 1 photo").click()
            retry = page.get_by_role("button", name="Try again")
            # The refusal is told after a second ticket is refused too; a loaded machine
            # (the whole suite beside this test) has taken longer than the default 30 s.
            # A failure says what the page showed and which of its requests ended how,
            # and when: that is how a press that missed the button (the send bar moved
            # under it while the page scrolled) was told from a slow answer.
            try:
                retry.wait_for(timeout=60_000)
            except PlaywrightTimeoutError:
                raise AssertionError(
                    "No Try again after 60 s. The photo: "
                    f"{page.locator('.photo__state').all_inner_texts()}; the signal: "
                    f"{page.locator('#signal-status').inner_text()!r}; the requests:\n"
                    + "\n".join(requests_seen)
                ) from None
            state = page.locator(".photo__state").inner_text()
            assert "Not sent. The clinic's storage refused this photo." in state
            assert "Failed to fetch" not in page.content()
            assert page.locator("#page-error").is_visible()
            screenshot(page, "filerequest-upload-failed-360")

            page.unroute("**/storage/upload**")
            retry.focus()
            page.keyboard.press("Enter")
            page.wait_for_url(f"{live_server.url}/r/done", timeout=60_000)
            screenshot(page, "filerequest-sent-360")
        finally:
            context.close()

    file_request.refresh_from_db()
    assert file_request.status == "answered"
    assert file_request.files.count() == 1
