"""A mole followed over time, in headless Chromium with a real Celery worker: the GP sends
the clinic's "Mole or skin lesion" template for the left forearm, the patient answers from
her phone; a month later (the first request's dates moved back in the test) the same body
site is asked for and answered again; the GP opens the comparison from the record, sees the
two photos side by side and zooms one: the other follows. Screenshots at desktop, tablet and
phone width: tests/artifacts/screenshots/compare-*.png. axe-core finds nothing serious or
critical on the new pages."""

from __future__ import annotations

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageDraw, ImageFilter
from playwright.sync_api import expect

from filerequests.models import FileRequest, RequestTemplate
from filerequests.sms import file_outbox_messages
from files.models import File
from tests.dashboard.browsing import sign_in_with_code
from tests.support.axe import assert_no_serious_violations
from tests.support.browser import DESKTOP, PHONE, TABLET, console_errors, screenshot
from tests.support.patient_phone import DONE_PAGE_WAIT_MS, fill_date_of_birth
from tests.support.worker import celery_worker, wait_for

LONDON = ZoneInfo("Europe/London")
SLOT_LABELS = ["Where it is", "Close-up", "With a coin", "From the side"]
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def mole_photo(radius: int, shade: int) -> bytes:
    """A photo-like picture of a mole on skin: bigger and darker as it changes."""
    width, height = 1600, 1200
    image = Image.new("RGB", (width, height), (224, 182, 152))
    draw = ImageDraw.Draw(image)
    for y in range(0, height, 6):  # a little skin texture
        draw.line([(0, y), (width, y)], fill=(218 - y % 18, 176 - y % 12, 146))
    centre = (width // 2, height // 2)
    draw.ellipse(
        [centre[0] - radius, centre[1] - int(radius * 0.8), centre[0] + radius, centre[1] + radius],
        fill=(shade, shade // 2, shade // 3),
    )
    draw.ellipse([700, 520, 716, 536], fill=(40, 20, 10))  # a dark spot to zoom to
    image = image.filter(ImageFilter.GaussianBlur(2))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def answer_slot_by_slot(phone, base, file_request, patient, photos: dict, shot: str = "") -> None:
    """The patient follows the cards: a photo for each step named in ``photos`` (label:
    (file name, bytes)), the others left empty; told of the gap, she sends anyway."""
    born = patient.date_of_birth
    phone.goto(f"{base}/r/{file_request.short_link_id}")
    fill_date_of_birth(phone, f"{born.day:02d}", f"{born.month:02d}", str(born.year))
    phone.get_by_role("button", name="Continue").click()
    phone.wait_for_url(f"{base}/r/upload")
    expect(phone.locator("body")).to_contain_text("Please send photos of the mole")
    cards = phone.get_by_test_id("slot")
    expect(cards).to_have_count(4)
    expect(cards.nth(2)).to_contain_text("Close-up with a coin beside it for size.")
    if shot:
        screenshot(phone, f"{shot}-cards")
        assert_no_serious_violations(phone, "the patient's slot cards")
    for label, (name, data) in photos.items():
        card = phone.locator(f'[data-slot-label="{label}"]')
        with phone.expect_file_chooser() as chooser:
            card.get_by_role("button", name=f"Choose from your photos: {label}").click()
        chooser.value.set_files([{"name": name, "mimeType": "image/jpeg", "buffer": data}])
        expect(card).to_contain_text("Photo added")
    count = len(photos)
    send = phone.get_by_role("button", name=re.compile(rf"^Send {count} photo"))
    send.click()
    warning = phone.locator("#slots-warning")
    missing = [label for label in SLOT_LABELS if label not in photos]
    expect(warning).to_contain_text("for: " + ", ".join(missing))
    if shot:
        screenshot(phone, f"{shot}-gap-said", full_page=False)
        assert_no_serious_violations(phone, "the patient told of an empty step")
    warning.get_by_role("button", name=re.compile(r"^Send without")).click()
    phone.wait_for_url(re.compile(rf"{base}/r/done"), timeout=DONE_PAGE_WAIT_MS)


def send_the_mole_template(staff, base, patient) -> FileRequest:
    """On the dashboard: Request photos for the patient, the mole template, left forearm."""
    staff.goto(f"{base}/file-requests/new/?patient={patient.id}")
    staff.get_by_label("Template").select_option(label="Mole or skin lesion")
    expect(staff.get_by_label("What do you need photos of?")).to_have_value(
        re.compile(r"^Please send photos of the mole")
    )
    expect(staff.locator("[data-template-slots]")).to_contain_text(
        "Close-up with a coin beside it for size."
    )
    staff.get_by_label("Where on the body").fill("Left forearm")
    before = set(FileRequest.objects.values_list("id", flat=True))
    staff.get_by_role("button", name="Send request").click()
    staff.wait_for_url(re.compile(rf"{base}/file-requests/[0-9a-f-]+/$"))
    expect(staff.get_by_test_id("request-body-site")).to_have_text("Left forearm")
    return FileRequest.objects.exclude(id__in=before).get()


def test_a_mole_followed_over_a_month_and_compared_side_by_side(
    live_server, open_page, chromium, clinic, settings, tmp_path
):
    base = live_server.url
    outbox = tmp_path / "sms" / "outbox.jsonl"
    settings.PORTAL_PUBLIC_BASE_URL = base
    settings.SMS_FILE_PATH = str(outbox)
    patient = clinic["patients"][0]
    worker_env = {"PORTAL_PUBLIC_BASE_URL": base, "SMS_FILE_PATH": str(outbox)}
    with celery_worker(tmp_path, extra_env=worker_env):
        staff = open_page(DESKTOP)
        errors = console_errors(staff)
        sign_in_with_code(staff, base, clinic)

        # Settings: the clinic's templates, the shipped ones among them.
        staff.goto(f"{base}/settings/request-templates/")
        expect(staff.get_by_test_id("request-templates")).to_contain_text("Mole or skin lesion")
        screenshot(staff, "compare-1-settings-request-templates")
        assert_no_serious_violations(staff, "Settings, request templates")
        mole = RequestTemplate.objects.get(account=clinic["account"], default_key="mole")
        staff.goto(f"{base}/settings/request-templates/{mole.pk}/")
        expect(staff.get_by_label("Photo 3: what the patient is asked")).to_have_value(
            "Close-up with a coin beside it for size."
        )
        assert_no_serious_violations(staff, "editing a request template")

        # The first request: the mole template, for the left forearm.
        staff.goto(f"{base}/file-requests/new/?patient={patient.id}")
        staff.get_by_label("Template").select_option(label="Mole or skin lesion")
        staff.get_by_label("Where on the body").fill("Left forearm")
        screenshot(staff, "compare-2-send-form-with-template")
        assert_no_serious_violations(staff, "the send form with a template picked")
        first = send_the_mole_template(staff, base, patient)
        assert first.template == mole and len(first.slots) == 4
        assert (first.body_site_code, first.body_site_side) == ("14975008", "left")

        phone = open_page(PHONE)
        answer_slot_by_slot(
            phone,
            base,
            first,
            patient,
            {
                "Where it is": ("IMG_2040.jpg", mole_photo(60, 120)),
                "Close-up": ("IMG_2041.jpg", mole_photo(150, 120)),
                "With a coin": ("IMG_2042.jpg", mole_photo(140, 120)),
            },
            shot="compare-patient-1",
        )
        sent_first = wait_for(
            lambda: (
                list(File.objects.filter(file_request=first, state="ready"))
                if File.objects.filter(file_request=first, state="ready").count() == 3
                else None
            ),
            timeout=90,
            message="the first photos were not processed",
        )
        assert {f.slot_label for f in sent_first} == {"Where it is", "Close-up", "With a coin"}
        assert {f.slot_id for f in sent_first} <= {s["id"] for s in first.slots}
        assert {f.body_site_label for f in sent_first} == {"Left forearm"}

        # A month passes: the first request and its photo move back 31 days.
        month = dt.timedelta(days=31)
        first.refresh_from_db()
        FileRequest.objects.filter(pk=first.pk).update(
            created_at=first.created_at - month,
            answered_at=(first.answered_at or first.created_at) - month,
        )
        for sent in sent_first:
            File.objects.filter(pk=sent.pk).update(
                created_at=sent.created_at - month, processed_at=sent.processed_at - month
            )

        # The same body site asked for and answered again.
        second = send_the_mole_template(staff, base, patient)
        phone = open_page(PHONE)
        answer_slot_by_slot(
            phone,
            base,
            second,
            patient,
            {
                "Where it is": ("IMG_2387.jpg", mole_photo(80, 90)),
                "Close-up": ("IMG_2388.jpg", mole_photo(210, 90)),
            },
        )
        sent_second = wait_for(
            lambda: (
                list(File.objects.filter(file_request=second, state="ready"))
                if File.objects.filter(file_request=second, state="ready").count() == 2
                else None
            ),
            timeout=90,
            message="the second photos were not processed",
        )
        assert wait_for(lambda: len(file_outbox_messages(outbox)) >= 2)

        # The record, grouped by body site, then the comparison opened from it.
        staff.goto(f"{base}/patients/{patient.id}/?group=site#attachments")
        group = staff.get_by_test_id("record-group").first
        expect(group.get_by_role("heading")).to_have_text("Left forearm")
        expect(group.locator(".record-item")).to_have_count(5)
        thumb = group.locator(".record-thumb").first.bounding_box()
        assert thumb["width"] >= 160 and thumb["height"] >= 160
        expect(group).to_contain_text("IMG_2041.jpg")  # the phone's name, as a detail
        expect(group).to_contain_text("Close-up, ")  # named by step and date
        screenshot(staff, "compare-3-record-by-body-site")
        # From the viewer too: a photo opened offers the comparison around it.
        group.locator(".record-item .tile-open").first.click()
        compare_from_viewer = staff.locator("#viewer [data-viewer-compare]")
        expect(compare_from_viewer).to_be_visible()
        assert "/compare/?around=" in compare_from_viewer.get_attribute("href")
        expect(staff.locator("#viewer-title")).to_contain_text("Left forearm")
        staff.keyboard.press("Escape")
        expect(compare_from_viewer).to_be_hidden()
        staff.get_by_test_id("compare-link").click()
        staff.wait_for_url(re.compile(rf"{base}/patients/{patient.id}/compare/"))

        panes = staff.get_by_test_id("compare-pane")
        expect(panes).to_have_count(2)
        # The earliest and the latest photo of one step of the left forearm.
        earlier = File.objects.get(pk=panes.nth(0).get_attribute("data-file-id"))
        later = File.objects.get(pk=panes.nth(1).get_attribute("data-file-id"))
        assert earlier in sent_first and later in sent_second
        assert earlier.slot_label == later.slot_label
        for index, shown in enumerate((earlier, later)):
            caption = panes.nth(index).locator("figcaption")
            expect(caption).to_contain_text("Left forearm")
            expect(caption).to_contain_text(shown.slot_label)
            day = File.objects.get(pk=shown.pk).created_at.astimezone(LONDON)
            expect(caption).to_contain_text(f"{day.day} {day:%b %Y}")
        left, right = (panes.nth(i).locator(".compare-viewport").bounding_box() for i in (0, 1))
        assert abs(left["width"] - right["width"]) < 1 and abs(left["height"] - right["height"]) < 1
        assert abs(left["y"] - right["y"]) < 1  # side by side
        wait_for(
            lambda: staff.evaluate(
                "() => [...document.querySelectorAll('[data-compare-image]')]"
                ".every(i => i.complete && i.naturalWidth > 0)"
            ),
            message="the photos did not load",
        )
        screenshot(staff, "compare-4-desktop-side-by-side")
        assert_no_serious_violations(staff, "the comparison")

        # Zoom in on one with the keyboard: the other follows; then move it with the arrows.
        images = staff.locator("[data-compare-image]")
        panes.nth(0).locator(".compare-viewport").focus()
        staff.keyboard.press("+")
        staff.keyboard.press("+")
        expect(images.nth(0)).to_have_attribute("data-zoom", "1.56")
        expect(images.nth(1)).to_have_attribute("data-zoom", "1.56")
        staff.keyboard.press("ArrowLeft")
        transforms = [images.nth(i).evaluate("i => i.style.transform") for i in (0, 1)]
        assert transforms[0] == transforms[1] and "scale(1.5625)" in transforms[0]
        # The wheel over the other photo zooms both too.
        panes.nth(1).locator(".compare-viewport").hover()
        staff.mouse.wheel(0, -200)
        expect(images.nth(0)).to_have_attribute("data-zoom", "1.95")
        expect(staff.locator("[data-compare-zoom-value]")).to_have_text("195%")
        screenshot(staff, "compare-5-desktop-zoomed-in-step", full_page=False)
        assert_no_serious_violations(staff, "the comparison zoomed")
        staff.get_by_role("button", name="Zoom out").click()
        staff.locator("[data-compare-reset]").click()
        expect(images.nth(1)).to_have_attribute("data-zoom", "1.00")

        # The same page at tablet and phone width, signed in as the same person.
        state = staff.context.storage_state()
        for shape, name in ((TABLET, "tablet"), (PHONE, "phone")):
            context = chromium.new_context(
                **shape, locale="en-GB", timezone_id="Europe/London", storage_state=state
            )
            try:
                page = context.new_page()
                page.goto(staff.url)
                shown = page.get_by_test_id("compare-pane")
                expect(shown).to_have_count(2)
                boxes = [shown.nth(i).locator(".compare-viewport").bounding_box() for i in (0, 1)]
                assert abs(boxes[0]["y"] - boxes[1]["y"]) < 1  # still side by side
                page.locator("[data-compare-zoom-in]").click()
                expect(page.locator("[data-compare-image]").nth(1)).to_have_attribute(
                    "data-zoom", "1.25"
                )
                screenshot(page, f"compare-6-{name}")
                assert_no_serious_violations(page, f"the comparison at {name} width")
                page.goto(f"{base}/patients/{patient.id}/?group=site#attachments")
                thumb = page.locator(".record-thumb").first.bounding_box()
                assert thumb["width"] >= 160
                screenshot(page, f"compare-7-record-by-body-site-{name}")
                assert_no_serious_violations(page, f"the record by body site at {name} width")
            finally:
                context.close()
        assert errors == []
