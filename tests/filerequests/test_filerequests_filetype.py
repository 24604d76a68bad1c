"""The phone's file-type check (static/filerequests/filetype.js) against the server's
(files/pipeline/sniffing.py): for each kind of file a patient might choose, both accept it or
both refuse it, and the phone's refusal is in words a patient understands."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from files.pipeline.sniffing import IMAGE_TYPES, detect
from tests.support.browser import new_context

pytestmark = [pytest.mark.browser]

FILETYPE_JS = Path(__file__).resolve().parents[2] / "static" / "filerequests" / "filetype.js"


def image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 80, 60)).save(out, format=fmt)
    return out.getvalue()


def iso_box(*brands: bytes) -> bytes:
    body = b"ftyp" + brands[0] + b"\x00\x00\x00\x00" + b"".join(brands[1:])
    return (len(body) + 4).to_bytes(4, "big") + body + b"\x00" * 64


ACCEPTED = {
    "jpeg": image("JPEG"),
    "png": image("PNG"),
    "webp": image("WEBP"),
    "heic": iso_box(b"heic", b"mif1", b"heic"),
    "heic-compatible-brand": iso_box(b"mif1", b"heic"),
    "heif": iso_box(b"mif1", b"mif1"),
    "corrupt-jpeg": b"\xff\xd8\xff\xe0" + b"\x00" * 100,  # the server decides later
}
REFUSED = {
    "pdf": (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "This is a PDF document, not a photo."),
    "gif": (image("GIF"), "GIF picture"),
    "bmp": (image("BMP"), "BMP or TIFF"),
    "tiff": (image("TIFF"), "BMP or TIFF"),
    "avif": (iso_box(b"avif", b"mif1", b"avif"), "AVIF picture"),
    "mp4-video": (iso_box(b"isom", b"isom", b"mp41"), "This is a video"),
    "quicktime-video": (iso_box(b"qt  ", b"qt  "), "This is a video"),
    "svg": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "drawing"),
    "html": (b"<!doctype html><html><script>alert(1)</script>", "web page"),
    "html-with-bom": (b"\xef\xbb\xbf  <html><body>hi</body></html>", "web page"),
    "docx-zip": (b"PK\x03\x04" + b"\x00" * 60, "document or a compressed folder"),
    "old-office": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 60, "Office document"),
    "gzip": (b"\x1f\x8b\x08\x00" + b"\x00" * 20, "compressed folder"),
    "rar": (b"Rar!\x1a\x07\x00" + b"\x00" * 20, "compressed folder"),
    "windows-program": (b"MZ\x90\x00" + b"\x00" * 60, "program"),
    "linux-program": (b"\x7fELF\x02\x01\x01" + b"\x00" * 60, "program"),
    "plain-text": (b"my rash started on monday", "not a photo the clinic can open"),
    "empty": (b"", "This file is empty"),
    "png-signature-cut": (b"\x89PNG\r\n", "not a photo the clinic can open"),
    "jpeg-two-bytes": (b"\xff\xd8", "not a photo the clinic can open"),
}
JARGON = ("MIME", "application/", "image/", "magic", "signature", "bytes", "undefined")


@pytest.fixture(scope="module")
def judge_page(chromium):
    context = new_context(chromium, {"viewport": {"width": 390, "height": 844}})
    page = context.new_page()
    page.set_content("<!doctype html><title>filetype</title>")
    page.add_script_tag(content=FILETYPE_JS.read_text())
    yield page
    context.close()


def phone_judges(page, data: bytes) -> dict:
    return page.evaluate(
        """async (encoded) => {
            const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
            return await window.PhotoFileType.check(new Blob([bytes]));
        }""",
        base64.b64encode(data).decode(),
    )


@pytest.mark.parametrize("kind", list(ACCEPTED))
def test_photos_the_server_accepts_pass_on_the_phone(judge_page, kind):
    """GIVEN a photo of a type the clinic accepts (or one that starts like it)
    WHEN the phone checks its first bytes
    THEN it is accepted, as the server's sniffing would let it through."""
    data = ACCEPTED[kind]
    judgement = phone_judges(judge_page, data)
    assert judgement["accepted"] is True, judgement
    assert detect(data[:65536]) in IMAGE_TYPES


@pytest.mark.parametrize("kind", list(REFUSED))
def test_files_the_server_refuses_are_refused_on_the_phone_in_plain_words(judge_page, kind):
    """GIVEN a file the clinic refuses as a photo (a document, an archive, a program,
    another picture format, a video, a web page, an empty or cut-off file)
    WHEN the phone checks its first bytes
    THEN it is refused before sending, with a reason that names what it is in plain
    words and asks for a photo, and the server's sniffing refuses it too."""
    data, words = REFUSED[kind]
    judgement = phone_judges(judge_page, data)
    assert judgement["accepted"] is False, judgement
    assert words in judgement["reason"]
    assert judgement["reason"].rstrip().endswith(".")
    assert "photo" in judgement["reason"]
    assert not any(term in judgement["reason"] for term in JARGON)
    assert detect(data[:65536]) not in IMAGE_TYPES
