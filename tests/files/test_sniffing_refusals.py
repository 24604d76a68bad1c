"""Every kind of file the portal refuses by its bytes, name or declared type, each with the
reason a person reads: SVG, web pages, text and XML, scripts, programs of every platform,
archives of every kind, empty and unrecognised files; a type not taken for the purpose; a
name or a declared type that claims another kind; an image or PDF that is also a ZIP
archive or a web page, or carries a compressed text bomb. Refusals are asserted word for
word, at their boundaries (where in the file the markup starts, how long a type is)."""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
import zlib

import pytest

from files.pipeline.sniffing import FileRejected, sniff
from tests.files import samples
from tests.files.pdfs import build, page_with, stream

SVG = "SVG images are not accepted: they can carry scripts."
HTML = "This is a web page (HTML), not a photo or a document."
TEXT = "This is a text or XML file, not a photo or a document."
SCRIPT = "This is a script, which is not accepted."
PROGRAM = "This is a program (executable), which is not accepted."
ARCHIVE = "This is an archive (ZIP, RAR, 7z, gzip or tar), which is not accepted."
UNKNOWN_DOCUMENT = (
    "The file type could not be recognised. Send a JPEG, PNG, WebP or HEIC photo or a PDF."
)
UNKNOWN_PHOTO = "The file type could not be recognised. Send a JPEG, PNG, WebP or HEIC photo."


def refusal(data: bytes, *, purpose="document", name="", declared="") -> str:
    """The reason ``sniff`` gives for ``data`` (failing the test when it accepts it)."""
    with pytest.raises(FileRejected) as refused:
        sniff(io.BytesIO(data), purpose=purpose, original_name=name, declared_type=declared)
    return refused.value.reason


def tar_archive() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo("notes.txt")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"hello"))
    return out.getvalue()


def zip_archive(*, empty: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        if not empty:
            archive.writestr("notes.txt", "hello")
    return out.getvalue()


UNWANTED = {
    "SVG": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>', SVG),
    "SVG after a byte-order mark and blank lines": (b"\xef\xbb\xbf\r\n \t<svg/>", SVG),
    "SVG after a long XML prologue": (
        b'<?xml version="1.0"?>\n<!--' + b"x" * 2000 + b"-->\n<svg/>",
        SVG,
    ),
    "SVG whose tag ends the first 1024 bytes": (b"<a>" + b" " * 1017 + b"<svg/>", SVG),
    "an SVG tag one byte past them": (b"<a>" + b" " * 1018 + b"<svg/>", TEXT),
    "HTML by its doctype": (b"<!DOCTYPE html><p>hi", HTML),
    "HTML by its html tag": (b"<HTML><p>hi", HTML),
    "HTML by its head tag": (b"<head><title>x", HTML),
    "HTML by its body tag": (b"<body onload=x()>", HTML),
    "HTML by a script tag": (b"<script>x()</script>", HTML),
    "HTML by an iframe further in": (b"<div><p>hello</p><iframe src=x>", HTML),
    "XML": (b'<?xml version="1.0"?><note>hi</note>', TEXT),
    "other markup": (b"<note>hi</note>", TEXT),
    "text naming a script tag": (b"hello <script> is a word here", UNKNOWN_DOCUMENT),
    "shell script": (b"#!/bin/sh\nrm -rf /\n", SCRIPT),
    "script after blank lines": (b"\n\n  #!/usr/bin/env python\n", SCRIPT),
    "Windows program": (b"MZ\x90\x00\x03" + b"\x00" * 60, PROGRAM),
    "Linux program": (b"\x7fELF\x02\x01\x01" + b"\x00" * 60, PROGRAM),
    "Mach-O 32-bit, big-endian": (b"\xfe\xed\xfa\xce" + b"\x00" * 60, PROGRAM),
    "Mach-O 64-bit, big-endian": (b"\xfe\xed\xfa\xcf" + b"\x00" * 60, PROGRAM),
    "Mach-O 32-bit, little-endian": (b"\xce\xfa\xed\xfe" + b"\x00" * 60, PROGRAM),
    "Mach-O 64-bit, little-endian": (b"\xcf\xfa\xed\xfe" + b"\x00" * 60, PROGRAM),
    "Mach-O universal": (b"\xca\xfe\xba\xbe" + b"\x00" * 60, PROGRAM),
    "ZIP": (zip_archive(), ARCHIVE),
    "empty ZIP": (zip_archive(empty=True), ARCHIVE),
    "RAR": (b"Rar!\x1a\x07\x01\x00" + b"\x00" * 40, ARCHIVE),
    "7z": (b"7z\xbc\xaf\x27\x1c" + b"\x00" * 40, ARCHIVE),
    "gzip": (b"\x1f\x8b\x08\x00" + b"\x00" * 40, ARCHIVE),
    "bzip2": (b"BZh91AY&SY" + b"\x00" * 40, ARCHIVE),
    "xz": (b"\xfd7zXZ\x00" + b"\x00" * 40, ARCHIVE),
    "tar": (tar_archive(), ARCHIVE),
    "plain text": (b"Dear doctor, please find attached", UNKNOWN_DOCUMENT),
}


@pytest.mark.parametrize("name", list(UNWANTED))
def test_each_unwanted_kind_is_refused_with_its_own_reason(name):
    """GIVEN bytes of a kind the portal never takes WHEN sent as a document THEN refused,
    the reason naming what it is."""
    data, reason = UNWANTED[name]
    assert refusal(data) == reason


def test_tar_is_known_by_its_ustar_mark_where_tar_puts_it():
    """GIVEN 512 bytes with "ustar" at offset 257 (a tar header) and nothing else to go by
    THEN an archive; the same bytes one place either side THEN an unrecognised file."""
    for offset, reason in ((257, ARCHIVE), (256, UNKNOWN_DOCUMENT), (258, UNKNOWN_DOCUMENT)):
        data = bytearray(b"notes.txt".ljust(512, b"\x01"))
        data[offset : offset + 5] = b"ustar"
        assert refusal(bytes(data)) == reason, offset


def test_an_unrecognised_file_is_told_what_to_send_for_its_purpose():
    """GIVEN bytes of no known kind THEN a photo's door asks for a photo, a document's door
    for a photo or a PDF."""
    assert refusal(b"GIF89a\x01\x00", purpose="photo") == UNKNOWN_PHOTO
    assert refusal(b"GIF89a\x01\x00", purpose="document") == UNKNOWN_DOCUMENT


@pytest.mark.parametrize("purpose", ["photo", "document"])
def test_an_empty_file_is_refused_as_empty(purpose):
    assert refusal(b"", purpose=purpose) == "The file is empty."


def test_a_pdf_where_only_photos_are_taken_is_refused_naming_what_is():
    """GIVEN a PDF sent where only photos are taken THEN refused, listing what is taken."""
    assert refusal(samples.pdf(), purpose="photo", name="letter.pdf") == (
        "PDF files are not accepted here; only JPEG, PNG, WebP or HEIC photos are."
    )


NAMES = [
    ("photo.exe", "jpeg", "The file's name ends in .exe but its contents are a JPEG."),
    ("photo.SVG", "jpeg", "The file's name ends in .svg but its contents are a JPEG."),
    ("photo.pdf", "jpeg", "The file is a JPEG but its name says .pdf."),
    ("letter.jpg", "pdf", "The file is a PDF but its name says .jpg."),
    ("letter.html", "pdf", "The file's name ends in .html but its contents are a PDF."),
]


@pytest.mark.parametrize(("name", "kind", "reason"), NAMES)
def test_a_name_that_claims_another_kind_is_refused(name, kind, reason):
    data = samples.jpeg() if kind == "jpeg" else samples.pdf()
    assert refusal(data, name=name) == reason


DECLARED_REFUSED = [
    ("jpeg", "application/pdf", "The file is a JPEG but was sent as application/pdf."),
    ("pdf", "image/jpeg", "The file is a PDF but was sent as image/jpeg."),
    ("jpeg", "text/html; charset=utf-8", "The file is a JPEG but was sent as text/html."),
    ("jpeg", " TEXT/HTML ", "The file is a JPEG but was sent as text/html."),
    (
        "pdf",
        "application/x-" + "a" * 60,
        f"The file is a PDF but was sent as application/x-{'a' * 46}.",
    ),
]


@pytest.mark.parametrize(("kind", "declared", "reason"), DECLARED_REFUSED)
def test_a_declared_type_of_another_kind_is_refused(kind, declared, reason):
    """GIVEN a file sent with a Content-Type of another kind THEN refused, naming the type
    sent (its parameters left off, at most 60 characters of it)."""
    data = samples.jpeg() if kind == "jpeg" else samples.pdf()
    assert refusal(data, declared=declared) == reason


@pytest.mark.parametrize(
    ("kind", "declared"),
    [
        ("jpeg", "application/octet-stream"),
        ("pdf", "binary/octet-stream"),
        ("jpeg", "image/png"),
        ("jpeg", "IMAGE/JPEG; q=1"),
        ("pdf", "application/pdf"),
        ("jpeg", ""),
    ],
)
def test_a_declared_type_of_the_same_kind_or_of_no_kind_is_accepted(kind, declared):
    """GIVEN a file sent as "some bytes" (either octet-stream), as another type of its own
    kind, or with no type THEN it is accepted as what its bytes are."""
    data = samples.jpeg() if kind == "jpeg" else samples.pdf()
    expected = "image/jpeg" if kind == "jpeg" else "application/pdf"
    assert sniff(io.BytesIO(data), purpose="document", declared_type=declared) == expected


def test_an_image_that_is_also_a_zip_archive_is_refused():
    """GIVEN a JPEG with a ZIP archive appended (both programs open it) THEN refused."""
    assert refusal(samples.jpeg() + zip_archive(), name="photo.jpg") == (
        "This JPEG is also a ZIP archive, which is not accepted."
    )


PDF_POLYGLOT = (
    "This PDF also contains web page code (HTML or script), a trick used to attack browsers."
)


def test_a_pdf_with_markup_before_its_first_stream_is_refused():
    """GIVEN a PDF whose syntax before any stream holds a script tag THEN refused."""
    data = build(
        {4: b"<< /Note (<script>x()</script>) >>", 5: stream(b"BT ET")},
        page=page_with(b"/Contents 5 0 R"),
    )
    assert refusal(data) == PDF_POLYGLOT


def test_a_pdf_with_markup_before_a_stray_endstream_is_refused():
    """GIVEN a PDF whose syntax holds a script tag and then a stray "endstream" (no stream
    open) THEN refused: a stray end does not hide what came before it."""
    data = build({4: b"<< /Note (<script>x()</script>) >> endstream"})
    assert refusal(data) == PDF_POLYGLOT


def test_a_stream_that_mentions_the_word_stream_stays_a_stream():
    """GIVEN a PDF whose stream body holds markup around the word "stream" at a line's end
    THEN accepted: inside a stream is pixels or page text, until its "endstream"."""
    body = b"<script> stream\n<script>"
    data = build({4: stream(body)}, page=page_with(b"/Contents 4 0 R"))
    assert sniff(io.BytesIO(data), purpose="document") == "application/pdf"


def png_with_text_chunk(text: bytes) -> bytes:
    png = samples.png()
    payload = b"Comment\x00\x00" + zlib.compress(text, 9)
    chunk = struct.pack(">I", len(payload)) + b"zTXt" + payload
    chunk += struct.pack(">I", zlib.crc32(b"zTXt" + payload))
    end = png.rindex(b"IEND") - 4
    return png[:end] + chunk + png[end:]


def test_a_compressed_text_block_over_a_megabyte_is_refused_naming_the_limit():
    """GIVEN a PNG whose zTXt text inflates past 1 MB THEN refused, saying 1 MB; at 1 MB
    exactly it is read (and accepted)."""
    assert refusal(png_with_text_chunk(b"a" * (1024 * 1024 + 1)), name="scan.png") == (
        "This PNG carries a compressed text block larger than 1 MB, which is not accepted."
    )
    accepted = png_with_text_chunk(b"a" * (1024 * 1024))
    assert sniff(io.BytesIO(accepted), purpose="photo", original_name="scan.png") == "image/png"
