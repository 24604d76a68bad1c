"""The patient's phone on a bad day, measured in headless Chromium on DevTools' "Slow 3G"
profile (2 s latency, 50,000 bytes a second each way, through the DevTools protocol),
with a real Celery worker:

* three 12 MP photos (4032x3024, about 3 MB each) go from Send to the confirmation in
  60 s at most, shrunk on the phone to 2,048 px;
* the signal lost for 60 s in the middle of the second photo: the page says so in plain
  words, carries on by itself within 5 s of its return, and the clinic holds each
  photo once;
* the tab closed after the first photo arrived: reopening the link restores the other
  two with their notes and sends only them; the record holds exactly 3;
* with fullResolution the originals reach processing byte for byte;
* axe-core finds nothing serious on the waiting, offline, resumed and restored states at
  360 and 390 px; screenshots of the offline, resumed and restored states at 360 px.

The figures are printed and kept in tests/artifacts/patient-phone-figures.json (the
docs quote them: docs/patient-page.md).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import time

import pytest
from django.core.files.storage import default_storage

from files.models import File
from tests.factories import FileRequestFactory, PatientFactory
from tests.support.artifacts import ARTIFACTS_DIR, merge_into_json
from tests.support.axe import assert_no_serious_violations
from tests.support.browser import console_errors, new_context, screenshot
from tests.support.patient_phone import (
    DONE_PAGE_WAIT_MS,
    OFFLINE,
    SLOW_3G,
    fill_date_of_birth,
    jpeg_bytes,
    network,
    twelve_megapixel_photo,
    with_orientation_and_location,
)
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DOB = datetime.date(1980, 6, 17)
PHONE_360 = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
    "reduced_motion": "reduce",
}
NOTES = ["Left forearm, today", "Same place, closer", "Back of the hand"]
FIGURES = ARTIFACTS_DIR / "patient-phone-figures.json"
DONE_HEADING = "Thank you, your 3 photos have been sent"
BACK = "The signal is back"


# Every text the signal line shows, with the page's clock.
SIGNAL_WATCH = """
window.signalShown = [];
document.addEventListener("DOMContentLoaded", () => {
  const line = document.getElementById("signal-status");
  if (!line) return;
  new MutationObserver(() => window.signalShown.push([Date.now(), line.textContent]))
    .observe(line, { childList: true, characterData: true, subtree: true });
});
"""


def record_figures(**figures) -> None:
    """Keep the measured figures beside the screenshots, for the docs."""
    merge_into_json(FIGURES, figures)
    print(json.dumps(figures, indent=2))


@pytest.fixture(autouse=True)
def public_url(live_server, settings):
    settings.PORTAL_PUBLIC_BASE_URL = live_server.url


@pytest.fixture
def file_request(account):
    patient = PatientFactory(account=account, date_of_birth=DOB)
    return FileRequestFactory(account=account, patient=patient)


@pytest.fixture
def phone(chromium):
    context = new_context(chromium, PHONE_360)
    yield context
    context.close()


def photos() -> list[dict]:
    return [
        {
            "name": f"IMG_20261206_0{n}.jpg",
            "mimeType": "image/jpeg",
            "buffer": twelve_megapixel_photo(n),
        }
        for n in range(1, 4)
    ]


def open_link(page, live_server, file_request) -> None:
    page.goto(f"{live_server.url}/r/{file_request.short_link_id}")
    fill_date_of_birth(page, "17", "6", "1980")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live_server.url}/r/upload")


def choose_photos_with_notes(page) -> None:
    page.locator("#library-input").set_input_files(photos())
    tiles = page.locator(".photo")
    tiles.nth(2).wait_for()
    for index, note in enumerate(NOTES):
        tiles.nth(index).locator("textarea").fill(note)


def wait_until_ready(page, timeout: float = 60_000) -> None:
    """Every photo prepared (shrunk, kept on the phone): the Send button counts them."""
    page.get_by_role("button", name="Send 3 photos").wait_for(timeout=timeout)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.photo__state')]"
        ".every((el) => el.textContent === 'Ready to send')",
        timeout=timeout,
    )


def axe_at_both_widths(page, state: str) -> None:
    """axe-core at 360 px and at 390 px, the page left at 360 px."""
    for width, height in ((360, 740), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        assert_no_serious_violations(page, f"{state} at {width}px")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, state
    page.set_viewport_size({"width": 360, "height": 740})


def the_clinic_holds(file_request) -> list[File]:
    return list(File.objects.filter(file_request=file_request).order_by("created_at"))


def reaches_done(page, live_server, file_request, worker, *, timeout: int) -> None:
    """Wait for the done page; when it never comes, fail saying where each photo stood on
    the phone and in the clinic, and what the worker last wrote, not only that a wait ran
    out."""
    from playwright.sync_api import TimeoutError as PageTimeout

    try:
        page.wait_for_url(
            f"{live_server.url}/r/done", wait_until="domcontentloaded", timeout=timeout
        )
    except PageTimeout:
        tiles = page.locator(".photo__state").all_inner_texts()
        held = [
            (f.client_photo_id, f.state, f.rejection_reason) for f in the_clinic_holds(file_request)
        ]
        raise AssertionError(
            f"no done page after {timeout / 1000:.0f} s: the phone shows {tiles}, the clinic"
            f" holds {held}; the worker's log ends:\n{worker.log()[-3000:]}"
        ) from None


def test_three_12mp_photos_on_slow_3g_reach_the_confirmation_within_60_seconds(
    live_server, phone, file_request, tmp_path
):
    """GIVEN a patient on the Slow 3G profile who chose three 12 MP photos with notes
    WHEN they press Send
    THEN the confirmation shows within 60 s, counting 3 photos; each photo left the
    phone shrunk to 2,048 px on its longest side (well under a megabyte), with its size
    on the phone and the size sent kept on the file."""
    page = phone.new_page()
    errors = console_errors(page)
    with celery_worker(tmp_path) as worker:
        open_link(page, live_server, file_request)
        network(page, SLOW_3G)
        choose_photos_with_notes(page)
        wait_until_ready(page)
        assert_no_serious_violations(page, "waiting to send at 360px")
        axe_at_both_widths(page, "waiting to send")

        started = time.monotonic()
        page.get_by_role("button", name="Send 3 photos").click()
        page.locator(".photo__state", has_text="Sending…").first.wait_for()
        axe_at_both_widths(page, "sending")
        reaches_done(page, live_server, file_request, worker, timeout=120_000)
        page.get_by_role("heading", name=DONE_HEADING).wait_for()
        seconds = time.monotonic() - started

    held = the_clinic_holds(file_request)
    record_figures(
        slow_3g_send_to_confirmation_seconds=round(seconds, 1),
        slow_3g_bytes_on_phone=[file.size_on_phone for file in held],
        slow_3g_bytes_sent=[file.size_sent for file in held],
        slow_3g_stored_pixels=[f"{file.width}x{file.height}" for file in held],
    )
    assert seconds <= 60, f"Send to confirmation took {seconds:.1f} s"
    assert len(held) == 3
    assert all(file.state == "ready" for file in held)
    assert sorted(file.description for file in held) == sorted(NOTES)
    for file in held:
        assert max(file.width, file.height) == 2048
        assert file.size_on_phone > 2_000_000
        assert file.size_sent < 1_000_000
    assert errors == []


def test_sixty_seconds_without_signal_in_the_second_photo_is_waited_out(
    live_server, phone, file_request, tmp_path
):
    """GIVEN a patient on Slow 3G sending three 12 MP photos
    WHEN the signal goes for 60 s in the middle of the second photo, then comes back
    THEN the page says in plain words that it is waiting for signal and needs nothing
    pressed; within 5 s of the signal's return it says so and carries on by itself; it
    reaches the confirmation with no tap; the clinic holds each photo once (3 files,
    3 photo ids, 3 stored originals): none lost, none twice."""
    page = phone.new_page()
    errors = console_errors(page)
    page.add_init_script(SIGNAL_WATCH)
    with celery_worker(tmp_path) as worker:
        open_link(page, live_server, file_request)
        cdp = network(page, SLOW_3G)
        choose_photos_with_notes(page)
        wait_until_ready(page)
        page.get_by_role("button", name="Send 3 photos").click()

        page.wait_for_function(
            """() => {
              const state = document.querySelectorAll('.photo__state')[1].textContent;
              const sent = /Sending… (\\d+)%/.exec(state);
              return sent && Number(sent[1]) >= 30;
            }""",
            timeout=90_000,
        )
        cdp.send("Network.emulateNetworkConditions", OFFLINE)
        lost_at = time.monotonic()
        lost_ms = page.evaluate("Date.now()")
        signal = page.locator("#signal-status")
        signal.filter(has_text=re.compile("^No signal at the moment")).wait_for(timeout=15_000)
        tile = page.locator(".photo").nth(1)
        tile.locator(".photo__state", has_text="Waiting for signal").wait_for(timeout=15_000)
        offline_words = signal.inner_text()
        screenshot(page, "patient-offline-360", full_page=False)
        axe_at_both_widths(page, "offline")
        assert page.locator("#send-button").inner_text() == "Sending…"
        page.wait_for_timeout(max(0, 60_000 - (time.monotonic() - lost_at) * 1000))

        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        back_at = time.monotonic()
        back_ms = page.evaluate("Date.now()")
        signal.filter(has_text=re.compile("^The signal is back")).wait_for(timeout=30_000)
        shown = page.evaluate("window.signalShown")
        noticed = min(at for at, text in shown if at >= back_ms and text.startswith(BACK)) - back_ms
        noticed /= 1000
        # On its way again: sent again, or confirmed (its upload may have arrived whole).
        page.wait_for_function(
            """() => !document.querySelectorAll('.photo__state')[1].textContent
                .startsWith('Waiting for signal')""",
            timeout=30_000,
        )
        sending_again = time.monotonic() - back_at
        screenshot(page, "patient-resumed-360", full_page=False)
        axe_at_both_widths(page, "resumed")
        reaches_done(page, live_server, file_request, worker, timeout=DONE_PAGE_WAIT_MS)
        finished = time.monotonic() - back_at
        page.get_by_role("heading", name=DONE_HEADING).wait_for()

    held = the_clinic_holds(file_request)
    stored = [key for file in held for key in (file.facets.get(name="content").storage_key,)]
    record_figures(
        offline_seconds=round(back_at - lost_at, 1),
        offline_resume_noticed_seconds=round(noticed, 1),
        offline_resume_sending_seconds=round(sending_again, 1),
        offline_back_to_confirmation_seconds=round(finished, 1),
        offline_files_held=len(held),
        offline_distinct_photo_ids=len({file.client_photo_id for file in held}),
        offline_words=offline_words,
    )
    assert noticed <= 5, f"the page noticed the signal after {noticed:.1f} s"
    assert sending_again <= 5, f"the photo was sending again after {sending_again:.1f} s"
    assert len(held) == 3
    assert len({file.client_photo_id for file in held}) == 3
    assert len({file.sha256 for file in held}) == 3
    assert all(file.state == "ready" for file in held)
    assert all(default_storage.exists(key) for key in stored)
    assert "you do not need to press anything" in offline_words
    # The page never thought the signal was back while it was not.
    assert not [text for at, text in shown if lost_ms < at < back_ms and text.startswith(BACK)]
    assert errors == []


def test_a_tab_closed_after_the_first_photo_is_restored_and_sends_only_the_rest(
    live_server, phone, file_request, tmp_path
):
    """GIVEN a patient on Slow 3G sending three photos with notes
    WHEN the first has arrived and they close the tab (the browser asks first: photos
    are on their way), then open the link again and answer the date of birth
    THEN the page shows the first as with the clinic (from the clinic's answer) and the
    second and third with their notes, sending them by itself; the confirmation says 3;
    the record holds exactly 3 files with the 3 notes."""
    page = phone.new_page()
    with celery_worker(tmp_path) as worker:
        open_link(page, live_server, file_request)
        network(page, SLOW_3G)
        choose_photos_with_notes(page)
        wait_until_ready(page)
        page.get_by_role("button", name="Send 3 photos").click()
        page.locator(".photo").nth(0).locator(
            ".photo__state", has_text="Arrived. The clinic is checking it"
        ).or_(page.locator(".photo").nth(0).locator(".photo__state", has_text="Sent:")).wait_for(
            timeout=90_000
        )
        asked = []

        def leave(dialog):
            asked.append(dialog.type)
            dialog.accept()

        page.on("dialog", leave)
        page.close(run_before_unload=True)
        page.wait_for_event("close", timeout=10_000)  # the dialog is answered meanwhile
        assert asked == ["beforeunload"]
        assert len(the_clinic_holds(file_request)) >= 1

        again = phone.new_page()
        errors = console_errors(again)
        open_link(again, live_server, file_request)
        network(again, SLOW_3G)
        note = again.locator("#restored-note")
        note.wait_for(timeout=30_000)
        tiles = again.locator(".photo")
        assert tiles.count() == 3
        assert "Sent" in tiles.nth(0).inner_text() or "Arrived" in tiles.nth(0).inner_text()
        assert [tiles.nth(i).locator("textarea").input_value() for i in (1, 2)] == NOTES[1:]
        restored_words = note.inner_text()
        screenshot(again, "patient-restored-360", full_page=False)
        axe_at_both_widths(again, "restored")
        reaches_done(again, live_server, file_request, worker, timeout=DONE_PAGE_WAIT_MS)
        heading = again.get_by_role("heading", level=1).inner_text()

    held = the_clinic_holds(file_request)
    record_figures(
        tab_closed_files_held=len(held),
        tab_closed_confirmation=heading,
        tab_closed_restored_words=restored_words,
    )
    assert heading == DONE_HEADING
    assert len(held) == 3
    assert sorted(file.description for file in held) == sorted(NOTES)
    assert len({file.client_photo_id for file in held}) == 3
    assert errors == []


def test_full_resolution_photos_reach_processing_byte_for_byte(
    live_server, phone, file_request, tmp_path
):
    """GIVEN a request sent with fullResolution
    WHEN the patient sends three 12 MP photos
    THEN what reaches processing is each original byte for byte (SHA-256 of the uploaded
    objects), nothing shrunk; with the worker started the confirmation follows."""
    type(file_request).objects.filter(pk=file_request.pk).update(full_resolution=True)
    originals = {hashlib.sha256(photo["buffer"]).hexdigest() for photo in photos()}
    page = phone.new_page()
    open_link(page, live_server, file_request)
    page.locator("#library-input").set_input_files(photos())
    wait_until_ready(page)
    page.get_by_role("button", name="Send 3 photos").click()
    deadline = time.monotonic() + 120
    while len(the_clinic_holds(file_request)) < 3 and time.monotonic() < deadline:
        time.sleep(0.25)

    held = the_clinic_holds(file_request)
    received = {hashlib.sha256(default_storage.open(f.temp_key).read()).hexdigest() for f in held}
    record_figures(full_resolution_identical=received == originals)
    assert received == originals
    assert all(file.size_sent == file.size_on_phone for file in held)
    with celery_worker(tmp_path) as worker:
        reaches_done(page, live_server, file_request, worker, timeout=DONE_PAGE_WAIT_MS)
    assert all(max(f.width, f.height) == 4032 for f in the_clinic_holds(file_request))


def test_the_clinics_name_wraps_between_words_at_double_text_size(live_server, chromium, account):
    """GIVEN a clinic with a long name and a patient whose phone shows text at 150% and
    200%, at 360 px
    WHEN the link's page opens
    THEN every word of the name stays whole on one line, and nothing scrolls sideways."""
    type(account).objects.filter(pk=account.pk).update(
        name="St Bartholomew's Dermatology and Minor Surgery Partnership"
    )
    file_request = FileRequestFactory(account=account, patient=PatientFactory(account=account))
    context = new_context(chromium, PHONE_360)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/r/{file_request.short_link_id}")
        for size in ("150%", "200%"):
            page.evaluate(f"document.documentElement.style.fontSize = '{size}'")
            broken = page.evaluate(
                """() => {
                  const node = document.querySelector('.masthead__clinic').firstChild;
                  const broken = [];
                  for (const m of node.textContent.matchAll(/\\S+/g)) {
                    const range = document.createRange();
                    range.setStart(node, m.index);
                    range.setEnd(node, m.index + m[0].length);
                    const tops = [...range.getClientRects()].map((box) => Math.round(box.top));
                    const lines = new Set(tops);
                    if (lines.size > 1) broken.push(m[0]);
                  }
                  return broken;
                }"""
            )
            assert broken == [], f"at {size} text these words break: {broken}"
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
            screenshot(page, f"patient-header-text-{size[:-1]}-360", full_page=False)
    finally:
        context.close()


# The photo each tile keeps on the phone, as it will be sent: its pixels as stored (no
# orientation applied), whether it carries EXIF or a GPS block, and its bytes' length.
KEPT = """async () => {
  const key = document.getElementById("uploader").dataset.requestKey;
  const records = await window.PhotoKeep.list(key);
  return Promise.all(records.map(async (record) => {
    const bytes = new Uint8Array(await record.blob.arrayBuffer());
    const bitmap = await createImageBitmap(record.blob, { imageOrientation: "none" })
      .catch(() => null);
    const text = new TextDecoder("latin1").decode(bytes.slice(0, 65536));
    return {
      name: record.name, sendName: record.sendName, size: bytes.length,
      type: record.blob.type, width: bitmap && bitmap.width, height: bitmap && bitmap.height,
      exif: text.includes("Exif\u0000\u0000"), gps: text.includes("PhonePhone"),
    };
  }));
}"""
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 4000


def test_photos_are_shrunk_upright_and_without_metadata_on_the_phone(
    live_server, phone, file_request
):
    """GIVEN a 12 MP photo taken with the phone held sideways (EXIF orientation 6, with
    GPS and the maker), a 1200x900 photo and a HEIC photo this browser cannot decode
    WHEN the patient chooses them
    THEN the big one is kept to send as a 1536x2048 JPEG (turned upright, longest side
    2,048) with no EXIF, location or maker; the small one and the HEIC one are kept as
    they are, byte for byte."""
    big = with_orientation_and_location(twelve_megapixel_photo(3))
    small = jpeg_bytes(1200, 900, (30, 60, 90))
    page = phone.new_page()
    open_link(page, live_server, file_request)
    page.locator("#library-input").set_input_files(
        [
            {"name": "IMG_sideways.jpg", "mimeType": "image/jpeg", "buffer": big},
            {"name": "small.jpg", "mimeType": "image/jpeg", "buffer": small},
            {"name": "IMG_0001.HEIC", "mimeType": "image/heic", "buffer": HEIC},
        ]
    )
    wait_until_ready(page)

    kept = {photo["name"]: photo for photo in page.evaluate(KEPT)}

    sideways = kept["IMG_sideways.jpg"]
    assert (sideways["width"], sideways["height"]) == (1536, 2048)
    assert sideways["type"] == "image/jpeg" and sideways["sendName"] == "IMG_sideways.jpg"
    assert not sideways["exif"] and not sideways["gps"]
    assert sideways["size"] < len(big) / 3
    assert kept["small.jpg"]["size"] == len(small)
    assert (kept["small.jpg"]["width"], kept["small.jpg"]["height"]) == (1200, 900)
    assert kept["IMG_0001.HEIC"]["size"] == len(HEIC)
    words = page.locator(".photo").nth(0).inner_text()
    assert re.search(r"\d+ KB to send \(made smaller from \d\.\d MB\)", words)
