"""The patient page telling the truth, in headless Chromium with a real Celery worker:
a PDF refused on the phone before any upload, a photo the clinic rejects told to the
patient with a way to send another, a dropped connection retried on its own in plain
words, the confirmation with thumbnails, the blur hint the patient may overrule; and
axe-core on every patient page at phone, tablet and desktop widths, with screenshots in
tests/artifacts/screenshots/patient-*.png."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from files.models import File, UploadTicket
from portal.accounts.models import Account
from tests.factories import FileRequestFactory, PatientFactory
from tests.support.axe import assert_no_serious_violations, axe_on_every_page
from tests.support.browser import console_errors, new_context, screenshot
from tests.support.patient_phone import DONE_PAGE_WAIT_MS, fill_date_of_birth
from tests.support.photo_quality_set import scene_photo
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOB = datetime.date(1980, 6, 17)
CORRUPT_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00garbage" * 200
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
WIDTHS = {
    "360": {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True},
    "390": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "820": {"viewport": {"width": 820, "height": 1180}, "has_touch": True},
    "1366": {"viewport": {"width": 1366, "height": 900}},
}
# Scrolling jumps instead of gliding (the page honours the setting), so a screenshot
# never catches a page mid-scroll.
STILL = {"reduced_motion": "reduce"}
# What the page's words must never be: the browser's own, or a technical code.
RAW_ERRORS = ("Failed to fetch", "NetworkError", "TypeError", "net::", "(403)", "(500)")


@pytest.fixture(autouse=True)
def public_url(live_server, settings):
    """Upload tickets name the portal by its public URL: here, the live server."""
    settings.PORTAL_PUBLIC_BASE_URL = live_server.url


@pytest.fixture
def clinic(account):
    Account.objects.filter(pk=account.pk).update(phone_number="+441174960000")
    account.refresh_from_db()
    return account


@pytest.fixture
def file_request(clinic):
    patient = PatientFactory(account=clinic, date_of_birth=DOB)
    return FileRequestFactory(account=clinic, patient=patient)


@pytest.fixture
def phone(chromium):
    context = new_context(chromium, {**WIDTHS["390"], **STILL, "device_scale_factor": 2})
    page = context.new_page()
    yield page
    context.close()


def photo(name: str, data: bytes, mime: str = "image/jpeg") -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


def open_upload_page(page, live_server, file_request) -> None:
    page.goto(f"{live_server.url}/r/{file_request.short_link_id}")
    fill_date_of_birth(page, "17", "6", "1980")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live_server.url}/r/upload")


def record_page_words(page) -> None:
    """Keep every text the photo tiles and the error box ever show (across pages)."""
    page.add_init_script(
        """
        new MutationObserver(() => {
          const seen = JSON.parse(sessionStorage.getItem("seen") || "[]");
          document.querySelectorAll(".photo__state, #page-error, #send-count")
            .forEach((el) => { if (el.textContent && !seen.includes(el.textContent))
              seen.push(el.textContent); });
          sessionStorage.setItem("seen", JSON.stringify(seen));
        }).observe(document, { subtree: true, childList: true, characterData: true });
        """
    )


def words_seen(page) -> list[str]:
    return page.evaluate("JSON.parse(sessionStorage.getItem('seen') || '[]')")


def test_a_pdf_is_refused_on_the_phone_before_any_upload(live_server, chromium, file_request):
    """GIVEN a patient past the check on a 360 px phone
    WHEN they choose a PDF through "Choose from your photos", once named .pdf and once
    disguised as IMG_2041.JPG with an image type
    THEN the page says in plain words that it is a PDF document, not a photo, adds no
    photo, asks the portal for no upload ticket, and nothing is stored."""
    context = new_context(chromium, {**WIDTHS["360"], **STILL, "device_scale_factor": 2})
    page = context.new_page()
    errors = console_errors(page)
    try:
        open_upload_page(page, live_server, file_request)
        asked = []
        page.on("request", lambda request: asked.append(request.url))

        page.locator("#library-input").set_input_files(
            [photo("letter.pdf", PDF, "application/pdf"), photo("IMG_2041.JPG", PDF)]
        )
        problem = page.locator("#page-error")
        problem.wait_for()
        text = problem.inner_text()
        assert "Only photos can be sent to the clinic" in text
        assert text.count("This is a PDF document, not a photo. Please choose a photo.") == 2
        assert "letter.pdf" in text and "IMG_2041.JPG" in text
        assert page.evaluate("document.activeElement.id") == "page-error"
        assert page.locator(".photo").count() == 0
        assert page.get_by_role("button", name="Send photos").is_disabled()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        screenshot(page, "patient-pdf-refused-360", full_page=False)
        assert_no_serious_violations(page, "upload page, PDF refused")
    finally:
        context.close()

    assert not [url for url in asked if "/r/upload/ticket" in url or "/storage/" in url]
    assert UploadTicket.objects.filter(file_request=file_request).count() == 0
    assert File.objects.filter(file_request=file_request).count() == 0
    assert errors == []


@pytest.mark.slow
def test_a_photo_the_clinic_rejects_is_told_with_a_way_to_send_another(
    live_server, phone, file_request, tmp_path
):
    """GIVEN a patient who sends a good photo and a file whose first bytes look like a
    JPEG but whose data is corrupt, with a real worker processing them
    WHEN the clinic's processing rejects the corrupt one
    THEN the page says that photo could not be used and why, offers "Choose another
    photo", calls only the good one sent; Finish leads to a confirmation that counts 1
    photo with its thumbnail (served through the session) and lists the one not used."""
    record_page_words(phone)
    with celery_worker(tmp_path):
        open_upload_page(phone, live_server, file_request)
        phone.locator("#library-input").set_input_files(
            [photo("rash.jpg", scene_photo("rash", 1)), photo("IMG_0007.JPG", CORRUPT_JPEG)]
        )
        phone.get_by_role("button", name="Send 2 photos").click()

        problem = phone.locator("#page-error")
        problem.wait_for(timeout=60_000)
        assert "1 photo could not be used by the clinic and was not sent" in problem.inner_text()
        assert "IMG_0007.JPG" in problem.inner_text()
        tiles = phone.locator(".photo")
        rejected = tiles.nth(1)
        assert "Not sent: this photo could not be used." in rejected.inner_text()
        assert "damaged or incomplete" in rejected.inner_text()
        assert rejected.get_by_role("button", name="Choose another photo").is_visible()
        assert "Sent: the clinic has received this photo." in tiles.nth(0).inner_text()
        assert phone.locator("#send-button").inner_text() == "Finish"
        screenshot(phone, "patient-rejected-photo-390")
        assert_no_serious_violations(phone, "upload page, rejected photo")

        phone.get_by_role("button", name="Finish").click()
        phone.wait_for_url(f"{live_server.url}/r/done", timeout=DONE_PAGE_WAIT_MS)

    heading = phone.get_by_role("heading", level=1).inner_text()
    assert heading == "What the clinic has received"
    assert "1 photo, sent at" in phone.content()
    thumbnails = phone.locator("img.sent__thumb")
    assert thumbnails.count() == 1
    thumbnails.first.evaluate("img => img.decode()")
    assert thumbnails.first.evaluate("img => img.naturalWidth") > 0
    assert "Not sent: 1 photo could not be used" in phone.content()
    assert phone.get_by_role("link", name="Send another photo").is_visible()
    screenshot(phone, "patient-confirmation-with-rejected-390")
    assert_no_serious_violations(phone, "confirmation with a rejected photo")

    seen = " ".join(words_seen(phone))
    assert not any(raw in seen for raw in RAW_ERRORS)
    states = dict(
        File.objects.filter(file_request=file_request).values_list("original_name", "state")
    )
    assert states == {"rash.jpg": "ready", "IMG_0007.JPG": "rejected"}


@pytest.mark.slow
def test_a_dropped_connection_is_retried_on_its_own_in_plain_words(
    live_server, phone, file_request, tmp_path
):
    """GIVEN a patient whose connection drops twice while sending one photo (the ticket
    request, then the upload to storage)
    WHEN they press Send once
    THEN the page says it is waiting for signal and the photo will send by itself, tries
    again on its own as soon as the connection answers, and ends on the confirmation with
    the photo's thumbnail; the browser's own words ("Failed to fetch") never show."""
    record_page_words(phone)
    drops = {"ticket": 0, "storage": 0}

    def drop_first(kind):
        def handle(route):
            drops[kind] += 1
            if drops[kind] == 1:
                route.abort("internetdisconnected")
            else:
                route.continue_()

        return handle

    with celery_worker(tmp_path):
        open_upload_page(phone, live_server, file_request)
        phone.route("**/r/upload/ticket", drop_first("ticket"))
        phone.route("**/storage/upload**", drop_first("storage"))
        phone.locator("#camera-input").set_input_files(photo("hand.jpg", scene_photo("hand", 2)))
        phone.get_by_role("button", name="Send 1 photo").click()

        state = phone.locator(".photo__state")
        state.filter(has_text="Waiting for signal").wait_for()
        screenshot(phone, "patient-connection-lost-retrying-390", full_page=False)
        phone.wait_for_url(f"{live_server.url}/r/done", timeout=60_000)

    # The ticket request is asked again; the upload goes again with the ticket in hand.
    assert drops == {"ticket": 2, "storage": 2}
    assert phone.get_by_role("heading", level=1).inner_text() == (
        "Thank you, your 1 photo has been sent"
    )
    thumbnail = phone.locator("img.sent__thumb")
    thumbnail.evaluate("img => img.decode()")
    assert thumbnail.evaluate("img => img.naturalWidth") > 0
    screenshot(phone, "patient-confirmation-390")
    seen = " ".join(words_seen(phone))
    assert "Waiting for signal. This photo will send by itself when the signal is back." in seen
    assert not any(raw in seen for raw in RAW_ERRORS)
    assert File.objects.get(file_request=file_request).state == "ready"


def test_the_blur_hint_shows_and_the_patient_can_keep_the_photo(live_server, phone, file_request):
    """GIVEN a patient past the check
    WHEN they choose a blurred photo and a sharp one
    THEN the blurred one shows "This photo looks blurred: try again with the phone steady,
    in daylight", the sharp one no hint; "Keep this photo" puts the hint away and keeps
    the photo ready to send, and "Take it again" replaces the photo with the one taken
    next."""
    open_upload_page(phone, live_server, file_request)
    phone.locator("#library-input").set_input_files(
        [
            photo("blurred.jpg", scene_photo("skin", 3, defect="blurred")),
            photo("sharp.jpg", scene_photo("skin", 3)),
            photo("dark.jpg", scene_photo("rash", 3, defect="dark")),
        ]
    )
    tiles = phone.locator(".photo")
    blurred_hint = tiles.nth(0).locator(".photo__hint")
    blurred_hint.wait_for()
    assert blurred_hint.inner_text().startswith(
        "This photo looks blurred: try again with the phone steady, in daylight."
    )
    tiles.nth(2).locator(".photo__hint").wait_for()
    assert "too dark" in tiles.nth(2).locator(".photo__hint").inner_text()
    phone.wait_for_timeout(500)  # every assessment has had its turn: the sharp one stays clean
    assert tiles.nth(1).locator(".photo__hint").is_hidden()
    # The first new photo is brought into view, near where the patient chose it.
    in_view = "el => { const r = el.getBoundingClientRect(); return r.top < innerHeight; }"
    assert tiles.nth(0).evaluate(in_view)
    assert "3 photos ready to send" in phone.locator("#send-count").inner_text()
    screenshot(phone, "patient-blur-hint-390", full_page=False)
    screenshot(phone, "patient-blur-hint-390-full")
    assert_no_serious_violations(phone, "upload page with quality hints")

    tiles.nth(0).get_by_role("button", name="Keep this photo").click()
    assert blurred_hint.is_hidden()
    assert phone.evaluate("document.activeElement.classList.contains('photo__note')")
    assert tiles.count() == 3

    # "Take it again" opens the camera; the dark photo goes only once a new one is taken.
    with phone.expect_file_chooser() as chooser:
        tiles.nth(2).get_by_role("button", name="Take it again").click()
    assert tiles.count() == 3
    chooser.value.set_files(photo("retaken.jpg", scene_photo("rash", 3)))
    phone.locator(".photo__name", has_text="retaken.jpg").wait_for()
    assert tiles.all_inner_texts()[2].startswith("retaken.jpg")
    assert "dark.jpg" not in " ".join(tiles.all_inner_texts())
    assert phone.get_by_role("button", name="Send 3 photos").is_enabled()


# Whether something else is drawn over any part (top, middle, bottom edge) of the element
# at selector, which must be in view.
COVERED = """(selector) => {
  const target = document.querySelector(selector);
  const box = target.getBoundingClientRect();
  if (box.bottom > innerHeight || box.top < 0) return null;
  const x = box.left + box.width / 2;
  return [box.top + 3, box.top + box.height / 2, box.bottom - 3].some(
    (y) => !target.contains(document.elementFromPoint(x, y)));
}"""
PAGES = ["landing", "wrong-date", "locked", "expired", "unknown", "session-ended"]

# The send button's top and the page's scroll, in every frame from now until three seconds
# after the first photo shows in the list, kept in window.sendButtonSeen.
WATCH_SEND_BUTTON = """() => {
  const button = document.getElementById("send-button");
  const list = document.getElementById("photo-list");
  const seen = (window.sendButtonSeen = []);
  let since = null;
  function frame(now) {
    if (list.querySelector(".photo")) {
      since = since === null ? now : since;
      seen.push([Math.round(button.getBoundingClientRect().top), Math.round(scrollY)]);
    }
    if (since === null || now - since < 3000) requestAnimationFrame(frame);
    else window.sendButtonWatched = true;
  }
  requestAnimationFrame(frame);
}"""


@pytest.mark.parametrize("width", ["360", "390", "820"])
def test_the_send_button_stays_put_while_the_page_shows_a_new_photo(
    live_server, chromium, file_request, width
):
    """GIVEN a patient past the check on a phone or tablet that glides when it scrolls,
    with a CPU four times slower than this machine's
    WHEN they choose a photo, and the page scrolls to it and shows its hint (too dark)
    THEN the Send button stays where it first showed in every frame (a tap meant for it
    lands on it), and at the end of the page the bar covers neither the photo's state nor
    the clinic's words below the card."""
    context = new_context(chromium, {**WIDTHS[width], "device_scale_factor": 2})
    page = context.new_page()
    try:
        context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": 4})
        open_upload_page(page, live_server, file_request)
        page.evaluate(WATCH_SEND_BUTTON)
        page.locator("#library-input").set_input_files(
            [photo("dark.jpg", scene_photo("rash", 3, defect="dark"))]
        )
        page.wait_for_function("() => window.sendButtonWatched === true")
        page.locator(".photo__hint").wait_for()
        seen = page.evaluate("window.sendButtonSeen")
        tops = {top for top, _ in seen}
        assert len(tops) == 1, f"the Send button moved (top, scroll in each frame): {seen}"
        assert page.get_by_role("button", name="Send 1 photo").is_enabled()

        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        assert page.evaluate(COVERED, ".photo:last-child .photo__progress") is False
        assert page.evaluate(COVERED, ".footer p:last-of-type") is False
        screenshot(page, f"patient-send-bar-{width}", full_page=False)
    finally:
        context.close()


@pytest.mark.slow
@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_patient_page_has_no_serious_axe_violations(
    live_server, chromium, clinic, file_request, tmp_path, width
):
    """GIVEN each patient page: the link's landing page, the date-of-birth error, the
    locked, expired, unknown-link and timed-out pages, the upload page with photos and a
    hint, and the confirmation with thumbnails
    WHEN axe-core runs on each at this width
    THEN there is no serious or critical violation, nothing scrolls sideways, and a
    screenshot of each is kept."""
    context = new_context(chromium, {**WIDTHS[width], **STILL})
    page = context.new_page()
    axe_on_every_page(page)
    errors = console_errors(page)
    locked = FileRequestFactory(
        account=clinic,
        patient=file_request.patient,
        locked_until=timezone.now() + datetime.timedelta(minutes=20),
    )
    expired = FileRequestFactory(
        account=clinic,
        patient=file_request.patient,
        short_link_expires_at=timezone.now() - datetime.timedelta(days=1),
    )
    link = f"{live_server.url}/r/{file_request.short_link_id}"

    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        violations = assert_no_serious_violations(page, f"{name} at {width}px")
        found[name] = [f"{v['id']} ({v['impact']})" for v in violations]
        assert page.evaluate("document.documentElement.scrollWidth") <= int(width), name
        screenshot(page, f"patient-{name}-{width}")

    try:
        page.goto(link)
        check("landing")
        fill_date_of_birth(page, "1", "1", "1990")
        page.get_by_role("button", name="Continue").click()
        page.locator("#error-summary").wait_for()
        check("wrong-date")
        page.goto(f"{live_server.url}/r/{locked.short_link_id}")
        check("locked")
        page.goto(f"{live_server.url}/r/{expired.short_link_id}")
        check("expired")
        page.goto(f"{live_server.url}/r/AAAAAAAAAAAAAAAAAAAAAA")
        check("unknown")
        page.goto(f"{live_server.url}/r/upload")
        check("session-ended")

        with celery_worker(tmp_path):
            open_upload_page(page, live_server, file_request)
            # Nothing covers the photo pickers: the send bar is not sticky until photos
            # are chosen (on a 740 px high phone it would sit on "Choose from your photos").
            assert page.evaluate(COVERED, "label[for=library-input]") is False
            check("upload-empty")
            page.locator("#library-input").set_input_files(
                [
                    photo("rash.jpg", scene_photo("rash", 0)),
                    photo("blurred.jpg", scene_photo("skin", 3, defect="blurred")),
                ]
            )
            page.locator(".photo").nth(1).locator(".photo__hint").wait_for()
            check("upload-photos")
            page.get_by_role("button", name="Send 2 photos").click()
            page.wait_for_url(f"{live_server.url}/r/done", timeout=60_000)
        page.locator("img.sent__thumb").nth(1).evaluate("img => img.decode()")
        check("confirmation")
    finally:
        context.close()
    print(f"\naxe-core at {width}px: serious+critical / other violations per page")
    for name, violations in found.items():
        print(f"  {name:16} 0 / {len(violations)} {', '.join(violations)}")
    assert errors == []
