"""Sample files, good and bad, made by the tests themselves (nothing binary is committed)."""

from __future__ import annotations

import io
import zipfile

import pillow_heif
from PIL import Image

pillow_heif.register_heif_opener()

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE, MODEL = 0x010F, 0x0110


def jpeg(size=(64, 48), *, orientation: int | None = None, gps: bool = False, colour="red"):
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    if orientation:
        exif[ORIENTATION] = orientation
    if gps:
        exif[MAKE] = "Apple"
        exif[MODEL] = "iPhone 15"
        exif.get_ifd(GPS_IFD).update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes() if (orientation or gps) else b"", comment=b"hi")
    return out.getvalue()


def png(size=(40, 30), mode="RGB"):
    out = io.BytesIO()
    Image.new(mode, size, "blue").save(out, "PNG")
    return out.getvalue()


def webp(size=(40, 30)):
    out = io.BytesIO()
    Image.new("RGB", size, "green").save(out, "WEBP")
    return out.getvalue()


def heic(size=(64, 48)):
    out = io.BytesIO()
    Image.new("RGB", size, "yellow").save(out, "HEIF", quality=50)
    return out.getvalue()


def pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.bin", b"MZ" + bytes(range(256)) * 4)
    return out.getvalue()


def png_bomb() -> bytes:
    """A tiny PNG whose header says 10,000 x 10,000 pixels (100 MP)."""
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG", optimize=True)
    return out.getvalue()


# name, bytes, declared type, purpose, words expected in the reason
BAD_FILES = [
    ("empty.jpg", lambda: b"", "image/jpeg", "photo", "empty"),
    ("bomb.png", png_bomb, "image/png", "photo", "too large"),
    ("truncated.jpg", lambda: jpeg((400, 300))[:600], "image/jpeg", "photo", "damaged"),
    ("truncated.pdf", lambda: pdf()[:-60], "application/pdf", "document", "truncated"),
    (
        "polyglot.jpg",
        lambda: jpeg() + b"<html><script>alert(1)</script></html>",
        "image/jpeg",
        "photo",
        "web page",
    ),
    ("zip-polyglot.jpg", lambda: jpeg() + zip_bytes(), "image/jpeg", "photo", "ZIP"),
    ("pdf-zip.pdf", lambda: pdf() + zip_bytes(), "application/pdf", "document", "ZIP"),
    (
        "script.svg",
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "image/svg+xml",
        "photo",
        "SVG",
    ),
    (
        "page.jpg",
        lambda: b"<!DOCTYPE html><html><body>hi</body></html>",
        "image/jpeg",
        "photo",
        "HTML",
    ),
    ("doc.png", pdf, "image/png", "document", "name says .png"),
    ("doc.pdf", pdf, "application/pdf", "photo", "not accepted here"),
    ("program.jpg", lambda: b"MZ\x90\x00" + b"\x00" * 200, "image/jpeg", "photo", "program"),
    ("archive.jpg", zip_bytes, "image/jpeg", "photo", "archive"),
    ("run.sh", lambda: b"#!/bin/sh\nrm -rf /\n", "image/jpeg", "photo", "script"),
    ("photo.html", jpeg, "image/jpeg", "photo", "name ends in .html"),
    ("photo.jpg", jpeg, "text/html", "photo", "sent as text/html"),
]
