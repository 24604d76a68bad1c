"""Where an image file keeps its pixel data, found by walking its structure.

The polyglot scan (``files.pipeline.sniffing``) looks for web markup in every byte of an
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

The walks themselves are ``files.pipeline.containers``'s, in lenient mode (cleaning takes the same
ones strictly). A walk that meets something malformed stops there: from that point on
every byte is scanned (a broken file is refused later anyway when it is decoded).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from files.pipeline.containers import (
    SOS,
    ContainerError,
    bmff_boxes,
    jpeg_segments,
    png_chunks,
    riff_chunks,
    webp_chunks,
)

JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
HEIF_TYPES = {"image/heic", "image/heif"}

# Compressed PNG text (zTXt, iTXt) is inflated to at most this to be scanned; Pillow
# itself refuses text chunks past 1 MB (``ImageFile.SAFEBLOCK``).
TEXT_INFLATE_LIMIT = 1024 * 1024
# MPO and gain-map JPEGs carry a few images one after another; no more are walked.
MAX_APPENDED_JPEGS = 8

_HEIF_METADATA_ITEMS = {b"Exif", b"mime", b"uri "}


class TooMuchText(Exception):
    """A compressed text chunk that inflates past ``TEXT_INFLATE_LIMIT``."""


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
        except (ContainerError, IndexError, ValueError):
            pass  # spans found so far stand; everything after them is scanned
    return layout


# --- JPEG -------------------------------------------------------------------


def _jpeg_walk(data: bytes, layout: Layout) -> None:
    start = 0
    for _ in range(MAX_APPENDED_JPEGS):
        for marker, _, _, end, following in jpeg_segments(data, start):
            if marker == SOS:  # its entropy-coded data, up to the next real marker
                layout.pixel_spans.append((end, following))
        end = following  # just after the EOI (a walk that found none has raised)
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
    for box_type, _, payload, box_end, _ in bmff_boxes(data, start, len(data)):
        if box_type == b"mdat":
            layout.pixel_spans.append((payload, box_end))


# --- PNG --------------------------------------------------------------------


def _png_walk(data: bytes, layout: Layout) -> None:
    for chunk_type, _, payload, payload_end, _ in png_chunks(data):
        if chunk_type in (b"IDAT", b"fdAT"):
            layout.pixel_spans.append((payload, payload_end))
        elif chunk_type in (b"zTXt", b"iTXt"):
            text = _png_compressed_text(chunk_type, data[payload:payload_end])
            if text is not None:
                layout.inflated_texts.append(text)
    # what follows IEND is trailing data: scanned


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
        if language_end < 0:
            return None
        translated_end = payload.find(b"\x00", language_end + 1)
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
    for fourcc, _, payload, payload_end, _ in webp_chunks(data, strict=False):
        if fourcc in _WEBP_PIXEL_CHUNKS:
            layout.pixel_spans.append((payload, payload_end))
        elif fourcc == b"ANMF" and payload_end - payload >= 16:
            # An animation frame: 16 bytes of frame header, then its own chunks (frames
            # inside frames are not walked).
            for inner, _, inner_payload, inner_end, _ in riff_chunks(
                data, payload + 16, payload_end, strict=False
            ):
                if inner in _WEBP_PIXEL_CHUNKS:
                    layout.pixel_spans.append((inner_payload, inner_end))


# --- HEIF / HEIC (ISO BMFF) -------------------------------------------------


def _heif_walk(data: bytes, layout: Layout) -> None:
    media_data, item_types, locations = [], {}, []
    for box_type, _, payload, box_end, _ in bmff_boxes(data, 0, len(data)):
        if box_type == b"mdat":
            media_data.append((payload, box_end))
        elif box_type == b"meta":
            for child_type, _, child_payload, child_end, _ in bmff_boxes(
                data, payload + 4, box_end
            ):
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
    for box_type, _, entry, _, _ in bmff_boxes(data, position, end):
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
            raise ContainerError("The HEIF's item locations do not parse.")
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
            if construction_method == 0 and length:  # a file offset, and not empty
                extents.append((item_id, base_offset + offset, base_offset + offset + length))
    return extents
