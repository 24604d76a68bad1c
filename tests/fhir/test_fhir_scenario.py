"""The record system's scenario: a patient answers a file request on their phone (headless
Chromium, a real worker); a record system polling over FHIR with fhirpy sees the photos,
with their notes, and pulls them."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from fhirpy import SyncFHIRClient
from playwright.sync_api import expect

from tests.factories import FileRequestFactory, PatientFactory, StaffFactory
from tests.support.patient_phone import DONE_PAGE_WAIT_MS, fill_date_of_birth, jpeg_bytes
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_record_system_polling_sees_the_photos_a_patient_sends(
    live_server, phone_page, account, api_key, settings, tmp_path
):
    settings.PORTAL_PUBLIC_BASE_URL = live_server.url
    patient = PatientFactory(
        account=account, first_name="John", last_name="Smith", date_of_birth=dt.date(1980, 6, 17)
    )
    file_request = FileRequestFactory(
        account=account,
        patient=patient,
        staff=StaffFactory(account=account, display_name="Dr Rachel Williams"),
        staff_name="Dr Rachel Williams",
        prompt="Please take a photo of the rash on your right hand.",
    )
    record_system = SyncFHIRClient(
        f"{live_server.url}/fhir/R4", authorization=f"Bearer {api_key.plaintext}"
    )
    last_seen = record_system.execute("DocumentReference", method="get", params={"_count": "1"})
    assert last_seen["total"] == 0
    polled_from = dt.datetime.now(dt.UTC).isoformat()

    with celery_worker(tmp_path, extra_env={"PORTAL_PUBLIC_BASE_URL": live_server.url}):
        page = phone_page
        page.goto(f"{live_server.url}/r/{file_request.short_link_id}")
        fill_date_of_birth(page, "17", "06", "1980")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(f"{live_server.url}/r/upload")
        page.locator("#library-input").set_input_files(
            [
                {
                    "name": "hand.jpg",
                    "mimeType": "image/jpeg",
                    "buffer": jpeg_bytes(900, 700, (40, 60, 90)),
                },
                {
                    "name": "close.jpg",
                    "mimeType": "image/jpeg",
                    "buffer": jpeg_bytes(700, 900, (90, 40, 60)),
                },
            ]
        )
        notes = page.get_by_label("Note for this photo (optional)")
        expect(notes).to_have_count(2)
        notes.nth(0).fill("It itches most at night.")
        page.get_by_role("button", name="Send 2 photos").click()
        page.wait_for_url(f"{live_server.url}/r/done", timeout=DONE_PAGE_WAIT_MS)

        def polled():
            found = (
                record_system.resources("DocumentReference")
                .search(patient=str(patient.pk), _lastUpdated=f"gt{polled_from}")
                .fetch_all()
            )
            return found if len(found) == 2 else None

        documents = wait_for(polled, timeout=90, message="the record system saw no photos")

    notes_seen = {document.get("description") for document in documents}
    assert "It itches most at night." in notes_seen
    for document in documents:
        assert document["subject"]["reference"] == f"Patient/{patient.pk}"
        assert document["author"] == [{"display": "Dr Rachel Williams"}]
        assert document["meta"]["tag"][0]["code"] == "request"
        related = document["context"]["related"][0]["identifier"]["value"]
        assert related == str(file_request.pk)
        attachment = document["content"][0]["attachment"]
        binary = record_system.reference("Binary", attachment["url"].rsplit("/", 1)[1])
        data = base64.b64decode(binary.to_resource()["data"])
        assert data[:3] == b"\xff\xd8\xff"
        assert base64.b64decode(attachment["hash"]) == hashlib.sha1(data).digest()
