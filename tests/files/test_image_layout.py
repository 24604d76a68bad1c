"""Which bytes of an image the polyglot scan searches for markup: every byte but pixel data.

Hand-made files, byte for byte, for each format's walk (JPEG segments and scans, appended
JPEGs and a motion photo's MP4, PNG chunks and their compressed text, WebP's RIFF chunks and
animation frames, HEIF's boxes and ``iloc`` extents of each version and field width), each
asserting exactly which spans are left out as pixels, and that a structure broken at any
point stops the walk there, so everything after it is searched. Markup placed in a byte that
is not pixel data is refused by the scan (the user's reason), and in pixel data is not."""

from __future__ import annotations

import io
import struct
import zlib

import pytest

from files.pipeline.image_layout import JPEG, PNG, WEBP, Layout, TooMuchText, layout_of
from files.pipeline.sniffing import FileRejected, sniff

# --- JPEG -----------------------------------------------------------------------------------


def segment(marker: int, payload: bytes = b"") -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


SOS = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
SCAN = b"\x12\x34\xff\x00\x56\xff\xd0\x78\xff\xd7\x9a\xbc"  # stuffing, restarts


def jpeg(*middle: bytes, scan: bytes = SCAN, end: bytes = b"\xff\xd9") -> bytes:
    return b"\xff\xd8" + segment(0xE0, b"JFIF\x00") + b"".join(middle) + SOS + scan + end


def spans(data: bytes, mime_type: str) -> list[tuple[int, int]]:
    return layout_of(data, mime_type).pixel_spans


def scan_span(data: bytes, scan: bytes = SCAN, start_search: int = 0) -> tuple[int, int]:
    start = data.index(SOS, start_search) + len(SOS)
    return start, start + len(scan)


def test_a_jpeg_scan_is_pixels_up_to_the_marker_after_it():
    """Stuffed bytes, restart markers (D0 and D7) and fill bytes do not end the scan; EOI
    does."""
    data = jpeg()
    assert spans(data, JPEG) == [scan_span(data)]


@pytest.mark.parametrize(
    "between",
    [
        b"\xff\xd0",  # a restart marker between segments: no length
        b"\xff\xd7",
        b"\xff\x01",  # TEM: no length
        b"\xff\xff\xff",  # fill bytes before the next marker
        segment(0xFE, b"a comment"),
        segment(0xE1, b""),  # an empty segment: length 2
    ],
    ids=["RST0", "RST7", "TEM", "fill", "comment", "empty APP1"],
)
def test_markers_without_payload_and_fill_bytes_are_stepped_over(between):
    data = jpeg(between)
    assert spans(data, JPEG) == [scan_span(data)]


@pytest.mark.parametrize(
    "broken",
    [
        b"\xff\xd8",  # a second SOI inside the image
        b"\xff\x00",  # stuffing outside a scan
        b"\xff\xcf",  # a marker with a length too short to hold itself
        b"\x00\x00",  # not a marker at all
        segment(0xE1, b"x")[:2] + b"\x00\x01",  # length 1
    ],
    ids=["SOI again", "stuffing", "short length", "no marker", "length 1"],
)
def test_a_broken_jpeg_structure_stops_the_walk(broken):
    """GIVEN something that is no segment before the scan THEN no span is left out: the
    whole file is searched."""
    data = jpeg(broken)
    assert spans(data, JPEG) == []


@pytest.mark.parametrize("cut", [1, 2, 3, 4, 5])
def test_a_jpeg_cut_inside_a_segment_header_stops_the_walk(cut):
    """GIVEN a JPEG cut ``cut`` bytes into a segment (its marker or its length) THEN the
    walk stops there, nothing is left out and nothing fails."""
    head = b"\xff\xd8" + segment(0xE0, b"JFIF\x00")
    data = head + segment(0xE1, b"abcdef")[:cut]
    assert spans(data, JPEG) == []


def test_a_segment_reaching_past_the_end_stops_the_walk():
    data = b"\xff\xd8" + segment(0xE1, b"abcdef")[:-1]
    assert spans(data, JPEG) == []
    exact = b"\xff\xd8" + segment(0xE1, b"abcdef") + SOS + SCAN + b"\xff\xd9"
    assert spans(exact, JPEG) == [scan_span(exact)]


def test_a_scan_no_marker_ends_is_not_left_out():
    """GIVEN a scan that runs to the end of the file (truncated) THEN not pixels: searched."""
    assert spans(jpeg(end=b""), JPEG) == []


def test_two_scans_are_two_spans():
    """A progressive JPEG: a scan, a table segment, another scan."""
    data = b"\xff\xd8" + SOS + SCAN + segment(0xC4, b"\x00" * 17) + SOS + SCAN + b"\xff\xd9"
    first = scan_span(data)
    second = scan_span(data, start_search=first[1])
    assert spans(data, JPEG) == [first, second]


def test_up_to_eight_jpegs_one_after_another_are_walked():
    """MPO and gain-map files: the images after the first are walked the same way, eight
    in all; a ninth is trailing data, searched."""
    one = jpeg()
    data = one * 9
    found = spans(data, JPEG)
    assert len(found) == 8
    assert found == [
        (i * len(one) + a, i * len(one) + b) for i in range(8) for a, b in [scan_span(one)]
    ]


def box(box_type: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload) + 8) + box_type + payload


def test_a_motion_photos_media_data_is_left_out_and_its_other_boxes_are_not():
    still = jpeg()
    video = box(b"ftyp", b"mp42\x00\x00\x00\x00") + box(b"mdat", b"\x00" * 40) + box(b"free", b"x")
    data = still + video
    mdat = len(still) + len(box(b"ftyp", b"mp42\x00\x00\x00\x00"))
    assert spans(data, JPEG) == [scan_span(still), (mdat + 8, mdat + 48)]


def test_what_follows_the_end_of_a_jpeg_is_searched():
    data = jpeg() + b"<html>"
    assert spans(data, JPEG) == [scan_span(data)]


# --- PNG --------------------------------------------------------------------------------------


def chunk(chunk_type: bytes, payload: bytes, *, crc: int | None = None) -> bytes:
    crc = zlib.crc32(chunk_type + payload) if crc is None else crc
    return struct.pack(">I", len(payload)) + chunk_type + payload + struct.pack(">I", crc)


SIGNATURE = b"\x89PNG\r\n\x1a\n"
IHDR = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
IEND = chunk(b"IEND", b"")


def png(*chunks: bytes) -> bytes:
    return SIGNATURE + IHDR + b"".join(chunks) + IEND


def payload_span(data: bytes, whole_chunk: bytes) -> tuple[int, int]:
    at = data.index(whole_chunk)
    return at + 8, at + len(whole_chunk) - 4


def test_png_image_data_and_animation_frames_are_pixels_and_text_is_not():
    idat, fdat = chunk(b"IDAT", b"\x01" * 30), chunk(b"fdAT", b"\x02" * 20)
    text = chunk(b"tEXt", b"Comment\x00hello")
    data = png(text, idat, fdat)
    assert spans(data, PNG) == [payload_span(data, idat), payload_span(data, fdat)]


def test_a_png_chunk_with_a_wrong_crc_stops_the_walk():
    idat = chunk(b"IDAT", b"\x01" * 30)
    broken = chunk(b"IDAT", b"\x03" * 30, crc=0)
    data = png(idat, broken, chunk(b"IDAT", b"\x04" * 30))
    assert spans(data, PNG) == [payload_span(data, idat)]


@pytest.mark.parametrize("length", [0x80000000, 0xFFFFFFFF, 31])
def test_a_png_chunk_longer_than_the_file_stops_the_walk(length):
    idat = chunk(b"IDAT", b"\x01" * 30)
    data = png(idat)
    liar = struct.pack(">I", length) + b"IDAT" + b"\x05" * 30 + b"\x00\x00\x00\x00"
    data = data[: -len(IEND)] + liar
    assert spans(data, PNG) == [payload_span(data, idat)]


def test_a_png_chunk_that_ends_the_file_exactly_is_walked():
    """GIVEN a PNG whose last chunk is an image-data chunk ending at the file's last byte
    (no IEND) THEN it is pixels."""
    idat = chunk(b"IDAT", b"\x01" * 30)
    data = SIGNATURE + IHDR + idat
    assert spans(data, PNG) == [payload_span(data, idat)]
    empty = chunk(b"IDAT", b"")
    data = SIGNATURE + IHDR + empty
    assert spans(data, PNG) == [payload_span(data, empty)]


def test_bytes_after_iend_are_searched():
    idat = chunk(b"IDAT", b"\x01" * 30)
    data = png(idat) + chunk(b"IDAT", b"\x09" * 30)
    assert spans(data, PNG) == [payload_span(data, idat)]


def texts(data: bytes) -> list[bytes]:
    return layout_of(data, PNG).inflated_texts


def test_compressed_png_text_is_inflated_for_the_scan():
    ztxt = chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"<script>x()</script>"))
    itxt = chunk(b"iTXt", b"XML\x00\x01\x00en\x00Title\x00" + zlib.compress(b"<svg/>"))
    assert texts(png(ztxt, itxt)) == [b"<script>x()</script>", b"<svg/>"]


@pytest.mark.parametrize(
    "text_chunk",
    [
        chunk(b"zTXt", b"no keyword end" + zlib.compress(b"<svg/>")),
        chunk(b"zTXt", b"Comment\x00\x00not deflate data"),
        chunk(b"iTXt", b"XML\x00\x00\x00en\x00Title\x00<svg/>"),  # not compressed
        chunk(b"iTXt", b"XML\x00\x01\x00en"),  # no translated keyword
        chunk(b"iTXt", b"XML\x00\x01\x00" + zlib.compress(b"<svg/>")),  # no language end
    ],
    ids=["no keyword", "not deflate", "iTXt uncompressed", "no translation", "no language"],
)
def test_text_that_cannot_be_inflated_is_searched_where_it_lies(text_chunk):
    assert texts(png(text_chunk)) == []


def test_compressed_text_over_a_megabyte_is_refused_and_at_it_is_read():
    at_limit = chunk(b"zTXt", b"C\x00\x00" + zlib.compress(b"a" * 1024 * 1024))
    assert texts(png(at_limit)) == [b"a" * 1024 * 1024]
    with pytest.raises(TooMuchText):
        layout_of(png(chunk(b"zTXt", b"C\x00\x00" + zlib.compress(b"a" * (1024 * 1024 + 1)))), PNG)


# --- WebP -------------------------------------------------------------------------------------


def riff_chunk(fourcc: bytes, payload: bytes) -> bytes:
    return (
        fourcc + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) % 2 else b"")
    )


def webp(*chunks: bytes, size_delta: int = 0) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body) + size_delta) + body


def test_webp_pixel_chunks_are_pixels_and_odd_lengths_are_padded():
    vp8x = riff_chunk(b"VP8X", b"\x00" * 10)
    alph = riff_chunk(b"ALPH", b"\x01" * 7)  # odd: one padding byte follows
    vp8 = riff_chunk(b"VP8 ", b"\x02" * 20)
    vp8l = riff_chunk(b"VP8L", b"\x03" * 9)
    exif = riff_chunk(b"EXIF", b"<svg/>")
    data = webp(vp8x, alph, vp8, vp8l, exif)
    at = data.index
    assert spans(data, WEBP) == [
        (at(alph) + 8, at(alph) + 15),
        (at(vp8) + 8, at(vp8) + 28),
        (at(vp8l) + 8, at(vp8l) + 17),
    ]


def test_animation_frames_are_walked_past_their_16_byte_header():
    frame_pixels = riff_chunk(b"VP8 ", b"\x02" * 20)
    anmf = riff_chunk(b"ANMF", b"\x00" * 16 + frame_pixels)
    data = webp(riff_chunk(b"VP8X", b"\x00" * 10), anmf)
    inner = data.index(frame_pixels, data.index(anmf) + 8 + 16)
    assert spans(data, WEBP) == [(inner + 8, inner + 28)]


@pytest.mark.parametrize("header", [15, 0])
def test_an_animation_frame_shorter_than_its_header_is_not_walked(header):
    anmf = riff_chunk(b"ANMF", b"\x00" * header)
    data = webp(anmf, riff_chunk(b"VP8 ", b"\x02" * 20))
    vp8 = data.index(b"VP8 ")
    assert spans(data, WEBP) == [(vp8 + 8, vp8 + 28)]


@pytest.mark.parametrize("stray", [1, 4, 7])
def test_stray_bytes_after_a_frames_chunks_end_its_walk_and_the_next_frame_is_walked(stray):
    """Bytes too few for a chunk header at the end of a frame are searched as they are; the
    frames after it are still walked."""
    first = riff_chunk(b"ANMF", b"\x00" * 16 + riff_chunk(b"VP8 ", b"\x02" * 20) + b"<" * stray)
    second = riff_chunk(b"ANMF", b"\x00" * 16 + riff_chunk(b"VP8L", b"\x03" * 10))
    data = webp(first, second)
    one = data.index(b"VP8 ") + 8
    two = data.index(b"VP8L") + 8
    assert spans(data, WEBP) == [(one, one + 20), (two, two + 10)]


@pytest.mark.parametrize("fourcc", [b"EXIF", b"XMP ", b"ICCP", b"ANIM"])
def test_only_animation_frames_are_walked_for_chunks_inside_them(fourcc):
    """GIVEN a metadata chunk whose bytes past its sixteenth read as a pixel chunk holding
    markup THEN they are searched: only an animation frame has chunks inside it."""
    hidden = riff_chunk(b"VP8 ", b"<svg onload=alert(1)>")
    data = webp(riff_chunk(b"VP8 ", b"\x02" * 20), riff_chunk(fourcc, b"\x00" * 16 + hidden))
    assert spans(data, WEBP) == [(20, 40)]


def test_frames_inside_frames_are_not_walked():
    inner = riff_chunk(b"ANMF", b"\x00" * 16 + riff_chunk(b"VP8 ", b"\x02" * 20))
    outer = riff_chunk(b"ANMF", b"\x00" * 16 + inner)
    assert spans(webp(outer), WEBP) == []


def test_bytes_past_the_riff_size_are_searched_and_a_chunk_past_it_stops_the_walk():
    vp8 = riff_chunk(b"VP8 ", b"\x02" * 20)
    data = webp(vp8) + riff_chunk(b"VP8 ", b"\x03" * 20)
    assert spans(data, WEBP) == [(20, 40)]
    assert spans(webp(vp8, size_delta=-1), WEBP) == []
    assert spans(webp(vp8, size_delta=+100), WEBP) == [(20, 40)]


# --- HEIF -------------------------------------------------------------------------------------


def full_box(box_type: bytes, version: int, payload: bytes) -> bytes:
    return box(box_type, bytes([version, 0, 0, 0]) + payload)


def infe(item_id: int, item_type: bytes, version: int = 2) -> bytes:
    id_field = struct.pack(">H" if version == 2 else ">I", item_id)
    return full_box(b"infe", version, id_field + b"\x00\x00" + item_type + b"\x00")


def iinf(*entries: bytes, version: int = 0) -> bytes:
    count = struct.pack(">H" if version == 0 else ">I", len(entries))
    return full_box(b"iinf", version, count + b"".join(entries))


def iloc(items, *, version=1, offset_size=4, length_size=4, base_size=0, index_size=0):
    """items: (item id, construction method, base offset, [(offset, length), ...])."""

    def field(size, value):
        return value.to_bytes(size, "big")

    out = bytes(
        [(offset_size << 4) | length_size, (base_size << 4) | (index_size if version else 0)]
    )
    out += struct.pack(">H" if version < 2 else ">I", len(items))
    for item_id, method, base, extents in items:
        out += struct.pack(">H" if version < 2 else ">I", item_id)
        if version in (1, 2):
            out += struct.pack(">H", method)
        out += b"\x00\x00" + field(base_size, base) + struct.pack(">H", len(extents))
        for offset, length in extents:
            out += field(index_size, 0) if version else b""
            out += field(offset_size, offset) + field(length_size, length)
    return full_box(b"iloc", version, out)


def heif(meta_children: bytes, media: bytes = b"\x07" * 64) -> tuple[bytes, int]:
    """The file and the offset of its mdat payload."""
    head = box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic")
    meta = full_box(b"meta", 0, meta_children)
    mdat_at = len(head) + len(meta) + 8
    return head + meta + box(b"mdat", media), mdat_at


def heif_with(items, types=(), **iloc_options) -> tuple[bytes, int]:
    """Build twice: the mdat offset is known only once meta's size is."""
    _, at = heif(iinf(*types) + iloc(items, **iloc_options))
    resolved = [(i, m, b, [(at + o, n) for o, n in ex]) for i, m, b, ex in items]
    return heif(iinf(*types) + iloc(resolved, **iloc_options))


@pytest.mark.parametrize(
    "options",
    [
        {"version": 0},
        {"version": 1},
        {"version": 2},
        {"version": 1, "offset_size": 8, "length_size": 8},
        {"version": 1, "offset_size": 2, "length_size": 2},
        {"version": 1, "index_size": 4},
        {"version": 2, "index_size": 2},
        {"version": 1, "base_size": 4},
        {"version": 1, "base_size": 8},
    ],
    ids=["v0", "v1", "v2", "64-bit", "16-bit", "v1 index", "v2 index", "base 32", "base 64"],
)
def test_coded_image_extents_are_pixels_in_every_iloc_form(options):
    items = [(1, 0, 0, [(0, 10), (20, 8)]), (2, 0, 0, [(40, 4)])]
    data, at = heif_with(items, types=[infe(1, b"hvc1"), infe(2, b"hvc1")], **options)
    assert spans(data, "image/heic") == [(at, at + 10), (at + 20, at + 28), (at + 40, at + 44)]


def test_metadata_items_are_searched_and_items_of_old_entries_are_pixels():
    items = [
        (1, 0, 0, [(0, 10)]),
        (2, 0, 0, [(10, 10)]),
        (3, 0, 0, [(20, 10)]),
        (4, 0, 0, [(30, 4)]),
    ]
    types = [infe(1, b"Exif"), infe(2, b"mime"), infe(3, b"uri "), infe(4, b"hvc1", version=1)]
    data, at = heif_with(items, types=types)
    assert spans(data, "image/heif") == [(at + 30, at + 34)]


def test_item_ids_of_four_bytes_in_version_3_entries():
    items = [(70_000, 0, 0, [(0, 10)]), (5, 0, 0, [(10, 6)])]
    types = [infe(70_000, b"Exif", version=3), infe(5, b"hvc1", version=3)]
    data, at = heif_with(items, types=types, version=2)
    assert spans(data, "image/heic") == [(at + 10, at + 16)]


def test_extents_not_in_the_file_or_empty_are_not_pixels():
    """Construction method 1 (inside the meta box) and 2 are not file offsets; an empty
    extent is nothing; an extent reaching past mdat is cut at its end."""
    items = [
        (1, 1, 0, [(0, 10)]),
        (2, 2, 0, [(10, 10)]),
        (3, 0, 0, [(20, 0)]),
        (4, 0, 0, [(60, 100)]),
    ]
    data, at = heif_with(items)
    assert spans(data, "image/heic") == [(at + 60, at + 64)]


def test_a_base_offset_is_added_to_each_extent():
    _, at = heif(iinf() + iloc([(1, 0, 0, [(0, 1), (0, 1)])], base_size=4))
    data, at2 = heif(iinf() + iloc([(1, 0, at + 8, [(0, 4), (10, 2)])], base_size=4))
    assert at == at2
    assert spans(data, "image/heic") == [(at + 8, at + 12), (at + 18, at + 20)]


@pytest.mark.parametrize("field", ["offset_size", "length_size", "index_size"])
@pytest.mark.parametrize("field_width", [1, 3, 5])
def test_an_iloc_field_of_no_allowed_width_stops_the_walk(field, field_width):
    """Widths are 0, 2, 4 or 8 bytes: an odd one is never read as the even one below it."""
    data, _ = heif_with([(1, 0, 0, [(0, 10)])], **{field: field_width})
    assert spans(data, "image/heic") == []


def test_an_iloc_cut_short_stops_the_walk():
    whole = iloc([(1, 0, 0, [(0, 10)]), (2, 0, 0, [(10, 10)])])
    cut = whole[:-3]
    cut = struct.pack(">I", len(cut)) + cut[4:]
    data, _ = heif(iinf() + cut)
    assert spans(data, "image/heic") == []


def test_a_64_bit_box_size_and_a_box_to_the_end_are_read():
    _, at = heif(iinf() + iloc([(1, 0, 0, [(0, 4)])]))
    head = box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic")
    meta = full_box(b"meta", 0, iinf() + iloc([(1, 0, 0, [(at + 8, 4)])]))
    media = b"\x07" * 64
    large = struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 16 + len(media)) + media
    data = head + meta + large
    assert spans(data, "image/heic") == [(at + 8, at + 12)]
    to_end = struct.pack(">I", 0) + b"mdat" + media
    data = head + meta + to_end
    assert spans(data, "image/heic") == [(at + 8, at + 12)]


@pytest.mark.parametrize("size", [7, 4, 2**32 - 1])
def test_a_box_smaller_than_its_header_or_past_the_end_stops_the_walk(size):
    data, _ = heif_with([(1, 0, 0, [(0, 10)])])
    data += struct.pack(">I", size) + b"free"
    # the boxes before are walked; the spans come from meta and mdat, found before it
    assert spans(data, "image/heic") == []


# --- What the scan leaves out, and what a person is told ----------------------------------


def test_scanned_spans_are_everything_but_the_pixels():
    layout = Layout(pixel_spans=[(30, 40), (10, 20), (15, 25), (50, 200)])
    assert layout.scanned_spans(100) == [(0, 10), (25, 30), (40, 50)]
    assert Layout().scanned_spans(100) == [(0, 100)]
    assert Layout(pixel_spans=[(0, 100)]).scanned_spans(100) == []


def test_markup_in_a_jpeg_comment_is_refused_and_in_its_scan_is_not():
    pad = segment(0xFE, b"\x00" * 1500)  # past the bytes a browser sniffs
    in_scan = jpeg(pad, scan=b"\x12" * 10 + b"<script>" + b"\x34" * 10)
    assert sniff(io.BytesIO(in_scan), purpose="photo") == JPEG
    in_comment = jpeg(pad, segment(0xFE, b"<script>x()</script>"))
    with pytest.raises(FileRejected) as refused:
        sniff(io.BytesIO(in_comment), purpose="photo")
    assert refused.value.reason == (
        "This JPEG also contains web page code (HTML or script), a trick used to attack browsers."
    )


# --- More edges: where a walk must stop, and where it must go on --------------------------


@pytest.mark.parametrize(
    "not_a_segment",
    [
        b"\x12\xfe\x00\x04ab",  # no 0xFF where a marker must be, then what reads as a comment
        b"\xff\x00\x00\x04ab",  # stuffing outside a scan, with what reads as a length
        b"\xff\xd8\x00\x04ab",  # a second SOI, with what reads as a length
    ],
    ids=["no marker", "stuffing", "SOI again"],
)
def test_the_walk_stops_at_what_is_no_segment_even_if_a_segment_could_follow(not_a_segment):
    """GIVEN bytes that are no segment, shaped so that reading on would find one (and the
    scan after it) THEN the walk stops there: nothing after it is left out."""
    assert spans(jpeg(not_a_segment), JPEG) == []


def test_compressed_text_under_an_empty_keyword_is_inflated_too():
    ztxt = chunk(b"zTXt", b"\x00\x00" + zlib.compress(b"<script>x()</script>"))
    itxt = chunk(b"iTXt", b"X\x00\x01\x00\x00\x00" + zlib.compress(b"<svg/>"))
    assert texts(png(ztxt, itxt)) == [b"<script>x()</script>", b"<svg/>"]


def test_an_extent_of_one_byte_is_pixels():
    data, at = heif_with([(1, 0, 0, [(5, 1)])])
    assert spans(data, "image/heic") == [(at + 5, at + 6)]


def test_an_empty_pixel_chunk_that_ends_the_riff_is_still_a_chunk():
    vp8 = riff_chunk(b"VP8 ", b"\x02" * 20)
    data = webp(vp8, riff_chunk(b"VP8L", b""))
    assert spans(data, WEBP) == [(20, 40), (48, 48)]


def test_an_extent_reaching_into_a_64_bit_boxs_header_is_cut_at_its_payload():
    _, at = heif(iinf() + iloc([(1, 0, 0, [(0, 4)])]))
    head = box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic")
    meta = full_box(b"meta", 0, iinf() + iloc([(1, 0, 0, [(at - 8, 20)])]))
    media = b"\x07" * 64
    data = head + meta + struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 16 + len(media)) + media
    # the 64-bit mdat's header is 16 bytes: its payload starts 8 bytes after ``at``
    assert spans(data, "image/heic") == [(at + 8, at + 12)]


def test_an_empty_box_does_not_stop_the_walk():
    _, at = heif(iinf() + iloc([(1, 0, 0, [(0, 4)])]))
    head = box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic")
    meta = full_box(b"meta", 0, iinf() + iloc([(1, 0, 0, [(at + 8, 4)])]))
    data = head + meta + box(b"free", b"") + box(b"mdat", b"\x07" * 64)
    assert spans(data, "image/heic") == [(at + 8, at + 12)]


def test_an_extent_that_ends_where_the_media_data_starts_is_nothing():
    _, at = heif(iinf() + iloc([(1, 0, 0, [(0, 8)]), (2, 0, 0, [(0, 4)])]))
    data, _ = heif(iinf() + iloc([(1, 0, 0, [(at - 8, 8)]), (2, 0, 0, [(at, 4)])]))
    assert spans(data, "image/heic") == [(at, at + 4)]


def test_a_pixel_span_inside_another_leaves_the_later_ones_out_too():
    layout = Layout(pixel_spans=[(10, 20), (12, 18), (30, 40)])
    assert layout.scanned_spans(100) == [(0, 10), (20, 30), (40, 100)]


def test_item_types_are_read_past_other_boxes_and_old_entries():
    """GIVEN an item list holding another box and an old (version 1) entry before the Exif
    item's entry THEN the Exif item is still known as metadata: searched, not left out."""
    old_entry = full_box(b"infe", 1, struct.pack(">HH", 9, 0) + b"name\x00")
    entries = [box(b"free", b"x"), old_entry, infe(1, b"Exif"), infe(2, b"hvc1")]
    data, at = heif_with([(1, 0, 0, [(0, 10)]), (2, 0, 0, [(10, 6)])], types=entries)
    assert spans(data, "image/heic") == [(at + 10, at + 16)]


def test_an_empty_pixel_span_does_not_split_what_is_searched():
    """GIVEN an empty pixel chunk in the middle of searched bytes THEN the bytes around it
    are one span: markup across it is found (a split would hide ``<scr`` + ``ipt``)."""
    layout = Layout(pixel_spans=[(5, 5), (50, 60)])
    assert layout.scanned_spans(100) == [(0, 50), (60, 100)]


def test_a_few_bytes_after_the_last_box_do_not_undo_the_walk():
    """GIVEN a HEIF file followed by seven stray bytes (too few for a box header)
    THEN the pixel spans found stand."""
    data, at = heif_with([(1, 0, 0, [(0, 10)])])
    assert spans(data + b"\x00" * 7, "image/heic") == [(at, at + 10)]


def stored_zlib(text: bytes) -> bytes:
    """``text`` as a zlib stream of one stored (uncompressed) block: its bytes can be placed
    where a text chunk's fields are read from."""
    header = b"\x78\x01\x01" + struct.pack("<HH", len(text), len(text) ^ 0xFFFF)
    return header + text + struct.pack(">I", zlib.adler32(text))


def markup_of(length: int) -> bytes:
    """Markup of ``length`` bytes whose stored zlib stream holds no NUL after its header."""
    for tail in range(1000):
        text = (b"<svg onload=alert(%d)>" % tail).ljust(length, b"x")
        if b"\x00" not in stored_zlib(text)[7:]:
            return text
    raise AssertionError("no such text")


def test_a_ztxt_without_its_keyword_end_is_not_inflated_from_its_second_byte():
    """GIVEN a zTXt chunk with no NUL (no keyword end) whose bytes from the second on happen
    to be a zlib stream THEN nothing is inflated: it is no compressed text any reader
    would show, and its raw bytes are searched where they lie."""
    text = markup_of(257)  # 257 = 0x0101: no NUL in the block's length either
    payload = b"C" + stored_zlib(text)
    assert b"\x00" not in payload
    assert texts(png(chunk(b"zTXt", payload))) == []


@pytest.mark.parametrize(
    ("before", "nul_in_text"),
    [(b"", False), (b"X", False), (b"", True)],
    ids=["no-language-end", "no-language-end-after-one-byte", "no-translated-keyword-end"],
)
def test_an_itxt_without_the_ends_of_its_fields_is_not_inflated_from_anywhere(before, nul_in_text):
    """GIVEN an iTXt chunk whose keyword ends (NUL) and is followed by the compression flag
    (a stored block of 256 bytes: its length reads 00 01), with no end of its language tag
    (or of its translated keyword: one NUL in the text), and the whole chunk, or all but its
    first byte, is a zlib stream THEN nothing is inflated."""
    text = markup_of(256)
    if nul_in_text:
        text = text[:100] + b"\x00" + text[101:]
    payload = before + stored_zlib(text)
    assert payload.count(b"\x00") == 1 + nul_in_text
    keyword_end = payload.index(b"\x00")
    assert payload[keyword_end + 1] == 1  # the compression flag
    assert texts(png(chunk(b"iTXt", payload))) == []


@pytest.mark.parametrize(
    ("language", "translated"),
    [(b"", b""), (b"en", b""), (b"", b"Title"), (b"en-GB", b"T")],
    ids=["both-empty", "no-translation", "no-language", "both"],
)
def test_compressed_itxt_is_inflated_whatever_its_language_and_translation(language, translated):
    fields = b"XML\x00\x01\x00" + language + b"\x00" + translated + b"\x00"
    itxt = chunk(b"iTXt", fields + zlib.compress(b"<svg onload=x()>"))
    assert texts(png(itxt)) == [b"<svg onload=x()>"]


def test_an_item_list_of_version_1_counts_its_entries_in_four_bytes():
    meta = iinf(infe(1, b"Exif"), infe(2, b"hvc1"), version=1)
    _, at = heif(meta + iloc([(1, 0, 0, [(0, 10)]), (2, 0, 0, [(10, 6)])]))
    data, at = heif(meta + iloc([(1, 0, 0, [(at, 10)]), (2, 0, 0, [(at + 10, 6)])]))
    assert spans(data, "image/heic") == [(at + 10, at + 16)]


def test_an_old_entry_carries_no_type_whatever_its_name_reads_as():
    """GIVEN a version 1 item entry (no item type: an id, a protection index, a name) whose
    name, read as a newer entry's fields, would say Exif THEN its item is still pixels."""
    old_entry = full_box(b"infe", 1, struct.pack(">HH", 0, 7) + b"ABExif\x00\x00")
    data, at = heif_with([(7, 0, 0, [(0, 10)])], types=[old_entry])
    assert spans(data, "image/heic") == [(at, at + 10)]


@pytest.mark.parametrize("item_id", [0x0102, 0xFF01])
def test_an_item_id_over_255_is_read_from_both_its_bytes(item_id):
    """GIVEN an Exif item whose id needs both bytes of its field, and a coded image whose id
    is that id's low byte THEN the Exif item is searched and the image is pixels."""
    low = item_id & 0xFF
    items = [(item_id, 0, 0, [(0, 10)]), (low, 0, 0, [(10, 6)])]
    data, at = heif_with(items, types=[infe(item_id, b"Exif"), infe(low, b"hvc1")])
    assert spans(data, "image/heic") == [(at + 10, at + 16)]


@pytest.mark.parametrize(("at", "widths"), [(0, 0x45), (1, 0x05)], ids=["length", "index"])
def test_an_odd_iloc_width_is_refused_even_where_its_bytes_read_as_the_even_one(at, widths):
    """GIVEN an iloc laid out with 4-byte lengths (or indexes) whose header says 5 THEN the
    walk stops: nothing is left out (read as 4, it would find a valid extent)."""
    data, start = heif_with([(1, 0, 0, [(0, 10)])], **({"index_size": 4} if at else {}))
    assert spans(data, "image/heic") == [(start, start + 10)]
    header = data.index(b"iloc") + 8 + at  # after the box header, the version and flags
    data = data[:header] + bytes([widths]) + data[header + 1 :]
    assert spans(data, "image/heic") == []


def test_a_64_bit_box_size_is_read_from_all_eight_bytes():
    """GIVEN a 64-bit box size whose highest byte is set (far past the end of the file)
    THEN the walk stops there, as for any box past the end (read from seven bytes, it would
    be the box's true size)."""
    _, at = heif(iinf() + iloc([(1, 0, 0, [(0, 4)])]))
    head = box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic")
    meta = full_box(b"meta", 0, iinf() + iloc([(1, 0, 0, [(at + 8, 4)])]))
    media = b"\x07" * 64
    size = 16 + len(media)
    fits = head + meta + struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", size) + media
    assert spans(fits, "image/heic") == [(at + 8, at + 12)]
    past = head + meta + struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", size + (1 << 56))
    assert spans(past + media, "image/heic") == []
