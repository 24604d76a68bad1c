"""Lossless metadata removal: nothing personal left in the stored file, the
image data byte for byte the camera's, and a file whose structure does not parse refused
with a reason."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from files.pipeline.cleaning import CleaningError, clean_losslessly, exif_orientation
from tests.files import samples

GPS_IFD = 0x8825


def srgb_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def jpeg_with_everything(*, orientation: int = 6, progressive: bool = False) -> bytes:
    """A photo as a phone writes it: EXIF with GPS, make and model, XMP, IPTC/Photoshop,
    a comment, an ICC profile, and a maker's APP segment."""
    image = Image.effect_noise((97, 61), 60).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 15"
    exif[0xA431] = "SERIAL-123456"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
    out = io.BytesIO()
    image.save(
        out,
        "JPEG",
        exif=exif.tobytes(),
        icc_profile=srgb_profile(),
        comment=b"taken at 12 Acacia Avenue",
        progressive=progressive,
        quality=90,
    )
    data = out.getvalue()
    xmp = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>GPSLatitude 51</x:xmpmeta>")
    iptc = segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0cJohn Smith..")
    maker = segment(0xEB, b"MakerNotes serial SERIAL-123456")
    return data[:2] + xmp + iptc + maker + data[2:]


PERSONAL = [b"GPS", b"Apple", b"iPhone", b"SERIAL-123456", b"Acacia", b"John Smith", b"xmpmeta"]


def scan_bytes(jpeg: bytes) -> bytes:
    """Everything from the first scan header to EOI: the entropy-coded data."""
    return jpeg[jpeg.index(b"\xff\xda") :]


@pytest.mark.parametrize("progressive", [False, True])
def test_jpeg_loses_every_personal_field_and_keeps_its_image_data(progressive):
    original = jpeg_with_everything(progressive=progressive)
    cleaned = clean_losslessly(original, "image/jpeg")
    for personal in PERSONAL:
        assert personal in original
        assert personal not in cleaned.content, personal
    assert scan_bytes(cleaned.content) == scan_bytes(original)
    with Image.open(io.BytesIO(cleaned.content)) as stored, Image.open(io.BytesIO(original)) as src:
        assert stored.tobytes() == src.tobytes()
        assert dict(stored.getexif()) == {0x0112: 6}
        assert stored.info["icc_profile"] == src.info["icc_profile"]
    assert cleaned.orientation == 6


def test_jpeg_without_orientation_carries_no_exif_at_all():
    original = samples.jpeg((40, 30), gps=True)
    cleaned = clean_losslessly(original, "image/jpeg")
    assert b"Exif" not in cleaned.content
    assert cleaned.orientation == 1
    with Image.open(io.BytesIO(cleaned.content)) as stored:
        assert dict(stored.getexif()) == {}


def text_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_everything() -> bytes:
    image = Image.effect_noise((53, 41), 80).convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG", icc_profile=srgb_profile())
    data = out.getvalue()
    extra = (
        text_chunk(b"tEXt", b"Author\x00John Smith")
        + text_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"GPS 51N"))
        + text_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta>Apple</x:xmpmeta>")
        + text_chunk(b"eXIf", b"MM\x00*\x00\x00\x00\x08iPhone SERIAL-123456")
        + text_chunk(b"tIME", b"\x07\xea\x0b\x1e\x0c\x00\x00")
    )
    ihdr_end = 8 + 25
    return data[:ihdr_end] + extra + data[ihdr_end:]


def test_png_loses_text_exif_and_time_chunks_and_keeps_idat_and_colour():
    original = png_with_everything()
    cleaned = clean_losslessly(original, "image/png")
    for personal in [b"John Smith", b"GPS", b"Apple", b"SERIAL-123456", b"tIME", b"tEXt"]:
        assert personal not in cleaned.content, personal
    idat = lambda data: data[data.index(b"IDAT") - 4 : data.index(b"IEND") - 4]  # noqa: E731
    assert idat(cleaned.content) == idat(original)
    assert b"iCCP" in cleaned.content
    with Image.open(io.BytesIO(cleaned.content)) as stored, Image.open(io.BytesIO(original)) as src:
        assert stored.tobytes() == src.tobytes()


@pytest.mark.parametrize("lossless", [False, True])
def test_webp_loses_exif_and_xmp_and_keeps_its_bitstream(lossless):
    image = Image.effect_noise((45, 33), 70).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif.get_ifd(GPS_IFD).update({1: "N"})
    out = io.BytesIO()
    image.save(
        out,
        "WEBP",
        exif=exif.tobytes(),
        xmp=b"<x:xmpmeta>John Smith</x:xmpmeta>",
        lossless=lossless,
        icc_profile=srgb_profile(),
    )
    original = out.getvalue()
    assert b"EXIF" in original and b"XMP " in original
    cleaned = clean_losslessly(original, "image/webp")
    assert b"EXIF" not in cleaned.content and b"XMP " not in cleaned.content
    assert b"Apple" not in cleaned.content and b"John Smith" not in cleaned.content
    bitstream = b"VP8L" if lossless else b"VP8 "
    start = original.index(bitstream)
    assert cleaned.content[cleaned.content.index(bitstream) :].startswith(
        original[start : start + 200]
    )
    with Image.open(io.BytesIO(cleaned.content)) as stored, Image.open(io.BytesIO(original)) as src:
        assert stored.tobytes() == src.tobytes()
        assert "exif" not in stored.info and "xmp" not in stored.info


@pytest.mark.parametrize(
    ("content_type", "damage"),
    [
        ("image/jpeg", lambda d: d[:40]),
        ("image/jpeg", lambda d: d[:2] + b"\xff\xe1\xff\xff" + d[6:]),
        ("image/jpeg", lambda d: d[: d.index(b"\xff\xda") + 40]),
        ("image/jpeg", lambda d: b"\xff\xd8" + b"\x00" * 50),
        ("image/png", lambda d: d[:30] + b"X" + d[31:]),
        ("image/png", lambda d: d[: d.index(b"IEND") - 4]),
        ("image/png", lambda d: d[:8] + text_chunk(b"tEXt", b"a\x00b") + d[8:]),
        ("image/webp", lambda d: d[:4] + struct.pack("<I", 10_000_000) + d[8:]),
        ("image/webp", lambda d: d[:12] + b"EXIF" + struct.pack("<I", 10) + b"\x00" * 10),
    ],
    ids=[
        "jpeg-truncated-headers",
        "jpeg-segment-longer-than-file",
        "jpeg-truncated-scan",
        "jpeg-no-segments",
        "png-bad-crc",
        "png-no-iend",
        "png-text-before-ihdr",
        "webp-size-beyond-file",
        "webp-no-bitstream",
    ],
)
def test_a_broken_structure_is_refused_with_a_reason(content_type, damage):
    good = {
        "image/jpeg": samples.jpeg((40, 30)),
        "image/png": samples.png(),
        "image/webp": samples.webp(),
    }[content_type]
    with pytest.raises(CleaningError) as refused:
        clean_losslessly(damage(good), content_type)
    assert len(str(refused.value)) > 15


def test_orientation_reader_survives_garbage():
    for tiff in [b"", b"II", b"MM\x00*\xff\xff\xff\xff", b"XX\x00*\x00\x00\x00\x08"]:
        assert exif_orientation(tiff) is None


# --- Each structure rule at its edge, each refusal with its reason ----------------------


def exif_body(orientation: int, *, order: str = "MM", kind: int = 3, before: int = 0) -> bytes:
    """An APP1 EXIF body whose IFD0 holds ``before`` other tags, then Orientation."""
    o = ">" if order == "MM" else "<"
    entries = [struct.pack(o + "HHIHH", 0x010F + i, 3, 1, 7, 0) for i in range(before)]
    entries.append(struct.pack(o + "HHIHH", 0x0112, kind, 1, orientation, 0))
    tiff = (
        order.encode()
        + struct.pack(o + "HI", 42, 8)
        + struct.pack(o + "H", len(entries))
        + b"".join(entries)
        + struct.pack(o + "I", 0)
    )
    return b"Exif\x00\x00" + tiff


def plain_jpeg() -> bytes:
    """A baseline JPEG with JFIF and nothing else before its tables."""
    return samples.jpeg((40, 30))


def with_segments(jpeg: bytes, *segments: bytes, after_jfif: bool = True) -> bytes:
    """``segments`` inserted after the JFIF APP0 (or right after SOI)."""
    at = 2
    if after_jfif and jpeg[2:4] == b"\xff\xe0":
        at = 4 + struct.unpack(">H", jpeg[4:6])[0]
    return jpeg[:at] + b"".join(segments) + jpeg[at:]


def markers(jpeg: bytes) -> list[int]:
    """The markers of a JPEG's segments before its first scan, in order."""
    found, position = [], 2
    while jpeg[position + 1] != 0xDA:
        found.append(jpeg[position + 1])
        position += 2 + struct.unpack(">H", jpeg[position + 2 : position + 4])[0]
    return found


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("order", ["MM", "II"])
def test_each_orientation_is_kept_alone_from_either_byte_order(orientation, order):
    """GIVEN a JPEG whose EXIF (big- or little-endian) says orientation 1 to 8, after other
    tags WHEN cleaned THEN the same orientation is reported and kept as the only tag (none
    at all for 1, upright), placed right after the JFIF header."""
    original = with_segments(
        plain_jpeg(), segment(0xE1, exif_body(orientation, order=order, before=3))
    )
    cleaned = clean_losslessly(original, "image/jpeg")

    assert cleaned.orientation == orientation
    with Image.open(io.BytesIO(cleaned.content)) as stored:
        assert dict(stored.getexif()) == ({} if orientation == 1 else {0x0112: orientation})
    expected = [0xE0] + ([0xE1] if orientation != 1 else [])
    assert markers(cleaned.content)[: len(expected)] == expected


def test_without_jfif_the_orientation_goes_first():
    """GIVEN a JPEG with no JFIF header WHEN cleaned THEN the orientation segment comes
    right after SOI."""
    jpeg = plain_jpeg()
    no_jfif = jpeg[:2] + jpeg[4 + struct.unpack(">H", jpeg[4:6])[0] :]
    original = with_segments(no_jfif, segment(0xE1, exif_body(6)), after_jfif=False)
    cleaned = clean_losslessly(original, "image/jpeg")
    assert markers(cleaned.content)[0] == 0xE1
    assert cleaned.orientation == 6


@pytest.mark.parametrize(
    "body",
    [
        exif_body(0),
        exif_body(9),
        exif_body(6, kind=4),
        b"Exif\x00\x00XX\x00*\x00\x00\x00\x08",
        b"Exif\x00\x00MM\x00*\xff\xff\xff\xff",
        b"Exif\x00\x00MM",
    ],
    ids=["zero", "nine", "long-type", "no-byte-order", "offset-past-end", "truncated"],
)
def test_an_unreadable_orientation_counts_as_upright(body):
    """GIVEN an EXIF orientation that is out of range, of the wrong type or unreadable
    WHEN cleaned THEN the photo is kept as upright (1) with no EXIF at all."""
    cleaned = clean_losslessly(with_segments(plain_jpeg(), segment(0xE1, body)), "image/jpeg")
    assert cleaned.orientation == 1
    assert b"Exif" not in cleaned.content


def test_a_later_exif_without_orientation_keeps_the_earlier_one():
    """GIVEN two EXIF segments, the first with orientation 8 WHEN the second has none
    THEN orientation 8 is kept."""
    original = with_segments(
        plain_jpeg(),
        segment(0xE1, exif_body(8)),
        segment(0xE1, b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"),
    )
    assert clean_losslessly(original, "image/jpeg").orientation == 8


@pytest.mark.parametrize(
    ("segments", "kept"),
    [
        ([segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01")], [0xEE]),
        ([segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + b"\x00" * 20)], [0xE2]),
        ([segment(0xE2, b"FPXR\x00" + b"\x00" * 20)], []),
        ([segment(0xEE, b"NotAdobe")], []),
        ([segment(0xE0, b"JFXX\x00\x10")], [0xE0]),
        ([segment(0xE0, b"AVI1\x00\x00")], []),
        ([segment(0xEF, b"x")], []),
        ([segment(0xFE, b"a comment")], []),
        ([segment(0xDD, b"\x00\x04")], [0xDD]),
    ],
    ids=[
        "adobe",
        "icc",
        "flashpix",
        "app14-not-adobe",
        "jfxx",
        "app0-other",
        "app15",
        "com",
        "restart-interval",
    ],
)
def test_which_segments_are_kept(segments, kept):
    """GIVEN one extra segment after JFIF WHEN cleaned THEN it is kept only if it says how
    to show the pixels (Adobe, ICC, JFXX, tables); other APPn and comments are dropped."""
    cleaned = clean_losslessly(with_segments(plain_jpeg(), *segments), "image/jpeg")
    assert markers(cleaned.content)[1 : 1 + len(kept)] == kept
    assert markers(cleaned.content).count(segments[0][1]) == (1 if kept else 0) + (
        1 if segments[0][1] == 0xE0 else 0
    )


@pytest.mark.parametrize("marker", [0x01, 0xD0, 0xD3, 0xD7], ids=["TEM", "RST0", "RST3", "RST7"])
def test_fill_bytes_and_standalone_markers_are_read_through(marker):
    """GIVEN fill bytes (extra 0xFF) before a marker and a standalone marker (TEM, RST0-7,
    which have no length) between segments WHEN cleaned THEN the file is cleaned as
    without them, the standalone marker kept in place."""
    jpeg = plain_jpeg()
    at = 4 + struct.unpack(">H", jpeg[4:6])[0]
    original = jpeg[:at] + bytes((0xFF, marker)) + b"\xff\xff\xff" + jpeg[at:]
    plain = clean_losslessly(jpeg, "image/jpeg").content
    cleaned = clean_losslessly(original, "image/jpeg").content
    assert cleaned == plain[:at] + bytes((0xFF, marker)) + plain[at:]


def test_anything_after_the_end_marker_is_dropped():
    """GIVEN bytes appended after EOI (a second file, a zip) WHEN cleaned THEN the stored
    JPEG ends at EOI."""
    jpeg = plain_jpeg()
    cleaned = clean_losslessly(jpeg + b"PK\x03\x04 appended archive", "image/jpeg")
    assert cleaned.content.endswith(b"\xff\xd9")
    assert b"PK\x03\x04" not in cleaned.content


def sof_position(jpeg: bytes) -> int:
    return jpeg.index(b"\xff\xc0")


JPEG_DAMAGE = {
    "not-a-jpeg": (lambda d: b"\xff\xd9" + d[2:], "The JPEG does not start as a JPEG does."),
    "segment-length-cut": (lambda d: d[:5], "The JPEG ends in the middle of a segment."),
    "segment-longer-than-file": (
        lambda d: d[:2] + b"\xff\xe1\xff\xff" + d[6:],
        "The JPEG has a segment longer than the file.",
    ),
    "segment-length-one": (
        lambda d: d[:2] + b"\xff\xfe\x00\x01" + d[6:],
        "The JPEG has a segment longer than the file.",
    ),
    "scan-before-frame": (
        lambda d: d[:2] + d[d.index(b"\xff\xda") :],
        "The JPEG has image data before its frame header.",
    ),
    "no-frame": (
        lambda d: d[:2] + segment(0xFE, b"x") + b"\xff\xd9",
        "The JPEG has no frame header.",
    ),
    "scan-cut": (
        lambda d: d[: d.index(b"\xff\xda") + 40],
        "The JPEG ends in the middle of its image data.",
    ),
    "garbage-between-segments": (
        lambda d: d[:2] + b"\x00" + d[2:],
        "The JPEG's segments do not follow each other as they should.",
    ),
    "marker-zero": (
        lambda d: d[:2] + b"\xff\x00" + d[2:],
        "The JPEG's segments do not follow each other as they should.",
    ),
    "fill-to-the-end": (
        lambda d: d[:2] + b"\xff" * 8,
        "The JPEG ends before its end marker.",
    ),
    "one-byte-left": (
        lambda d: d[:2] + b"\xff",
        "The JPEG's segments do not follow each other as they should.",
    ),
}


@pytest.mark.parametrize("damage", JPEG_DAMAGE, ids=list(JPEG_DAMAGE))
def test_each_broken_jpeg_structure_is_refused_with_its_reason(damage):
    change, reason = JPEG_DAMAGE[damage]
    with pytest.raises(CleaningError) as refused:
        clean_losslessly(change(plain_jpeg()), "image/jpeg")
    assert str(refused.value) == reason


@pytest.mark.parametrize("marker", [0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC9, 0xCF])
def test_every_frame_header_kind_counts_as_a_frame(marker):
    """GIVEN a JPEG whose frame header is any SOFn (not DHT C4, JPG C8 or DAC CC)
    WHEN cleaned THEN it is accepted as having a frame."""
    jpeg = plain_jpeg()
    at = sof_position(jpeg)
    changed = jpeg[: at + 1] + bytes((marker,)) + jpeg[at + 2 :]
    assert clean_losslessly(changed, "image/jpeg").content.count(bytes((0xFF, marker))) >= 1


@pytest.mark.parametrize("marker", [0xBF, 0xC4, 0xC8, 0xCC])
def test_tables_in_the_sof_range_are_not_a_frame(marker):
    """GIVEN a JPEG whose only "frame" is DHT, JPG or DAC WHEN cleaned THEN it has no
    frame header and is refused."""
    jpeg = plain_jpeg()
    at = sof_position(jpeg)
    changed = jpeg[: at + 1] + bytes((marker,)) + jpeg[at + 2 :]
    with pytest.raises(CleaningError) as refused:
        clean_losslessly(changed, "image/jpeg")
    assert str(refused.value) == "The JPEG has image data before its frame header."


def chunk(kind: bytes, body: bytes) -> bytes:
    return text_chunk(kind, body)


def png_chunks(data: bytes) -> list[bytes]:
    kinds, position = [], 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kinds.append(data[position + 4 : position + 8])
        position += 12 + length
    return kinds


@pytest.mark.parametrize(
    "kind",
    [b"sRGB", b"gAMA", b"cHRM", b"sBIT", b"tRNS", b"bKGD", b"pHYs", b"acTL", b"fcTL", b"fdAT"],
)
def test_png_keeps_each_chunk_that_says_how_to_show_the_pixels(kind):
    """GIVEN a PNG with one display chunk (colour, gamma, transparency, APNG frames)
    WHEN cleaned THEN that chunk is kept where it was."""
    png = samples.png()
    original = png[:33] + chunk(kind, b"\x00\x00\x00\x01") + png[33:]
    assert png_chunks(clean_losslessly(original, "image/png").content)[:2] == [b"IHDR", kind]


@pytest.mark.parametrize("kind", [b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME", b"prVt", b"caBX"])
def test_png_drops_metadata_and_unknown_ancillary_chunks(kind):
    png = samples.png()
    original = png[:33] + chunk(kind, b"John Smith") + png[33:]
    cleaned = clean_losslessly(original, "image/png").content
    assert kind not in png_chunks(cleaned)
    assert b"John Smith" not in cleaned


PNG_DAMAGE = {
    "not-a-png": (
        lambda d: b"\x89PNG\r\n\x1a\x0b" + d[8:],
        "The PNG does not start as a PNG does.",
    ),
    "cut-in-a-chunk-header": (lambda d: d[: 8 + 25 + 7], "The PNG ends before its IEND chunk."),
    "no-iend": (lambda d: d[: d.index(b"IEND") - 4], "The PNG ends before its IEND chunk."),
    "chunk-longer-than-file": (
        lambda d: d[:33] + struct.pack(">I", 1000) + b"IDAT" + b"\x00" * 10,
        "The PNG has a chunk longer than the file.",
    ),
    "chunk-length-over-2gb": (
        lambda d: d[:33] + struct.pack(">I", 0x80000000) + b"IDAT" + b"\x00" * 10,
        "The PNG has a chunk longer than the file.",
    ),
    "bad-crc": (lambda d: d[:30] + b"X" + d[31:], "The PNG's IHDR chunk is damaged."),
    "text-before-header": (
        lambda d: d[:8] + chunk(b"tEXt", b"a\x00b") + d[8:],
        "The PNG does not start with its header chunk.",
    ),
    "unknown-critical-chunk": (
        lambda d: d[:33] + chunk(b"EVIL", b"x") + d[33:],
        "The PNG has a critical chunk no viewer knows (b'EVIL').",
    ),
}


@pytest.mark.parametrize("damage", PNG_DAMAGE, ids=list(PNG_DAMAGE))
def test_each_broken_png_structure_is_refused_with_its_reason(damage):
    change, reason = PNG_DAMAGE[damage]
    with pytest.raises(CleaningError) as refused:
        clean_losslessly(change(samples.png()), "image/png")
    assert str(refused.value) == reason


def webp_of(*chunks: bytes) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) % 2 else b"")


def webp_parts(data: bytes) -> list[tuple[bytes, bytes]]:
    parts, position = [], 12
    while position < len(data):
        kind, length = struct.unpack("<4sI", data[position : position + 8])
        parts.append((kind, data[position + 8 : position + 8 + length]))
        position += 8 + length + (length & 1)
    return parts


def vp8l() -> bytes:
    """The lossless bitstream chunk of a real WebP."""
    image = Image.new("RGB", (5, 3), "red")
    out = io.BytesIO()
    image.save(out, "WEBP", lossless=True)
    return dict(webp_parts(out.getvalue()))[b"VP8L"]


def test_webp_clears_the_exif_and_xmp_flags_and_keeps_the_others():
    """GIVEN an extended WebP whose header says it has EXIF, XMP, an ICC profile and alpha
    WHEN cleaned THEN the EXIF and XMP flags are cleared and the others kept."""
    flags = 0x20 | 0x10 | 0x08 | 0x04  # ICC, alpha, EXIF, XMP
    header = bytes((flags, 0, 0, 0)) + b"\x04\x00\x00\x02\x00\x00"  # 5 x 3
    original = webp_of(
        riff_chunk(b"VP8X", header),
        riff_chunk(b"ICCP", b"profile"),
        riff_chunk(b"VP8L", vp8l()),
        riff_chunk(b"EXIF", b"MM\x00*GPS"),
        riff_chunk(b"XMP ", b"<x:xmpmeta/>"),
    )
    parts = webp_parts(clean_losslessly(original, "image/webp").content)
    assert [kind for kind, _ in parts] == [b"VP8X", b"ICCP", b"VP8L"]
    assert parts[0][1][0] == 0x20 | 0x10
    assert parts[0][1][1:] == header[1:]


def test_webp_keeps_an_odd_length_chunk_padded_and_drops_unknown_chunks():
    """GIVEN an ICC chunk of odd length and an unknown chunk WHEN cleaned THEN the ICC
    chunk is kept with its pad byte, the unknown one dropped, and the RIFF size matches."""
    original = webp_of(
        riff_chunk(b"VP8L", vp8l()), riff_chunk(b"ICCP", b"odd"), riff_chunk(b"ZZZZ", b"x")
    )
    cleaned = clean_losslessly(original, "image/webp").content
    assert webp_parts(cleaned) == [(b"VP8L", vp8l()), (b"ICCP", b"odd")]
    assert struct.unpack("<I", cleaned[4:8])[0] == len(cleaned) - 8
    assert len(cleaned) % 2 == 0


@pytest.mark.parametrize("pad", [b"\x01", b"<", b"\xff"])
def test_webp_writes_a_padding_byte_as_zero_whatever_the_original_held(pad):
    """GIVEN an odd-length chunk whose padding byte is not zero (a byte nothing reads, where
    anything can hide) WHEN cleaned THEN the padding written is zero and the chunk the same."""
    odd = riff_chunk(b"ICCP", b"odd")[:-1] + pad
    cleaned = clean_losslessly(webp_of(riff_chunk(b"VP8L", vp8l()), odd), "image/webp").content
    assert cleaned.endswith(b"ICCP" + struct.pack("<I", 3) + b"odd\x00")


@pytest.mark.parametrize("kind", [b"VP8 ", b"VP8L", b"ANMF"])
def test_webp_image_data_is_any_of_its_bitstream_chunks(kind):
    """GIVEN a WebP whose only image chunk is VP8, VP8L or an animation frame WHEN cleaned
    THEN it is accepted; with none of them it is refused."""
    data = vp8l() if kind == b"VP8L" else b"\x00" * 10
    cleaned = clean_losslessly(webp_of(riff_chunk(kind, data)), "image/webp").content
    assert webp_parts(cleaned) == [(kind, data)]


WEBP_DAMAGE = {
    "short": (lambda d: d[:11], "The WebP does not start as a WebP does."),
    "not-riff": (lambda d: b"RIFX" + d[4:], "The WebP does not start as a WebP does."),
    "not-webp": (lambda d: d[:8] + b"WAVE" + d[12:], "The WebP does not start as a WebP does."),
    "size-beyond-file": (
        lambda d: d[:4] + struct.pack("<I", len(d) - 7) + d[8:],
        "The WebP says it is longer than the file.",
    ),
    # A size whose highest byte is set: read from all four of its bytes, never three.
    "size-beyond-16-mib": (
        lambda d: d[:4] + struct.pack("<I", len(d) - 8 + (1 << 24)) + d[8:],
        "The WebP says it is longer than the file.",
    ),
    "size-under-four": (
        lambda d: d[:4] + struct.pack("<I", 3) + d[8:],
        "The WebP says it is longer than the file.",
    ),
    "cut-chunk-header": (
        lambda d: webp_of(riff_chunk(b"VP8L", vp8l()), b"ICCP\x00\x00\x00"),
        "The WebP ends in the middle of a chunk header.",
    ),
    "chunk-one-byte-longer-than-file": (
        lambda d: webp_of(riff_chunk(b"VP8L", vp8l()), b"ICCP" + struct.pack("<I", 1)),
        "The WebP has a chunk longer than the file.",
    ),
    "chunk-length-beyond-16-mib": (
        lambda d: webp_of(b"VP8L" + struct.pack("<I", len(vp8l()) + (1 << 24)) + vp8l()),
        "The WebP has a chunk longer than the file.",
    ),
    "extended-header-too-short": (
        lambda d: webp_of(riff_chunk(b"VP8X", b"\x00" * 9), riff_chunk(b"VP8L", vp8l())),
        "The WebP's extended header is too short.",
    ),
    "no-image-data": (
        lambda d: webp_of(riff_chunk(b"ICCP", b"profile"), riff_chunk(b"ALPH", b"xx")),
        "The WebP has no image data.",
    ),
}


@pytest.mark.parametrize("damage", WEBP_DAMAGE, ids=list(WEBP_DAMAGE))
def test_each_broken_webp_structure_is_refused_with_its_reason(damage):
    change, reason = WEBP_DAMAGE[damage]
    with pytest.raises(CleaningError) as refused:
        clean_losslessly(change(samples.webp()), "image/webp")
    assert str(refused.value) == reason


def test_a_type_with_no_lossless_cleaning_is_not_cleaned_here():
    with pytest.raises(ValueError, match="no lossless cleaning for image/gif"):
        clean_losslessly(b"GIF89a", "image/gif")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_processing_records_the_size_a_photo_is_shown_at(orientation):
    """GIVEN a 40 x 30 JPEG whose EXIF orientation is 1 to 8 WHEN processing cleans it
    THEN the stored bytes are the lossless cleaning's, and the width and height recorded
    are as the photo is shown: turned for orientations 5 to 8 (a quarter turn)."""
    from files.pipeline.processing import clean

    data = with_segments(samples.jpeg((40, 30)), segment(0xE1, exif_body(orientation)))
    cleaned = clean(io.BytesIO(data), "image/jpeg")
    assert cleaned.content == clean_losslessly(data, "image/jpeg").content
    assert (cleaned.width, cleaned.height) == ((30, 40) if orientation >= 5 else (40, 30))


@pytest.mark.parametrize(
    ("content_type", "make"),
    [("image/jpeg", samples.jpeg), ("image/png", lambda: fast_png()), ("image/webp", samples.webp)],
)
def test_processing_cleans_jpeg_png_and_webp_without_decoding_them(content_type, make):
    """GIVEN a JPEG, PNG or WebP WHEN processing cleans it THEN the stored bytes are the
    lossless cleaning's (the camera's image data kept byte for byte), in the same type."""
    from files.pipeline.processing import clean

    data = make()
    cleaned = clean(io.BytesIO(data), content_type)
    losslessly = clean_losslessly(data, content_type)
    assert cleaned.content == losslessly.content
    assert cleaned.mime_type == content_type
    assert losslessly.orientation == 1


def fast_png() -> bytes:
    """A PNG compressed as a camera app might (level 1): re-encoding it would change its
    IDAT bytes, so keeping them shows it was not decoded."""
    out = io.BytesIO()
    Image.effect_noise((31, 23), 50).convert("RGB").save(out, "PNG", compress_level=1)
    return out.getvalue()


def test_the_orientation_segment_is_a_minimal_tiff_with_one_tag():
    """GIVEN a JPEG turned by its EXIF (orientation 6) WHEN cleaned THEN the only EXIF left
    is exactly: big-endian TIFF, IFD0 at 8, one entry (Orientation, SHORT, count 1, 6), no
    next IFD."""
    cleaned = clean_losslessly(
        with_segments(plain_jpeg(), segment(0xE1, exif_body(6, before=2))), "image/jpeg"
    ).content
    expected = segment(
        0xE1,
        b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"
        b"\x00\x01"
        b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00"
        b"\x00\x00\x00\x00",
    )
    at = 4 + struct.unpack(">H", cleaned[4:6])[0]
    assert cleaned[at : at + len(expected)] == expected


@pytest.mark.parametrize("marker", [0xE0, 0xE2, 0xDB])
def test_an_orientation_is_read_only_from_an_app1_exif_segment(marker):
    """GIVEN an EXIF block saying orientation 6 in a segment other than APP1 WHEN cleaned
    THEN the photo is upright (1): only APP1 carries EXIF."""
    body = exif_body(6)
    original = with_segments(plain_jpeg(), segment(marker, body))
    assert clean_losslessly(original, "image/jpeg").orientation == 1


@pytest.mark.parametrize(
    ("marker", "kept"), [(0xDF, True), (0xF0, True), (0xEF, False), (0xE0 + 3, False)]
)
def test_segments_beside_the_app_range_are_kept_and_app_segments_dropped(marker, kept):
    """GIVEN a segment just outside APP0-APP15 (0xDF, 0xF0) or inside it WHEN cleaned THEN
    the first kind is kept as the tables are, the second dropped."""
    cleaned = clean_losslessly(with_segments(plain_jpeg(), segment(marker, b"xyz")), "image/jpeg")
    assert (marker in markers(cleaned.content)) == kept


def test_an_empty_segment_is_read_and_dropped():
    """GIVEN a comment segment with no body (length 2) WHEN cleaned THEN it is dropped and
    the rest kept."""
    original = with_segments(plain_jpeg(), b"\xff\xfe\x00\x02")
    cleaned = clean_losslessly(original, "image/jpeg").content
    assert cleaned == clean_losslessly(plain_jpeg(), "image/jpeg").content


@pytest.mark.parametrize(
    ("cut", "reason"),
    [
        (lambda d: d[:6], "The JPEG has a segment longer than the file."),
        (
            lambda d: d[: 4 + struct.unpack(">H", d[4:6])[0]],
            "The JPEG's segments do not follow each other as they should.",
        ),
        (
            lambda d: d[:2] + b"\xff\xd8" + d[2:],
            "The JPEG's segments do not follow each other as they should.",
        ),
        # A second start of image whose next two bytes read as a length that fits: refused
        # as what it is, never kept in the cleaned file as if it were a table.
        (
            lambda d: d[:2] + b"\xff\xd8\x00\x04ab" + d[2:],
            "The JPEG's segments do not follow each other as they should.",
        ),
        (
            lambda d: d[:2] + b"\xff\xff\xd8\x00\x02" + d[2:],
            "The JPEG's segments do not follow each other as they should.",
        ),
    ],
    ids=[
        "cut-after-a-length",
        "cut-after-a-whole-segment",
        "a-second-start-marker",
        "a-second-start-marker-with-a-length",
        "a-second-start-marker-after-fill",
    ],
)
def test_a_jpeg_cut_at_a_segment_edge_is_refused_with_its_reason(cut, reason):
    with pytest.raises(CleaningError) as refused:
        clean_losslessly(cut(plain_jpeg()), "image/jpeg")
    assert str(refused.value) == reason


def test_a_palette_png_keeps_its_palette():
    """GIVEN a PNG whose pixels index a palette (PLTE) WHEN cleaned THEN the palette is
    kept and the picture is the same."""
    image = Image.effect_noise((20, 10), 60).convert("P", palette=Image.Palette.ADAPTIVE)
    out = io.BytesIO()
    image.save(out, "PNG")
    cleaned = clean_losslessly(out.getvalue(), "image/png").content
    assert b"PLTE" in png_chunks(cleaned)
    with Image.open(io.BytesIO(cleaned)) as stored:
        assert stored.convert("RGB").tobytes() == image.convert("RGB").tobytes()


@pytest.mark.parametrize(
    ("cut", "reason"),
    [
        (lambda d: d[:-4], "The PNG has a chunk longer than the file."),
        (lambda d: d[:-5], "The PNG ends before its IEND chunk."),
        (lambda d: d[:-1], "The PNG has a chunk longer than the file."),
    ],
    ids=["iend-without-crc", "cut-inside-iend-header", "iend-crc-one-byte-short"],
)
def test_a_png_cut_at_its_last_chunk_is_refused_with_its_reason(cut, reason):
    with pytest.raises(CleaningError) as refused:
        clean_losslessly(cut(samples.png()), "image/png")
    assert str(refused.value) == reason


def test_webp_keeps_its_animation_and_alpha_chunks():
    """GIVEN an animated WebP with alpha (VP8X, ANIM, ANMF, ALPH, ICCP) WHEN cleaned THEN
    each chunk is kept in order and the header's other flags (animation, reserved) too."""
    header = bytes((0x20 | 0x10 | 0x08 | 0x04 | 0x02 | 0x01, 0, 0, 0)) + b"\x04\x00\x00\x02\x00\x00"
    original = webp_of(
        riff_chunk(b"VP8X", header),
        riff_chunk(b"ICCP", b"profile!"),
        riff_chunk(b"ANIM", b"\x00" * 6),
        riff_chunk(b"ANMF", b"\x00" * 16),
        riff_chunk(b"ALPH", b"\x00" * 4),
        riff_chunk(b"EXIF", b"MM\x00*GPS"),
    )
    parts = webp_parts(clean_losslessly(original, "image/webp").content)
    assert [kind for kind, _ in parts] == [b"VP8X", b"ICCP", b"ANIM", b"ANMF", b"ALPH"]
    assert parts[0][1][0] == 0x20 | 0x10 | 0x02 | 0x01


def test_a_webp_of_just_its_header_has_no_image_data():
    """GIVEN the 12 bytes of a RIFF WEBP header with a size of 4 (nothing after) WHEN
    cleaned THEN 'no image data', not a malformed start."""
    with pytest.raises(CleaningError) as refused:
        clean_losslessly(b"RIFF" + struct.pack("<I", 4) + b"WEBP", "image/webp")
    assert str(refused.value) == "The WebP has no image data."


def test_a_last_odd_chunk_without_its_pad_byte_is_padded():
    """GIVEN a WebP whose last chunk is of odd length and the file ends without its pad
    byte WHEN cleaned THEN the chunk is kept with a pad byte and the RIFF size matches."""
    body = b"WEBP" + riff_chunk(b"VP8L", vp8l()) + b"ICCP" + struct.pack("<I", 3) + b"odd"
    original = b"RIFF" + struct.pack("<I", len(body)) + body
    cleaned = clean_losslessly(original, "image/webp").content
    assert cleaned.endswith(b"ICCP" + struct.pack("<I", 3) + b"odd\x00")
    assert struct.unpack("<I", cleaned[4:8])[0] == len(cleaned) - 8
