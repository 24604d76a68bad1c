"""Lossless metadata removal: the camera's image kept byte for byte, its metadata gone.

Decoding a photo and encoding it again to drop its EXIF costs most of a photo's
processing time (a second or more for a large PNG) and stores a second-generation
image, so what a clinician zooms into is not what the patient's camera took. Here the
file's container is rewritten instead, keeping the image data untouched:

- **JPEG**: the segments are walked from SOI to EOI. Kept: JFIF/JFXX (APP0), ICC
  profiles (APP2 ``ICC_PROFILE``), Adobe (APP14, which says how to read the colours),
  the tables, frame and scan headers, and the entropy-coded data, byte for byte.
  Dropped: EXIF and XMP (APP1), IPTC/Photoshop (APP13), every other APPn, comments,
  and anything after EOI. Orientation is kept as the only EXIF tag (a new, minimal
  APP1), rather than turning the image with a lossless transform: a transform can
  only be lossless on whole MCUs, so a photo whose size is not a multiple of 8 or 16
  would lose its edge columns or keep a strip of garbage (jpegtran's ``-trim`` versus
  ``-perfect``), and every browser has applied EXIF orientation since 2020.
- **PNG**: the chunks are walked with their CRCs checked. Kept: the critical chunks and
  those that say how to show the pixels (``iCCP``, ``sRGB``, ``gAMA``, ``cHRM``,
  ``sBIT``, ``tRNS``, ``bKGD``, ``pHYs`` and APNG's frame chunks). Dropped: ``eXIf``,
  ``tEXt``, ``zTXt``, ``iTXt``, ``tIME`` and any chunk not on that list.
- **WebP**: the RIFF chunks are walked. ``EXIF`` and ``XMP `` are dropped (and their
  flags cleared in ``VP8X``), as is any chunk WebP does not define; the bitstream
  chunks are kept byte for byte.

No library does this without decoding (python-exiv2 rewrites metadata in place but
keeps what it does not know, and needs a compiled libexiv2; Pillow re-encodes), so the
walk is written here (``files.pipeline.containers``, shared with the polyglot scan), and strictly:
a file whose structure does not parse is refused with a reason, as the sniffing step
refuses it.

**HEIC/HEIF** are still decoded, turned upright and stored as JPEG for browsers
(``rendering.clean_original``); no cleaned HEIC original is kept beside it. No Python
library removes a HEIC's metadata without re-encoding: pillow-heif writes only by
encoding, and exiv2 reads HEIF (its BMFF support) but does not write it. exiftool can
(``-all=`` rewrites the ``meta`` box), but it is a Perl program that parses dozens of
formats, and running it on files patients send is the attack surface CVE-2021-22204 (code
execution from a crafted image) was; the portal does not.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from files.pipeline.containers import (
    PNG_SIGNATURE,
    SOS,
    ContainerError,
    jpeg_segments,
    png_chunks,
    webp_chunks,
)

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
LOSSLESS_TYPES = (JPEG, PNG, WEBP)
# EXIF orientations that show the stored pixels turned by 90 degrees (width and height swap).
SIDEWAYS_ORIENTATIONS = (5, 6, 7, 8)

# A structure that does not parse and one that cleaning refuses are refused alike: one
# error, carrying a reason a person can read.
CleaningError = ContainerError


@dataclass(frozen=True)
class CleanedImage:
    content: bytes
    content_type: str
    orientation: int  # the EXIF orientation kept (1 when none)


def clean_losslessly(data: bytes, content_type: str) -> CleanedImage:
    """``data`` without its metadata; raises ``CleaningError`` for a broken structure."""
    if content_type == JPEG:
        return jpeg_clean(data)
    if content_type == PNG:
        return CleanedImage(png_clean(data), PNG, 1)
    if content_type == WEBP:
        return CleanedImage(webp_clean(data), WEBP, 1)
    raise ValueError(f"no lossless cleaning for {content_type}")


# --- JPEG -----------------------------------------------------------------------------

APP0, APP1, APP2, APP14 = 0xE0, 0xE1, 0xE2, 0xEE
COM = 0xFE
EXIF_HEADER = b"Exif\x00\x00"
ORIENTATION_TAG = 0x0112


def jpeg_clean(data: bytes) -> CleanedImage:
    kept = []
    orientation = 1
    seen_frame = False
    exif_slot = None  # where the orientation segment goes: after JFIF, or first
    for marker, start, payload, end, following in jpeg_segments(data):
        segment = data[start:end]  # from its marker: fill bytes before it dropped
        body = data[payload:end]
        if marker == SOS:
            if not seen_frame:
                raise CleaningError("The JPEG has image data before its frame header.")
            kept.append(memoryview(data)[start:following])  # no copy until the join
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            seen_frame = True
        if marker == APP1 and body.startswith(EXIF_HEADER):
            orientation = exif_orientation(body[len(EXIF_HEADER) :]) or orientation
        elif marker == APP0 and body[:5] in (b"JFIF\x00", b"JFXX\x00"):
            kept.append(segment)
            exif_slot = len(kept)
        elif (marker == APP2 and body.startswith(b"ICC_PROFILE\x00")) or (
            marker == APP14 and body.startswith(b"Adobe")
        ):
            kept.append(segment)
        elif 0xE0 <= marker <= 0xEF or marker == COM:
            pass  # EXIF, XMP, IPTC/Photoshop, maker APPn, comments: dropped
        else:
            kept.append(segment)  # tables, frame header, restart interval, SOI, RSTn, EOI
    if not seen_frame:
        raise CleaningError("The JPEG has no frame header.")
    if orientation != 1:
        kept.insert(exif_slot or 1, orientation_segment(orientation))
    return CleanedImage(b"".join(kept), JPEG, orientation)  # anything after EOI dropped


def exif_orientation(tiff: bytes) -> int | None:
    """The Orientation tag of IFD0, or None when absent or unreadable."""
    if tiff[:2] == b"II":
        order = "<"
    elif tiff[:2] == b"MM":
        order = ">"
    else:
        return None
    try:
        (ifd_offset,) = struct.unpack(order + "I", tiff[4:8])
        (count,) = struct.unpack(order + "H", tiff[ifd_offset : ifd_offset + 2])
        for index in range(count):
            entry = ifd_offset + 2 + index * 12
            tag, kind = struct.unpack(order + "HH", tiff[entry : entry + 4])
            if tag == ORIENTATION_TAG and kind == 3:
                (value,) = struct.unpack(order + "H", tiff[entry + 8 : entry + 10])
                return value if 1 <= value <= 8 else None
    except struct.error:
        return None
    return None


def orientation_segment(orientation: int) -> bytes:
    """An APP1 EXIF segment holding one tag, Orientation, and nothing else."""
    tiff = (
        b"MM\x00\x2a\x00\x00\x00\x08"  # big-endian TIFF header, IFD0 at offset 8
        + struct.pack(">H", 1)
        + struct.pack(">HHIHH", ORIENTATION_TAG, 3, 1, orientation, 0)
        + struct.pack(">I", 0)  # no next IFD
    )
    body = EXIF_HEADER + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


# --- PNG ------------------------------------------------------------------------------

PNG_KEPT = {
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"iCCP",
    b"sRGB",
    b"gAMA",
    b"cHRM",
    b"sBIT",
    b"tRNS",
    b"bKGD",
    b"pHYs",
    b"acTL",
    b"fcTL",
    b"fdAT",
}


def png_clean(data: bytes) -> bytes:
    kept = [PNG_SIGNATURE]
    for kind, start, _, _, following in png_chunks(data):
        if start == len(PNG_SIGNATURE) and kind != b"IHDR":
            raise CleaningError("The PNG does not start with its header chunk.")
        if kind in PNG_KEPT:
            kept.append(data[start:following])
        elif not kind[:1].islower():
            raise CleaningError(f"The PNG has a critical chunk no viewer knows ({kind!r}).")
    return b"".join(kept)  # anything after IEND dropped


# --- WebP -----------------------------------------------------------------------------

WEBP_KEPT = {b"VP8 ", b"VP8L", b"VP8X", b"ANIM", b"ANMF", b"ALPH", b"ICCP"}
VP8X_EXIF_FLAG = 0x08
VP8X_XMP_FLAG = 0x04


def webp_clean(data: bytes) -> bytes:
    kept = []
    has_bitstream = False
    for kind, start, payload, end, _ in webp_chunks(data, strict=True):
        chunk = data[start:end]
        if kind == b"VP8X":
            if end - payload < 10:
                raise CleaningError("The WebP's extended header is too short.")
            flags = chunk[8] & ~(VP8X_EXIF_FLAG | VP8X_XMP_FLAG)
            chunk = chunk[:8] + bytes((flags,)) + chunk[9:]
        if kind in (b"VP8 ", b"VP8L", b"ANMF"):
            has_bitstream = True
        if kind in WEBP_KEPT:
            kept.append(chunk + (b"\x00" if len(chunk) % 2 else b""))  # its padding byte
    if not has_bitstream:
        raise CleaningError("The WebP has no image data.")
    body = b"WEBP" + b"".join(kept)
    return b"RIFF" + struct.pack("<I", len(body)) + body
