"""Lossless metadata removal (issue 16): nothing personal left in the stored file, the
image data byte for byte the camera's, and a file whose structure does not parse refused
with a reason."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from files.cleaning import CleaningError, clean_losslessly, exif_orientation
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
