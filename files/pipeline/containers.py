"""The segments, chunks and boxes of an image file's container, walked in one place.

Two readers need the same walk for different ends:

- **cleaning** (``files.pipeline.cleaning``) rewrites the container without its metadata and
  refuses, with a reason, a file whose structure does not parse: it walks in *strict* mode;
- **the polyglot scan** (``files.pipeline.image_layout``) only needs to know where the pixel data
  lies, and where a structure breaks it stops and searches the rest of the file: it walks in
  *lenient* mode.

Each walker yields the parts of the file in order, as ``Part`` (its type, where it starts,
its payload, what follows it), and raises ``ContainerError`` with a reason a person can
read at the first thing that does not parse: a part longer than the file, a damaged CRC,
bytes where a marker should be. What the two modes read differently is only where a file
can be read on although it breaks its own format: a WebP whose RIFF size runs past the
end of the file, and bytes too few for a chunk header at the end of a RIFF body or an
animation frame. Strict refuses both; lenient reads the chunks up to the file's end, and
stops quietly at the stray bytes (they stay scanned as they are).

What is kept, dropped or counted as pixels is the readers' business, not the walk's.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from typing import NamedTuple

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
# Markers that stand alone (no length, no payload): TEM and the restart markers.
STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})
# In JPEG entropy-coded data 0xFF is followed by 0x00 (stuffing), a restart marker
# (D0-D7) or another 0xFF (fill); anything else starts the next segment. One 0xFF and the
# byte after it, no repetition: a run of fill bytes must not make the search quadratic.
JPEG_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ContainerError(ValueError):
    """The file's structure does not parse: a reason a person can read."""


class Part(NamedTuple):
    """One segment, chunk or box: ``data[start:next]`` is all of it."""

    kind: int | bytes  # a JPEG marker, or a chunk's or box's four-character type
    start: int  # its first byte: a marker's 0xFF, a chunk's or box's header
    payload: int  # its first byte after its header (and a JPEG segment's length)
    end: int  # the end of its payload
    next: int  # where what follows starts: after a PNG chunk's CRC, a RIFF chunk's padding
    # byte, or the entropy-coded data after a JPEG scan header (SOS)


# --- JPEG -----------------------------------------------------------------------------


def jpeg_segments(data: bytes, start: int = 0) -> Iterator[Part]:
    """The segments of the JPEG that starts at ``start``, from its SOI to its EOI (fill
    bytes before a marker skipped). An SOS part's ``end`` to ``next`` is its scan's
    entropy-coded data, up to the next marker that is neither stuffing nor a restart."""
    if not data.startswith(b"\xff\xd8", start):
        raise ContainerError("The JPEG does not start as a JPEG does.")
    position = start + 2
    yield Part(SOI, start, position, position, position)
    size = len(data)
    while True:
        if position + 2 > size or data[position] != 0xFF:
            raise ContainerError("The JPEG's segments do not follow each other as they should.")
        while position < size and data[position] == 0xFF:
            position += 1
        if position >= size:
            raise ContainerError("The JPEG ends before its end marker.")
        marker = data[position]
        position += 1
        if marker in (0x00, SOI):  # stuffing outside a scan, or a second start of image
            raise ContainerError("The JPEG's segments do not follow each other as they should.")
        if marker == EOI or marker in STANDALONE_MARKERS:
            yield Part(marker, position - 2, position, position, position)
            if marker == EOI:
                return
            continue
        if position + 2 > size:
            raise ContainerError("The JPEG ends in the middle of a segment.")
        length = int.from_bytes(data[position : position + 2], "big")
        end = position + length
        if length < 2 or end > size:
            raise ContainerError("The JPEG has a segment longer than the file.")
        following = end
        if marker == SOS:
            found = JPEG_SCAN_END.search(data, end)
            if found is None:
                raise ContainerError("The JPEG ends in the middle of its image data.")
            following = found.start()
        yield Part(marker, position - 2, position + 2, end, following)
        position = following


# --- PNG ------------------------------------------------------------------------------


def png_chunks(data: bytes) -> Iterator[Part]:
    """The chunks of a PNG, each with its CRC checked, up to and with IEND."""
    if not data.startswith(PNG_SIGNATURE):
        raise ContainerError("The PNG does not start as a PNG does.")
    view = memoryview(data)
    size = len(data)
    position = len(PNG_SIGNATURE)
    while True:
        if position + 8 > size:
            raise ContainerError("The PNG ends before its IEND chunk.")
        length = int.from_bytes(data[position : position + 4], "big")
        kind = bytes(data[position + 4 : position + 8])
        payload, end = position + 8, position + 8 + length
        if length > 0x7FFFFFFF or end + 4 > size:
            raise ContainerError("The PNG has a chunk longer than the file.")
        if zlib.crc32(view[position + 4 : end]) != int.from_bytes(data[end : end + 4], "big"):
            raise ContainerError(f"The PNG's {kind.decode('latin-1')} chunk is damaged.")
        yield Part(kind, position, payload, end, end + 4)
        if kind == b"IEND":
            return  # what follows is not part of the image
        position = end + 4


# --- WebP (RIFF) ----------------------------------------------------------------------


def webp_chunks(data: bytes, *, strict: bool) -> Iterator[Part]:
    """The top-level chunks of a WebP's RIFF body. Strict refuses a RIFF size past the end
    of the file; lenient reads the chunks up to the file's end."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":  # a shorter file has no b"WEBP" there
        raise ContainerError("The WebP does not start as a WebP does.")
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    if strict and (riff_end > len(data) or riff_end < 12):
        raise ContainerError("The WebP says it is longer than the file.")
    yield from riff_chunks(data, 12, min(riff_end, len(data)), strict=strict)


def riff_chunks(data: bytes, position: int, end: int, *, strict: bool) -> Iterator[Part]:
    """The chunks from ``position`` to ``end`` (a RIFF body, or an animation frame's chunks
    after its header); an odd-sized chunk is followed by a padding byte. Strict refuses
    bytes too few for a chunk header at the end; lenient stops there."""
    while position < end:
        if position + 8 > end:
            if strict:
                raise ContainerError("The WebP ends in the middle of a chunk header.")
            return
        kind = bytes(data[position : position + 4])
        length = int.from_bytes(data[position + 4 : position + 8], "little")
        payload, payload_end = position + 8, position + 8 + length
        if payload_end > end:
            raise ContainerError("The WebP has a chunk longer than the file.")
        following = payload_end + (length & 1)
        yield Part(kind, position, payload, payload_end, following)
        position = following


# --- ISO BMFF (HEIF/HEIC, MP4) --------------------------------------------------------


def bmff_boxes(data: bytes, position: int, end: int) -> Iterator[Part]:
    """The boxes from ``position`` to ``end``: a 32-bit size, a 64-bit one (size 1), or to
    the end (size 0). Bytes too few for a box header at the end are left alone."""
    while position + 8 <= end:
        size = int.from_bytes(data[position : position + 4], "big")
        kind = bytes(data[position + 4 : position + 8])
        header = 8
        if size == 1:
            size = int.from_bytes(data[position + 8 : position + 16], "big")
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            raise ContainerError("The file has a box longer than the file.")
        yield Part(kind, position, position + header, position + size, position + size)
        position += size
