"""What a patient does on the texted link's pages, shared by the browser tests that
play the patient: real JPEG photos to send, and the date-of-birth check."""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageDraw, ImageFilter


def jpeg_bytes(width: int, height: int, hue: tuple[int, int, int]) -> bytes:
    """A real JPEG photo-like picture: a gradient with a shape on it."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = int(255 * y / height)
        draw.line([(0, y), (width, y)], fill=(hue[0], (hue[1] + shade) % 256, hue[2]))
    draw.ellipse([width // 4, height // 4, 3 * width // 4, 3 * height // 4], fill=(200, 90, 80))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88)
    return out.getvalue()


def fill_date_of_birth(page, day: str, month: str, year: str) -> None:
    page.get_by_label("Day").fill(day)
    page.get_by_label("Month").fill(month)
    page.get_by_label("Year").fill(year)


# --- A phone on a bad day ------------------------------------------------------------

# Chromium DevTools' "Slow 3G" preset, as its network panel applies it: 2 s latency and
# 400 kbit/s (50,000 bytes a second) each way.
SLOW_3G = {
    "offline": False,
    "latency": 2000,
    "downloadThroughput": 50_000,
    "uploadThroughput": 50_000,
}
OFFLINE = {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0}
NO_THROTTLING = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
# The page waits up to three minutes for the clinic's checks, then goes to its done page
# with the photos still being checked (static/filerequests/upload.js, POLL_LIMIT_MS): a
# test waiting for the done page waits a minute longer than the page does, so it sees what
# the page does then, however slow the worker is beside the rest of the suite.
DONE_PAGE_WAIT_MS = 180_000 + 60_000


def network(page, conditions: dict):
    """Apply network conditions to ``page`` through the DevTools protocol; the session."""
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", conditions)
    return session


@functools.lru_cache(maxsize=8)
def twelve_megapixel_photo(seed: int) -> bytes:
    """A 4032x3024 JPEG of about 3 MB, as a phone's 12 MP camera takes: skin-toned
    gradients under a fine grain (so it compresses as a photo does, not as flat colour)
    and a darker patch, different for each seed."""
    width, height = 4032, 3024
    ramp = Image.linear_gradient("L").resize((width, height))
    across = ramp.transpose(Image.Transpose.ROTATE_90).resize((width, height))
    image = Image.merge(
        "RGB",
        (
            ramp.point(lambda v: 150 + v // 4 + seed * 7),
            ramp.point(lambda v: 100 + v // 5),
            across.point(lambda v: 80 + v // 6 + seed * 3),
        ),
    )
    grain = Image.effect_noise((width, height), 50 + seed).filter(ImageFilter.GaussianBlur(0.8))
    image = Image.blend(image, Image.merge("RGB", (grain, grain, grain)), 0.4)
    left, top = width // 3 + seed * 300, height // 3
    ImageDraw.Draw(image).ellipse(
        [left, top, left + 900, top + 700], fill=(120 + seed * 10, 60, 50)
    )
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def with_orientation_and_location(jpeg: bytes, orientation: int = 6) -> bytes:
    """The same photo as a phone held sideways stores it: EXIF orientation (6: turn 90
    degrees clockwise to show), and where it was taken (GPS)."""
    image = Image.open(io.BytesIO(jpeg))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhonePhone Ltd"
    exif.get_ifd(0x8825).update({1: "N", 2: (51.0, 27.0, 3.0), 3: "W", 4: (2.0, 35.0, 12.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif)
    return out.getvalue()
