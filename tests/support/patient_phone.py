"""What a patient does on the texted link's pages, shared by the browser tests that
play the patient: real JPEG photos to send, and the date-of-birth check."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw


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
