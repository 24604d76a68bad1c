"""The thumbnail renderer: aspect-fill arithmetic, safe opening, orientation, metadata, HEIC.

Every image here is made by the test with Pillow or pillow-heif. No timings: whether the fast
path was taken is read from `Rendition.decoded_size` (the pixels actually decoded).
"""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from PIL import Image, ImageCms, ImageOps

from files.pipeline import rendering
from files.pipeline.rendering import (
    ALLOWED_IMAGE_FORMATS,
    MAX_IMAGE_PIXELS,
    ImageRejected,
    aspect_fill_size,
    clean_original,
    open_image,
    parse_image_size,
    render_aspect_fill,
    upright_size,
)

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)

# The stored pixels that, shown with EXIF orientation N, look like the upright picture.
STORE_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def quadrants(width: int = 1600, height: int = 1200) -> Image.Image:
    """Upright picture: red top-left, green top-right, blue bottom-left, white bottom-right."""
    image = Image.new("RGB", (width, height), RED)
    image.paste(GREEN, (width // 2, 0, width, height // 2))
    image.paste(BLUE, (0, height // 2, width // 2, height))
    image.paste(WHITE, (width // 2, height // 2, width, height))
    return image


def stored_with_orientation(orientation: int, upright: Image.Image) -> Image.Image:
    method = STORE_FOR_ORIENTATION[orientation]
    return upright.copy() if method is None else upright.transpose(method)


def exif_bytes(orientation: int = 1, *, gps: bool = False) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 15 Pro"  # Model
    if gps:
        exif[0x8825] = {1: "N", 2: (51.0, 30.0, 26.0), 3: "W", 4: (0.0, 7.0, 39.0)}
    return exif.tobytes()


def encode(image: Image.Image, image_format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


def corner_colours(data: bytes) -> tuple:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width, height = image.size
    inset_x, inset_y = max(1, width // 8), max(1, height // 8)
    points = [
        (inset_x, inset_y),
        (width - 1 - inset_x, inset_y),
        (inset_x, height - 1 - inset_y),
        (width - 1 - inset_x, height - 1 - inset_y),
    ]
    return tuple(nearest_named_colour(image.getpixel(point)) for point in points)


def nearest_named_colour(pixel: tuple[int, int, int]) -> str:
    named = {"red": RED, "green": GREEN, "blue": BLUE, "white": WHITE}
    return min(
        named, key=lambda name: sum((a - b) ** 2 for a, b in zip(named[name], pixel, strict=True))
    )


def png_with_header_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height`: a pixel-flood bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


# --- aspect-fill arithmetic ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "requested", "expected"),
    [
        ((4032, 3024), (200, 140), (200, 150)),  # landscape photo: width binds
        ((3024, 4032), (200, 140), (200, 267)),  # portrait photo: 266.67 rounded up
        ((400, 280), (200, 140), (200, 140)),  # same aspect: exact
        ((4032, 3024), (1, 1), (2, 1)),  # 1x1 request: the short side is 1
        ((1, 1), (200, 140), (1, 1)),  # 1x1 original: never upscaled
        ((1, 1), (1, 1), (1, 1)),
        ((100, 80), (200, 140), (100, 80)),  # request larger than the original
        ((300, 100), (200, 140), (300, 100)),  # one side would need upscaling: original
        ((200, 140), (200, 140), (200, 140)),  # request equal to the original
        ((10_000, 10), (200, 140), (10_000, 10)),  # extreme panorama, cannot fill: original
        ((100_000, 1_000), (200, 140), (14_000, 140)),  # extreme panorama that can shrink
        ((1_000, 100_000), (200, 140), (200, 20_000)),  # extreme tower
        ((3, 2), (2, 1), (2, 2)),  # 1.33 rounded up, capped at the original's 2
    ],
)
def test_aspect_fill_size_edges(original, requested, expected):
    """
    GIVEN an original size and a requested size at an edge of the arithmetic
    WHEN the aspect-fill size is computed
    THEN it is the documented size: neither side short, never larger than the original
    """
    assert aspect_fill_size(*original, *requested) == expected


def test_aspect_fill_size_invariants_hold_for_many_sizes():
    """
    GIVEN thousands of random original and requested sizes, from 1 px to 20,000 px
    WHEN the aspect-fill size is computed
    THEN it never exceeds the original; unless it is the original, both sides reach the request
         and one side equals it exactly; the aspect ratio is kept to within rounding
    """
    generator = random.Random(20260901)
    for _ in range(5000):
        src_w, src_h = generator.randint(1, 20_000), generator.randint(1, 20_000)
        req_w, req_h = generator.randint(1, 4096), generator.randint(1, 4096)
        width, height = aspect_fill_size(src_w, src_h, req_w, req_h)
        assert 1 <= width <= src_w and 1 <= height <= src_h
        if (width, height) != (src_w, src_h):
            assert width >= req_w and height >= req_h
            assert width == req_w or height == req_h
            # |w/h - src_w/src_h| within one pixel of rounding on the rounded side
            assert abs(width * src_h - height * src_w) <= max(src_w, src_h)


@pytest.mark.parametrize(
    "sizes", [(0, 10, 5, 5), (10, 0, 5, 5), (10, 10, 0, 5), (10, 10, 5, -1), (-4, 10, 5, 5)]
)
def test_aspect_fill_size_rejects_zero_and_negative(sizes):
    """
    GIVEN a zero or negative side in the original or the request
    WHEN the aspect-fill size is computed
    THEN ValueError is raised
    """
    with pytest.raises(ValueError):
        aspect_fill_size(*sizes)


# --- imageSize answers and the kept sizes they are made from ----------------------------


def test_image_size_answer_is_the_aspect_fill_for_many_sizes():
    """
    GIVEN thousands of random image sizes and imageSize boxes (1 to 4096 a side)
    WHEN the answer to imageSize is worked out
    THEN it is the aspect fill of the box itself (seed 001): one side equal to the box and the
         other not smaller, or the original when that would be larger; never cropped
    """
    generator = random.Random(20261206)
    for _ in range(5000):
        src_w, src_h = generator.randint(1, 20_000), generator.randint(1, 20_000)
        req_w, req_h = generator.randint(1, 4096), generator.randint(1, 4096)
        answer = rendering.image_size_answer(src_w, src_h, req_w, req_h)
        assert answer == aspect_fill_size(src_w, src_h, req_w, req_h), (src_w, src_h, req_w, req_h)


def test_every_answer_is_made_from_the_smallest_kept_size_not_smaller_than_it():
    """
    GIVEN thousands of random image sizes and imageSize boxes
    WHEN the kept size an answer is made from is looked up
    THEN it is not smaller than the answer on either side, no smaller kept size would do, it
         is never larger than the original, and none exists only when the kept sizes all
         fall short (then the answer is made from the original); at most 14 kept sizes
    """
    generator = random.Random(20261207)
    for _ in range(3000):
        src_w, src_h = generator.randint(1, 20_000), generator.randint(1, 20_000)
        req_w, req_h = generator.randint(1, 4096), generator.randint(1, 4096)
        answer = rendering.image_size_answer(src_w, src_h, req_w, req_h)
        kept = rendering.kept_sizes(src_w, src_h)
        assert len(kept) <= len(rendering.RENDITION_SIDES) == 14
        assert (src_w, src_h) not in kept
        assert all(w <= src_w and h <= src_h for w, h in kept)
        large_enough = [(w, h) for w, h in kept if w >= answer[0] and h >= answer[1]]
        source = rendering.kept_size_for(src_w, src_h, *answer)
        if not large_enough:
            assert source is None
        else:
            assert source == min(large_enough)


@pytest.mark.parametrize(
    ("original", "kept"),
    [
        ((1600, 1200), [(43, 32), (86, 64), (128, 96), (171, 128), (256, 192), (342, 256),
                        (512, 384), (683, 512), (1024, 768), (1366, 1024)]),
        ((1200, 1600), [(32, 43), (64, 86), (96, 128), (128, 171), (192, 256), (256, 342),
                        (384, 512), (512, 683), (768, 1024), (1024, 1366)]),
        ((20, 10), []),
        ((4032, 3024), [(43, 32), (86, 64), (128, 96), (171, 128), (256, 192), (342, 256),
                        (512, 384), (683, 512), (1024, 768), (1366, 1024), (2048, 1536),
                        (2731, 2048)]),
    ],
)  # fmt: skip
def test_kept_sizes_put_the_short_side_on_the_ladder(original, kept):
    """
    GIVEN an image size
    WHEN the sizes the worker keeps are listed
    THEN each has its short side on one of RENDITION_SIDES, the long side rounded up,
         none as large as the original
    """
    assert rendering.kept_sizes(*original) == kept


def test_an_imagesize_rendition_is_never_cropped():
    """
    GIVEN a 9000x300 panorama, whose aspect fill for 32x200 is 6000x200
    WHEN rendered for imageSize (no max_size)
    THEN the whole panorama comes back at 6000x200, its left and right ends included
         (seed 001: the server does not crop; it was cut to 4096 about its centre)
    """
    panorama = Image.new("RGB", (9000, 300), GREEN)
    panorama.paste(RED, (0, 0, 300, 300))
    panorama.paste(BLUE, (8700, 0, 9000, 300))
    rendition = render_aspect_fill(io.BytesIO(encode(panorama, "PNG")), 32, 200)
    assert (rendition.width, rendition.height) == (6000, 200)
    image = Image.open(io.BytesIO(rendition.content)).convert("RGB")
    assert nearest_named_colour(image.getpixel((50, 100))) == "red"
    assert nearest_named_colour(image.getpixel((5950, 100))) == "blue"


@pytest.mark.parametrize(("size", "target"), [((256, 192), (200, 150)), ((97, 32), (50, 17))])
def test_render_scaled_makes_exactly_the_size_asked_of_the_whole_picture(size, target):
    """
    GIVEN a kept rendition (whose own aspect fill of the target may be a pixel off it: a
        97x32 rendition aspect-fills 50x17 to 52x17)
    WHEN it is scaled to the answer's size
    THEN exactly that size comes back, the whole picture in its corners
    """
    rendition = rendering.render_scaled(io.BytesIO(encode(quadrants(*size), "PNG")), *target)
    assert (rendition.width, rendition.height) == target
    if min(target) >= 16:
        assert corner_colours(rendition.content) == ("red", "green", "blue", "white")


def test_render_scaled_never_upscales():
    """
    GIVEN a 100x75 image
    WHEN asked to scale it to 101x75
    THEN it is refused with a reason, not enlarged
    """
    with pytest.raises(ImageRejected, match="smaller than the size asked"):
        rendering.render_scaled(io.BytesIO(encode(quadrants(100, 75), "PNG")), 101, 75)


# --- imageSize parsing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("200x140", (200, 140)), ("1x1", (1, 1)), ("4096x4096", (4096, 4096)), ("64X48", (64, 48))],
)
def test_parse_image_size_accepts_width_x_height(value, expected):
    """
    GIVEN a well-formed imageSize
    WHEN it is parsed
    THEN width and height come back as integers
    """
    assert parse_image_size(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "200",
        "200x",
        "x140",
        "0x140",
        "200x0",
        "-1x5",
        "200x140x3",
        " 200x140",
        "200x140 ",
        "200*140",
        "4097x10",
        "10x4097",
        "1e3x5",
        "\uff12\uff10\uff10x140",  # full-width digits
        "99999999999x1",
    ],
)
def test_parse_image_size_rejects_malformed_sizes(value):
    """
    GIVEN a malformed or out-of-range imageSize
    WHEN it is parsed
    THEN ValueError says what a valid size looks like
    """
    with pytest.raises(ValueError, match=r"imageSize"):
        parse_image_size(value)


# --- opening: allow-list and decompression bombs ---------------------------------------------


def _psd_bytes() -> bytes:
    header = b"8BPS" + struct.pack(">H6sHIIHH", 1, b"\0" * 6, 3, 8, 8, 8, 3)
    return header + struct.pack(">I", 0) * 3 + struct.pack(">H", 0) + b"\0" * 192


UNSUPPORTED = {
    "GIF": lambda: encode(quadrants(64, 48), "GIF"),
    "BMP": lambda: encode(quadrants(64, 48), "BMP"),
    "TIFF": lambda: encode(quadrants(64, 48), "TIFF"),
    "ICO": lambda: encode(quadrants(64, 48), "ICO"),
    "PDF": lambda: encode(quadrants(64, 48), "PDF"),
    "PSD": _psd_bytes,
    "SVG": lambda: (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(1)</script></svg>"
    ),
    "HTML": lambda: b"<!doctype html><html><body>not an image</body></html>",
    "empty": lambda: b"",
}


@pytest.mark.parametrize("kind", sorted(UNSUPPORTED))
def test_open_image_refuses_formats_outside_the_allow_list(kind):
    """
    GIVEN the bytes of a GIF, BMP, TIFF, ICO, PDF, PSD, SVG, HTML page or nothing at all
    WHEN they are opened
    THEN ImageRejected names the formats we accept
    """
    with pytest.raises(ImageRejected, match=r"JPEG, PNG, WebP or HEIC"):
        open_image(io.BytesIO(UNSUPPORTED[kind]()))


def test_open_image_never_reaches_a_decoder_we_do_not_accept(monkeypatch):
    """
    GIVEN the GIF and TIFF openers replaced by ones that fail loudly if ever called
    WHEN a GIF and a TIFF are opened
    THEN they are refused without either opener being consulted
    """
    Image.init()

    def exploding_opener(*args, **kwargs):
        raise AssertionError("a decoder outside the allow-list was reached")

    for image_format in ("GIF", "TIFF"):
        _, accept = Image.OPEN[image_format]
        monkeypatch.setitem(Image.OPEN, image_format, (exploding_opener, accept))
    for image_format in ("GIF", "TIFF"):
        with pytest.raises(ImageRejected):
            open_image(io.BytesIO(encode(quadrants(64, 48), image_format)))


def test_allowed_formats_open(tmp_path):
    """
    GIVEN a JPEG, PNG, WebP and HEIC
    WHEN they are opened
    THEN each opens lazily with its format and size, and ALLOWED_IMAGE_FORMATS lists exactly these
    """
    assert set(ALLOWED_IMAGE_FORMATS) == {"JPEG", "PNG", "WEBP", "HEIF"}
    for image_format in ALLOWED_IMAGE_FORMATS:
        image = open_image(io.BytesIO(encode(quadrants(64, 48), image_format)))
        assert (image.format, image.size) == (image_format, (64, 48))


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (8001, 8001),  # 64 MP < 64.0 MP: above our limit, below Pillow's warning band
        (10_000, 10_000),  # 100 MP: Pillow's DecompressionBombWarning band
        (20_000, 20_000),  # 400 MP: Pillow's DecompressionBombError
        (1, 65_000_000),  # absurd strip
    ],
)
def test_pixel_flood_bombs_are_rejected_from_the_header(width, height, recwarn):
    """
    GIVEN a few hundred bytes of PNG whose header claims tens or hundreds of megapixels
    WHEN it is opened or rendered
    THEN ImageRejected says the image is too large, before any pixel is decoded
    """
    assert width * height > MAX_IMAGE_PIXELS
    bomb = png_with_header_size(width, height)
    assert len(bomb) < 200
    with pytest.raises(ImageRejected, match=r"too large"):
        open_image(io.BytesIO(bomb))
    with pytest.raises(ImageRejected, match=r"too large"):
        render_aspect_fill(io.BytesIO(bomb), 200, 140)


def test_image_at_the_pixel_limit_is_accepted():
    """
    GIVEN a PNG header of exactly MAX_IMAGE_PIXELS
    WHEN it is opened
    THEN it opens (the limit is inclusive) without decoding anything
    """
    image = open_image(io.BytesIO(png_with_header_size(8000, MAX_IMAGE_PIXELS // 8000)))
    assert image.size == (8000, 8000)


def test_truncated_jpeg_is_rejected_as_damaged():
    """
    GIVEN a JPEG cut off halfway
    WHEN it is rendered
    THEN ImageRejected says the image is damaged (no OSError escapes)
    """
    data = encode(quadrants(), "JPEG", quality=90)
    with pytest.raises(ImageRejected, match=r"damaged"):
        render_aspect_fill(io.BytesIO(data[: len(data) // 2]), 200, 140)


def test_unseekable_stream_is_read_into_memory():
    """
    GIVEN a stream that cannot seek (like some remote storage bodies)
    WHEN it is rendered
    THEN the thumbnail is made all the same
    """

    class Unseekable(io.RawIOBase):
        def __init__(self, data: bytes):
            self._inner = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, buffer):
            chunk = self._inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    rendition = render_aspect_fill(Unseekable(encode(quadrants(), "JPEG")), 200, 140)
    assert (rendition.width, rendition.height) == (200, 150)


# --- JPEG: shrink-on-load and orientation ------------------------------------------------


def test_jpeg_is_decoded_at_reduced_dct_scale():
    """
    GIVEN a 4032x3024 JPEG
    WHEN it is rendered to 200x140
    THEN the decoder produced 1/8 of the pixels per side (504x378), not 12 megapixels,
         and the thumbnail is 200x150 JPEG
    """
    rendition = render_aspect_fill(io.BytesIO(encode(quadrants(4032, 3024), "JPEG")), 200, 140)
    assert rendition.decoded_size == (504, 378)
    assert (rendition.width, rendition.height, rendition.content_type) == (200, 150, "image/jpeg")
    assert Image.open(io.BytesIO(rendition.content)).size == (200, 150)


def test_rotated_jpeg_is_decoded_at_reduced_scale_too():
    """
    GIVEN a 4032x3024 stored JPEG with EXIF orientation 6 (a portrait phone photo)
    WHEN it is rendered to 200x140
    THEN it is decoded at reduced scale in its stored orientation (the trap: rotating first
         would decode it whole), and the thumbnail is portrait 200x267
    """
    data = encode(quadrants(4032, 3024), "JPEG", exif=exif_bytes(6))
    rendition = render_aspect_fill(io.BytesIO(data), 200, 140)
    assert rendition.decoded_size == (1008, 756)
    assert (rendition.width, rendition.height) == (200, 267)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_every_exif_orientation_comes_out_upright(orientation, image_format):
    """
    GIVEN an upright picture stored transposed as EXIF orientation 1..8 says, as JPEG/PNG/WebP
    WHEN it is rendered to 100x70
    THEN the thumbnail has the upright picture's colours in its corners and its aspect ratio
    """
    upright = quadrants(1600, 1200)
    stored = stored_with_orientation(orientation, upright)
    data = encode(stored, image_format, exif=exif_bytes(orientation))
    # The fixture itself is right: Pillow's own exif_transpose turns it upright.
    assert ImageOps.exif_transpose(Image.open(io.BytesIO(data))).size == upright.size

    rendition = render_aspect_fill(io.BytesIO(data), 100, 70)

    assert (rendition.width, rendition.height) == (100, 75)
    assert corner_colours(rendition.content) == ("red", "green", "blue", "white")


@pytest.mark.parametrize(("orientation", "expected"), [(1, (800, 600)), (6, (600, 800))])
def test_upright_size_reads_orientation_from_the_header(orientation, expected):
    """
    GIVEN an 800x600 stored JPEG with EXIF orientation 1 or 6, and a HEIC saved with 6
    WHEN its upright size is read
    THEN it is the size as shown (portrait for 6), without decoding pixels
    """
    stored = quadrants(800, 600)
    image = open_image(io.BytesIO(encode(stored, "JPEG", exif=exif_bytes(orientation))))
    assert upright_size(image) == expected
    assert image.tile  # pixels not decoded yet
    heic = open_image(io.BytesIO(_heic(stored, orientation=orientation)))
    assert upright_size(heic) == expected


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_clean_original_is_upright_and_full_size(orientation):
    """
    GIVEN a JPEG stored with EXIF orientation 1, 3, 6 or 8
    WHEN its original is cleaned
    THEN it comes back upright, at full size, as JPEG
    """
    stored = stored_with_orientation(orientation, quadrants(800, 600))
    data = encode(stored, "JPEG", exif=exif_bytes(orientation))
    rendition = clean_original(io.BytesIO(data))
    assert (rendition.width, rendition.height, rendition.content_type) == (800, 600, "image/jpeg")
    assert corner_colours(rendition.content) == ("red", "green", "blue", "white")


# --- metadata ---------------------------------------------------------------------------


def _photo_with_metadata() -> bytes:
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="51,30.4N"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    return encode(
        quadrants(1600, 1200),
        "JPEG",
        exif=exif_bytes(1, gps=True),
        comment=b"Patient Jane Doe, NHS 943 476 5919",
        xmp=xmp,
        quality=90,
    )


def _assert_no_metadata(data: bytes):
    image = Image.open(io.BytesIO(data))
    assert not image.getexif()
    for key in ("exif", "comment", "xmp", "XML:com.adobe.xmp"):
        assert key not in image.info
    for marker in (b"Exif", b"Jane Doe", b"GPS", b"PhoneMaker", b"adobe:ns:meta", b"Phone 15"):
        assert marker not in data


def test_thumbnail_carries_no_metadata():
    """
    GIVEN a JPEG with EXIF (make, model, GPS), XMP with a location and a COM comment
    WHEN it is rendered
    THEN the thumbnail has no EXIF, XMP, comment or colour profile, and none of their bytes
    """
    source = _photo_with_metadata()
    assert Image.open(io.BytesIO(source)).info["comment"]  # the fixture has a comment
    rendition = render_aspect_fill(io.BytesIO(source), 200, 140)
    _assert_no_metadata(rendition.content)
    assert "icc_profile" not in Image.open(io.BytesIO(rendition.content)).info


def test_thumbnail_of_small_image_carries_no_metadata_either():
    """
    GIVEN a small JPEG with GPS and a comment, smaller than the requested size
    WHEN it is rendered (no resize happens: the original size comes back)
    THEN the output still has no metadata
    """
    source = encode(
        quadrants(120, 90), "JPEG", exif=exif_bytes(1, gps=True), comment=b"Patient Jane Doe"
    )
    rendition = render_aspect_fill(io.BytesIO(source), 200, 140)
    assert (rendition.width, rendition.height) == (120, 90)
    _assert_no_metadata(rendition.content)


def test_clean_original_removes_metadata_and_keeps_colour_profile():
    """
    GIVEN a JPEG with EXIF GPS, XMP, a comment and an ICC profile
    WHEN its original is cleaned
    THEN EXIF, XMP and comment are gone and the colour profile is kept
    """
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    source = Image.open(io.BytesIO(_photo_with_metadata()))
    data = encode(
        source,
        "JPEG",
        exif=exif_bytes(1, gps=True),
        comment=b"Patient Jane Doe",
        icc_profile=icc,
    )
    rendition = clean_original(io.BytesIO(data))
    _assert_no_metadata(rendition.content)
    assert Image.open(io.BytesIO(rendition.content)).info.get("icc_profile") == icc


def test_thumbnail_converts_colour_profile_to_srgb():
    """
    GIVEN a JPEG tagged with an sRGB ICC profile
    WHEN it is rendered
    THEN the pixels go through the colour conversion, the profile is dropped, colours survive
    """
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = encode(Image.new("RGB", (800, 600), (128, 64, 32)), "JPEG", icc_profile=srgb)
    rendition = render_aspect_fill(io.BytesIO(source), 80, 60)
    output = Image.open(io.BytesIO(rendition.content))
    assert "icc_profile" not in output.info
    assert all(
        abs(a - b) <= 4 for a, b in zip(output.getpixel((40, 30)), (128, 64, 32), strict=True)
    )


# --- transparency and modes --------------------------------------------------------------


def test_transparent_png_stays_transparent_as_png():
    """
    GIVEN an RGBA PNG whose right half is transparent
    WHEN it is rendered
    THEN the thumbnail is a PNG with the transparency kept
    """
    image = Image.new("RGBA", (800, 600), (255, 0, 0, 255))
    image.paste((0, 0, 0, 0), (400, 0, 800, 600))
    rendition = render_aspect_fill(io.BytesIO(encode(image, "PNG")), 200, 140)
    output = Image.open(io.BytesIO(rendition.content))
    assert (rendition.content_type, output.format, output.mode) == ("image/png", "PNG", "RGBA")
    assert output.getpixel((10, 10))[3] == 255 and output.getpixel((190, 10))[3] == 0


def test_transparent_webp_and_palette_png_stay_transparent():
    """
    GIVEN a WebP with alpha and a palette PNG with a transparent colour
    WHEN they are rendered
    THEN both thumbnails are PNGs with transparency
    """
    rgba = Image.new("RGBA", (800, 600), (0, 255, 0, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 400, 600))
    palette = rgba.convert("RGB").convert("P")
    palette.info["transparency"] = palette.getpixel((0, 0))
    for data in (encode(rgba, "WEBP", lossless=True), encode(palette, "PNG")):
        rendition = render_aspect_fill(io.BytesIO(data), 200, 140)
        assert rendition.content_type == "image/png"
        assert Image.open(io.BytesIO(rendition.content)).getpixel((10, 10))[3] == 0


def test_opaque_rgba_becomes_jpeg():
    """
    GIVEN an RGBA PNG whose alpha is fully opaque (a typical screenshot)
    WHEN it is rendered
    THEN the thumbnail is a JPEG
    """
    image = Image.new("RGBA", (800, 600), (10, 20, 30, 255))
    rendition = render_aspect_fill(io.BytesIO(encode(image, "PNG")), 200, 140)
    assert rendition.content_type == "image/jpeg"


@pytest.mark.parametrize("mode", ["L", "LA", "P", "1", "I;16", "CMYK"])
def test_unusual_modes_render(mode):
    """
    GIVEN greyscale, greyscale+alpha, palette, 1-bit, 16-bit and CMYK images
    WHEN they are rendered
    THEN a thumbnail of the right size comes out, without errors
    """
    image = Image.linear_gradient("L").resize((400, 300))
    if mode == "I;16":
        image = image.convert("I").point(lambda value: value * 256).convert("I;16")
        data = encode(image, "PNG")
    elif mode == "CMYK":
        data = encode(image.convert("CMYK"), "JPEG")
    else:
        data = encode(image.convert(mode), "PNG")
    rendition = render_aspect_fill(io.BytesIO(data), 100, 70)
    assert (rendition.width, rendition.height) == (100, 75)
    if mode == "I;16":
        # scaled down to 8 bits, not clipped to white
        middle = Image.open(io.BytesIO(rendition.content)).convert("L").getpixel((50, 37))
        assert 64 < middle < 192


# --- HEIC --------------------------------------------------------------------------------


def _heic(stored: Image.Image, *, orientation: int = 1, thumbnails: list[int] | None = None):
    options = {"quality": 70, "exif": exif_bytes(orientation, gps=True)}
    if thumbnails:
        options["thumbnails"] = thumbnails
    return encode(stored, "HEIF", **options)


def test_heic_uses_its_embedded_thumbnail_when_large_enough():
    """
    GIVEN a 1600x1200 HEIC with an embedded 320-px thumbnail
    WHEN it is rendered to 200x140
    THEN only the 320x240 thumbnail is decoded, and the output is 200x150 without metadata
    """
    data = _heic(quadrants(1600, 1200), thumbnails=[320])
    rendition = render_aspect_fill(io.BytesIO(data), 200, 140)
    assert rendition.decoded_size == (320, 240)
    assert (rendition.width, rendition.height) == (200, 150)
    assert corner_colours(rendition.content) == ("red", "green", "blue", "white")
    _assert_no_metadata(rendition.content)


def test_heic_without_thumbnail_decodes_the_image():
    """
    GIVEN a HEIC without an embedded thumbnail, and one whose thumbnail is too small
    WHEN each is rendered to 200x140
    THEN the full image is decoded and the thumbnail is right all the same
    """
    for thumbnails in (None, [128]):
        data = _heic(quadrants(800, 600), thumbnails=thumbnails)
        rendition = render_aspect_fill(io.BytesIO(data), 200, 140)
        assert rendition.decoded_size == (800, 600)
        assert (rendition.width, rendition.height) == (200, 150)
        assert corner_colours(rendition.content) == ("red", "green", "blue", "white")


@pytest.mark.parametrize("orientation", [3, 6, 8])
@pytest.mark.parametrize("thumbnails", [None, [320]])
def test_heic_orientation_is_applied_once(orientation, thumbnails):
    """
    GIVEN a HEIC saved with orientation 3, 6 or 8 (stored as irot, applied by the decoder),
          with and without an embedded thumbnail
    WHEN it is rendered and its original cleaned
    THEN both come out upright: the orientation is not applied a second time
    """
    stored = stored_with_orientation(orientation, quadrants(1200, 900))
    data = _heic(stored, orientation=orientation, thumbnails=thumbnails)

    thumbnail = render_aspect_fill(io.BytesIO(data), 200, 140)
    original = clean_original(io.BytesIO(data))

    assert (thumbnail.width, thumbnail.height) == (200, 150)
    assert corner_colours(thumbnail.content) == ("red", "green", "blue", "white")
    assert (original.width, original.height, original.content_type) == (1200, 900, "image/jpeg")
    assert corner_colours(original.content) == ("red", "green", "blue", "white")
    _assert_no_metadata(original.content)


def test_pillow_heif_is_registered():
    """
    GIVEN the rendering module imported
    WHEN Pillow's registry is read
    THEN HEIF is a known format, opened for .heic files
    """
    assert rendering.ALLOWED_IMAGE_FORMATS == ALLOWED_IMAGE_FORMATS
    Image.init()
    assert "HEIF" in Image.OPEN
    assert Image.registered_extensions()[".heic"] == "HEIF"


def test_pillow_bomb_warning_band_is_an_error_not_a_warning():
    """
    GIVEN a PNG header in Pillow's DecompressionBombWarning band (above our limit, below twice it)
    WHEN it is opened with every warning recorded
    THEN it is refused inside Image.open and no DecompressionBombWarning escapes
    """
    import warnings

    from PIL import Image

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageRejected, match=r"too large"):
            open_image(io.BytesIO(png_with_header_size(9_000, 9_000)))
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
