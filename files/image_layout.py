"""Where an image file keeps its pixel data, found by walking its structure.

The polyglot scan (``files.sniffing``) looks for web markup in every byte of an
upload *except* its compressed pixel data: there, any byte string occurs by chance
(``<svg`` about once in 500 MB), so searching it refused about 1% of 5 MB photos.
Markup can only act where a program reads it as text: the first bytes a browser
sniffs, text and metadata chunks, and bytes outside the image (after its end
marker, between or around its chunks). So each format is walked as its decoder
reads it, and only the spans that are pixel data are left out:

* JPEG: the segment walk up to each SOS, then the entropy-coded data up to the next
  marker that is not a restart or a stuffed byte (progressive files have many
  scans); EOI ends the image. Images appended after EOI (MPO, Ultra HDR gain maps)
  are walked the same way, and so is a motion photo's MP4 (its ``mdat`` is media
  data); anything else after EOI is trailing data.
* PNG: the chunk walk with CRCs; IDAT and fdAT (APNG) payloads are pixel data;
  zTXt and compressed iTXt are inflated (bounded) so their text is scanned too.
* WebP: the RIFF walk; VP8, VP8L and ALPH payloads (also inside ANMF frames) are
  pixel data; bytes past the RIFF size are trailing data.
* HEIF/HEIC: the box walk; in ``mdat`` the extents that ``iloc`` gives to coded
  image items are pixel data, so Exif and XMP items, and unreferenced bytes, are
  still scanned.

A walk that meets something malformed stops there: from that point on every
byte is scanned (a broken file is refused later anyway when it is decoded).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
HEIF_TYPES = {"image/heic", "image/heif"}

# Compressed PNG text (zTXt, iTXt) is inflated to at most this to be scanned; Pillow
# itself refuses text chunks past 1 MB (``ImageFile.SAFEBLOCK``).
TEXT_INFLATE_LIMIT = 1024 * 1024
# MPO and gain-map JPEGs carry a few images one after another; no more are walked.
MAX_APPENDED_JPEGS = 8

# In JPEG entropy-coded data 0xFF is followed by 0x00 (stuffing), a restart marker
# (D0-D7) or another 0xFF (fill); anything else starts the next segment. One 0xFF and the
# byte after it, no repetition: a run of fill bytes must not make the search quadratic.
# files.cleaning finds the end of a scan with it too.
JPEG_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_HEIF_METADATA_ITEMS = {b"Exif", b"mime", b"uri "}


class TooMuchText(Exception):
    """A compressed text chunk that inflates past ``TEXT_INFLATE_LIMIT``."""


class _Malformed(Exception):
    """The walk cannot go on: the rest of the file is scanned as it is."""


@dataclass
class Layout:
    """What the scan may leave out, and text that only exists once inflated."""

    pixel_spans: list[tuple[int, int]] = field(default_factory=list)
    inflated_texts: list[bytes] = field(default_factory=list)

    def scanned_spans(self, size: int) -> list[tuple[int, int]]:
        """Every byte range of a file of ``size`` bytes that is not pixel data."""
        spans, position = [], 0
        for start, end in sorted(self.pixel_spans):
            start, end = max(start, position), min(end, size)
            if start >= end:
                continue
            spans.append((position, start))
            position = end
        spans.append((position, size))
        return [(start, end) for start, end in spans if end > start]


def layout_of(data: bytes, mime_type: str) -> Layout:
    """The pixel-data spans (and inflated text) of ``data``, a file of ``mime_type``."""
    layout = Layout()
    walk = {JPEG: _jpeg_walk, PNG: _png_walk, WEBP: _riff_walk}.get(mime_type)
    if walk is None and mime_type in HEIF_TYPES:
        walk = _heif_walk
    if walk is not None:
        try:
            walk(data, layout)
        except (_Malformed, IndexError, ValueError):
            pass  # spans found so far stand; everything after them is scanned
    return layout


# --- JPEG -------------------------------------------------------------------


def _jpeg_walk(data: bytes, layout: Layout) -> None:
    start = 0
    for _ in range(MAX_APPENDED_JPEGS):
        end = _jpeg_one(data, start, layout)
        if data[end + 4 : end + 8] == b"ftyp":
            # A motion photo (Pixel, Samsung): an MP4 right after the still. Its media
            # data is skipped like pixels; its other boxes, and anything after, are not.
            _media_data_walk(data, end, layout)
            return
        if not data.startswith(b"\xff\xd8\xff", end):
            return  # what follows EOI (if anything) is trailing data: scanned
        start = end


def _media_data_walk(data: bytes, start: int, layout: Layout) -> None:
    """The top-level boxes of an ISO BMFF file (MP4) from ``start``: ``mdat`` payloads are
    media data; a malformed box stops the walk (the rest is scanned)."""
    for box_type, payload, box_end in _boxes(data, start, len(data)):
        if box_type == b"mdat":
            layout.pixel_spans.append((payload, box_end))


def _jpeg_one(data: bytes, start: int, layout: Layout) -> int:
    """Walk one JPEG from its SOI; the offset just after its EOI."""
    size = len(data)
    position = start + 2
    while True:
        if position + 2 > size or data[position] != 0xFF:
            raise _Malformed
        marker = data[position + 1]
        if marker == 0xFF:  # a fill byte before the marker
            position += 1
            continue
        if marker == 0xD9:  # EOI
            return position + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length, no payload
            position += 2
            continue
        if marker in (0x00, 0xD8) or position + 4 > size:
            raise _Malformed
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        segment_end = position + 2 + length
        if length < 2 or segment_end > size:
            raise _Malformed
        position = segment_end
        if marker == 0xDA:  # SOS: entropy-coded data up to the next real marker
            found = JPEG_SCAN_END.search(data, position)
            if found is None:
                raise _Malformed  # truncated: no marker ends the scan
            layout.pixel_spans.append((position, found.start()))
            position = found.start()


# --- PNG --------------------------------------------------------------------


def _png_walk(data: bytes, layout: Layout) -> None:
    view = memoryview(data)
    size = len(data)
    position = 8
    while position + 12 <= size:
        length = int.from_bytes(data[position : position + 4], "big")
        chunk_type = bytes(data[position + 4 : position + 8])
        payload, payload_end = position + 8, position + 8 + length
        if length > 0x7FFFFFFF or payload_end + 4 > size:
            raise _Malformed
        crc = int.from_bytes(data[payload_end : payload_end + 4], "big")
        if zlib.crc32(view[position + 4 : payload_end]) != crc:
            raise _Malformed
        if chunk_type in (b"IDAT", b"fdAT"):
            layout.pixel_spans.append((payload, payload_end))
        elif chunk_type in (b"zTXt", b"iTXt"):
            text = _png_compressed_text(chunk_type, bytes(view[payload:payload_end]))
            if text is not None:
                layout.inflated_texts.append(text)
        position = payload_end + 4
        if chunk_type == b"IEND":
            return  # what follows is trailing data: scanned


def _png_compressed_text(chunk_type: bytes, payload: bytes) -> bytes | None:
    """The inflated text of a zTXt or compressed iTXt chunk (None: nothing compressed)."""
    keyword_end = payload.find(b"\x00")
    if keyword_end < 0:
        return None
    if chunk_type == b"zTXt":
        compressed = payload[keyword_end + 2 :]
    else:
        if payload[keyword_end + 1 : keyword_end + 2] != b"\x01":
            return None  # uncompressed iTXt: its bytes are scanned where they are
        language_end = payload.find(b"\x00", keyword_end + 3)
        translated_end = payload.find(b"\x00", language_end + 1) if language_end >= 0 else -1
        if translated_end < 0:
            return None
        compressed = payload[translated_end + 1 :]
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(compressed, TEXT_INFLATE_LIMIT)
    except zlib.error:
        return None  # not inflatable: the raw bytes are still scanned
    if inflater.unconsumed_tail:
        raise TooMuchText
    return text


# --- WebP (RIFF) ------------------------------------------------------------

_WEBP_PIXEL_CHUNKS = {b"VP8 ", b"VP8L", b"ALPH"}


def _riff_walk(data: bytes, layout: Layout) -> None:
    riff_end = min(8 + int.from_bytes(data[4:8], "little"), len(data))
    _riff_chunks(data, 12, riff_end, layout, nested=False)


def _riff_chunks(data: bytes, position: int, end: int, layout: Layout, *, nested: bool) -> None:
    while position + 8 <= end:
        fourcc = bytes(data[position : position + 4])
        length = int.from_bytes(data[position + 4 : position + 8], "little")
        payload, payload_end = position + 8, position + 8 + length
        if payload_end > end:
            raise _Malformed
        if fourcc in _WEBP_PIXEL_CHUNKS:
            layout.pixel_spans.append((payload, payload_end))
        elif fourcc == b"ANMF" and not nested and length >= 16:
            # An animation frame: 16 bytes of frame header, then its own chunks.
            _riff_chunks(data, payload + 16, payload_end, layout, nested=True)
        position = payload_end + (length & 1)


# --- HEIF / HEIC (ISO BMFF) -------------------------------------------------


def _boxes(data: bytes, position: int, end: int):
    """(type, payload start, box end) of each box between ``position`` and ``end``."""
    while position + 8 <= end:
        size = int.from_bytes(data[position : position + 4], "big")
        box_type = bytes(data[position + 4 : position + 8])
        header = 8
        if size == 1:
            size = int.from_bytes(data[position + 8 : position + 16], "big")
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            raise _Malformed
        yield box_type, position + header, position + size
        position += size


def _heif_walk(data: bytes, layout: Layout) -> None:
    media_data, item_types, locations = [], {}, []
    for box_type, payload, box_end in _boxes(data, 0, len(data)):
        if box_type == b"mdat":
            media_data.append((payload, box_end))
        elif box_type == b"meta":
            for child_type, child_payload, child_end in _boxes(data, payload + 4, box_end):
                if child_type == b"iinf":
                    item_types.update(_heif_item_types(data, child_payload, child_end))
                elif child_type == b"iloc":
                    locations = _heif_item_locations(data, child_payload, child_end)
    for item_id, start, end in locations:
        if item_types.get(item_id) in _HEIF_METADATA_ITEMS:
            continue
        for mdat_start, mdat_end in media_data:  # only ever leave out bytes inside mdat
            span = (max(start, mdat_start), min(end, mdat_end))
            if span[0] < span[1]:
                layout.pixel_spans.append(span)


def _heif_item_types(data: bytes, payload: int, end: int) -> dict[int, bytes]:
    version = data[payload]
    position = payload + 4 + (2 if version == 0 else 4)  # entry count
    types = {}
    for box_type, entry, _ in _boxes(data, position, end):
        if box_type != b"infe":
            continue
        entry_version = data[entry]
        if entry_version < 2:
            continue  # old item entries carry no type; such items stay scanned
        id_size = 2 if entry_version == 2 else 4
        item_id = int.from_bytes(data[entry + 4 : entry + 4 + id_size], "big")
        type_at = entry + 4 + id_size + 2
        types[item_id] = bytes(data[type_at : type_at + 4])
    return types


def _heif_item_locations(data: bytes, payload: int, end: int) -> list[tuple[int, int, int]]:
    """(item id, start, end) of each file-offset extent ``iloc`` lists."""
    version = data[payload]
    sizes = data[payload + 4], data[payload + 5]
    offset_size, length_size = sizes[0] >> 4, sizes[0] & 0x0F
    base_offset_size = sizes[1] >> 4
    index_size = sizes[1] & 0x0F if version in (1, 2) else 0
    position = payload + 6

    def read(width: int) -> int:
        nonlocal position
        if width not in (0, 2, 4, 8) or position + width > end:
            raise _Malformed
        value = int.from_bytes(data[position : position + width], "big")
        position += width
        return value

    item_count = read(2 if version < 2 else 4)
    extents = []
    for _ in range(item_count):
        item_id = read(2 if version < 2 else 4)
        construction_method = read(2) & 0x0F if version in (1, 2) else 0
        read(2)  # data reference index
        base_offset = read(base_offset_size)
        for _ in range(read(2)):
            read(index_size)
            offset, length = read(offset_size), read(length_size)
            if construction_method == 0 and length > 0:
                extents.append((item_id, base_offset + offset, base_offset + offset + length))
    return extents
