"""What a file really is, decided from its bytes alone (never its name or declared type).

``sniff`` answers the detected MIME type, or raises ``FileRejected`` with a reason a
person can read: SVG, HTML, scripts, executables, archives, empty files, and
polyglots (a valid image or PDF that is also HTML or a ZIP archive).
"""

from __future__ import annotations

import re
import zipfile

from files.names import extension_of
from files.pipeline.image_layout import TEXT_INFLATE_LIMIT, TooMuchText, layout_of

HEAD_BYTES = 64 * 1024
# The bytes a browser reads to guess a type (WHATWG MIME Sniffing, "resource header"):
# markup anywhere in them is refused, whatever the format.
SNIFFED_BYTES = 1445

JPEG, PNG, WEBP, HEIC, HEIF, PDF = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "image/heif",
    "application/pdf",
)
IMAGE_TYPES = {JPEG, PNG, WEBP, HEIC, HEIF}
ALLOWED_BY_PURPOSE = {
    "photo": IMAGE_TYPES,
    "document": IMAGE_TYPES | {PDF},
}
TYPE_LABELS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WebP", HEIC: "HEIC", HEIF: "HEIF", PDF: "PDF"}
EXTENSION_KIND = {
    **dict.fromkeys(["jpg", "jpeg", "jpe", "jfif", "png", "webp", "heic", "heif", "hif"], "image"),
    "pdf": "document",
}
# Extensions of kinds we never accept: a name ending in one of these is a mismatch.
OTHER_EXTENSIONS = {
    "html",
    "htm",
    "xhtml",
    "shtml",
    "svg",
    "svgz",
    "js",
    "mjs",
    "php",
    "exe",
    "dll",
    "bat",
    "cmd",
    "sh",
    "ps1",
    "vbs",
    "scr",
    "msi",
    "com",
    "jar",
    "apk",
    "zip",
    "rar",
    "7z",
    "gz",
    "tgz",
    "tar",
    "bz2",
    "xz",
    "txt",
    "xml",
    "json",
    "csv",
    "doc",
    "docx",
    "xls",
    "xlsx",
    "ppt",
    "pptx",
    "rtf",
    "gif",
    "bmp",
    "tif",
    "tiff",
    "ico",
    "mp4",
    "mov",
    "avi",
    "mp3",
    "wav",
    "avif",
}
HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
HEIF_BRANDS = {b"mif1", b"msf1"}

# Markup that makes a browser (or a sniffing one) treat bytes as a page or a script.
ACTIVE_MARKUP = re.compile(
    rb"<\s*(?:script|html|!doctype\s+html|svg|iframe|body|object|embed|meta\s|\?php)"
    rb"|javascript:",
    re.IGNORECASE,
)


PDF_STREAM_TOKEN = re.compile(rb"\bendstream\b|\bstream\r?\n")


class FileRejected(Exception):
    """A file that will not be accepted; ``reason`` is shown to people."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def detect(head: bytes) -> str | None:
    """The allowed type the leading bytes announce, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp":
        box_size = int.from_bytes(head[:4], "big")
        brands = {head[8:12]} | {
            head[i : i + 4] for i in range(16, min(box_size, len(head), 256), 4)
        }
        if b"avif" in brands or b"avis" in brands:
            return None
        if head[8:12] in HEIC_BRANDS or brands & HEIC_BRANDS:
            return HEIC
        if head[8:12] in HEIF_BRANDS:
            return HEIF
        return None
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def describe_unwanted(head: bytes) -> str | None:
    """A reason for bytes that are a known unwanted kind, or None."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    lowered = stripped[:1024].lower()
    if b"<svg" in lowered or (lowered.startswith(b"<?xml") and b"<svg" in head.lower()):
        return "SVG images are not accepted: they can carry scripts."
    if lowered.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")) or (
        ACTIVE_MARKUP.search(lowered) and lowered.startswith(b"<")
    ):
        return "This is a web page (HTML), not a photo or a document."
    if lowered.startswith(b"<?xml") or lowered.startswith(b"<"):
        return "This is a text or XML file, not a photo or a document."
    if stripped.startswith(b"#!"):
        return "This is a script, which is not accepted."
    if (
        head.startswith(b"MZ")
        or head.startswith(b"\x7fELF")
        or head[:4]
        in {
            b"\xfe\xed\xfa\xce",
            b"\xfe\xed\xfa\xcf",
            b"\xce\xfa\xed\xfe",
            b"\xcf\xfa\xed\xfe",
            b"\xca\xfe\xba\xbe",
        }
    ):
        return "This is a program (executable), which is not accepted."
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")) or (
        head.startswith((b"BZh", b"\xfd7zXZ")) or head[257:262] == b"ustar"
    ):
        return "This is an archive (ZIP, RAR, 7z, gzip or tar), which is not accepted."
    return None


def scan_for_polyglot(fp, detected: str) -> str | None:
    """A reason when an accepted type also carries HTML/script or a ZIP archive.

    Images are searched everywhere except their pixel data (``files.pipeline.image_layout``):
    compressed pixels hold every short byte string by chance, and no program reads
    them as text. PDFs are searched outside their streams.
    """
    fp.seek(0)
    data = fp.read()
    fp.seek(0)
    if detected in IMAGE_TYPES:
        label = TYPE_LABELS[detected]
        try:
            layout = layout_of(data, detected)
        except TooMuchText:
            return (
                f"This {label} carries a compressed text block larger than "
                f"{TEXT_INFLATE_LIMIT // (1024 * 1024)} MB, which is not accepted."
            )
        if markup_outside_pixels(data, layout):
            return (
                f"This {label} also contains web page code (HTML or script), "
                "a trick used to attack browsers."
            )
    fp.seek(0)
    if zipfile.is_zipfile(fp):
        return f"This {TYPE_LABELS[detected]} is also a ZIP archive, which is not accepted."
    fp.seek(0)
    # Outside its (compressed, binary) streams a PDF is plain syntax: markup there, e.g.
    # a page appended after %%EOF, makes the file a PDF and HTML. What its objects do is
    # judged by parsing them (``files.pipeline.pdf_check``), which names what it found.
    if detected == PDF and ACTIVE_MARKUP.search(pdf_outside_streams(data)):
        return (
            "This PDF also contains web page code (HTML or script), "
            "a trick used to attack browsers."
        )
    fp.seek(0)
    return None


def pdf_outside_streams(data: bytes) -> bytes:
    """The PDF's bytes with each ``stream`` ... ``endstream`` body left out, in one pass
    (a regex with ``.*?`` between the two was quadratic on many unclosed ``stream``s).
    A stream never closed leaves everything after it in."""
    kept, position, opened_at = [], 0, None
    for token in PDF_STREAM_TOKEN.finditer(data):
        if opened_at is None and token[0].startswith(b"stream"):
            kept.append(data[position : token.start()])
            opened_at = token.start()
        elif opened_at is not None and token[0] == b"endstream":
            opened_at, position = None, token.end()
    kept.append(data[position if opened_at is None else opened_at :])
    return b"".join(kept)


def markup_outside_pixels(data: bytes, layout) -> bool:
    """Markup in the sniffed head, in any byte that is not pixel data, or in inflated text."""
    if ACTIVE_MARKUP.search(data, 0, SNIFFED_BYTES):
        return True
    spans = layout.scanned_spans(len(data))
    if any(ACTIVE_MARKUP.search(data, start, end) for start, end in spans):
        return True
    return any(ACTIVE_MARKUP.search(text) for text in layout.inflated_texts)


def sniff(fp, *, purpose: str, original_name: str = "", declared_type: str = "") -> str:
    """The detected MIME type of the file ``fp`` for ``purpose``, or ``FileRejected``."""
    fp.seek(0)
    head = fp.read(HEAD_BYTES)
    fp.seek(0)
    if not head:
        raise FileRejected("The file is empty.")
    detected = detect(head)
    if detected is None:
        raise FileRejected(
            describe_unwanted(head)
            or "The file type could not be recognised. Send a JPEG, PNG, WebP or HEIC photo"
            + (" or a PDF." if purpose == "document" else ".")
        )
    allowed = ALLOWED_BY_PURPOSE.get(purpose, set())
    if detected not in allowed:
        kinds = "JPEG, PNG, WebP or HEIC photos" + (" and PDFs" if purpose == "document" else "")
        raise FileRejected(
            f"{TYPE_LABELS[detected]} files are not accepted here; only {kinds} are."
        )
    mismatch = name_mismatch(detected, original_name, declared_type)
    if mismatch:
        raise FileRejected(mismatch)
    polyglot = scan_for_polyglot(fp, detected)
    if polyglot:
        raise FileRejected(polyglot)
    return detected


def name_mismatch(detected: str, original_name: str, declared_type: str) -> str | None:
    """A reason when the name or the declared type claim another kind of file."""
    kind = "document" if detected == PDF else "image"
    label = TYPE_LABELS[detected]
    extension = extension_of(original_name)
    claimed = EXTENSION_KIND.get(extension)
    if extension in OTHER_EXTENSIONS:
        return f"The file's name ends in .{extension[:16]} but its contents are a {label}."
    if claimed and claimed != kind:
        return f"The file is a {label} but its name says .{extension}."
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared and declared not in {"application/octet-stream", "binary/octet-stream"}:
        declared_kind = (
            "image" if declared.startswith("image/") else "document" if declared == PDF else "other"
        )
        if declared_kind != kind:
            return f"The file is a {label} but was sent as {declared[:60]}."
    return None
