"""Pathological images, made by the tests: shapes, modes and structures that break naive
thumbnailers. Each entry: ``(file name, declared type, bytes maker)``.

PNGs that Pillow cannot write (interlaced, 16-bit colour, oversized palettes) are written
chunk by chunk by ``png_raw``.
"""

from __future__ import annotations

import io
import random
import struct
import zlib

import pillow_heif
from PIL import Image

pillow_heif.register_heif_opener()

ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def encoded(image: Image.Image, image_format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


def chunk(chunk_type: bytes, payload: bytes) -> bytes:
    body = chunk_type + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png_raw(
    width: int,
    height: int,
    *,
    bit_depth: int,
    colour_type: int,
    pixel_bytes: int,
    interlace: bool = False,
    before_data: bytes = b"",
    seed: int = 1,
) -> bytes:
    """A PNG written by hand: random pixels, filter 0, optionally Adam7-interlaced."""
    rng = random.Random(seed)
    rows = bytearray()
    passes = ADAM7 if interlace else ((0, 0, 1, 1),)
    for x0, y0, dx, dy in passes:
        pass_width = len(range(x0, width, dx))
        if pass_width == 0:
            continue
        for _ in range(y0, height, dy):
            rows += b"\x00" + rng.randbytes(pass_width * pixel_bytes)
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, int(interlace))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + before_data
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def strip_png(width: int, height: int) -> bytes:
    """A one-bit PNG of a single colour: tiny on disk whatever its shape."""
    return encoded(Image.new("1", (width, height), 1), "PNG", optimize=True)


def palette_png(entries: int, *, transparency: bool) -> bytes:
    palette = random.Random(entries).randbytes(entries * 3)
    extra = chunk(b"PLTE", palette)
    if transparency:
        extra += chunk(b"tRNS", bytes(range(min(entries, 256))))
    return png_raw(64, 48, bit_depth=8, colour_type=3, pixel_bytes=1, before_data=extra)


def apng(frames: int) -> bytes:
    first = Image.new("RGB", (4, 4), "red")
    others = [Image.new("RGB", (4, 4), (i % 256, 0, 0)) for i in range(1, frames)]
    return encoded(first, "PNG", save_all=True, append_images=others, duration=10)


def cmyk_jpeg() -> bytes:
    return encoded(Image.new("CMYK", (300, 200), (0, 80, 160, 20)), "JPEG", quality=90)


def heic(size=(40, 30), mode="RGB", **options) -> bytes:
    return encoded(
        Image.new(mode, size, 200 if mode in ("L", "I;16") else "red"), "HEIF", **options
    )


def heic_sequence() -> bytes:
    return encoded(
        Image.new("RGB", (40, 30), "red"),
        "HEIF",
        save_all=True,
        append_images=[Image.new("RGB", (3000, 2), "blue")],
    )


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: max(16, int(len(data) * keep))]


def noisy_jpeg(size) -> bytes:
    rng = random.Random(size[0] * 7 + size[1])
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    return encoded(image, "JPEG", quality=90)


PNG, JPEG, WEBP, HEIC = "image/png", "image/jpeg", "image/webp", "image/heic"
PDF = "application/pdf"


def jpeg_with_fill_run(length: int) -> bytes:
    """A JPEG whose scan is followed by ``length`` 0xFF fill bytes and no end marker: a
    search for the next marker that backtracks over the run is quadratic."""
    data = encoded(Image.new("L", (8, 8)), "JPEG")
    scan = data.index(b"\xff\xda")
    header_end = scan + 2 + int.from_bytes(data[scan + 2 : scan + 4], "big")
    return data[: header_end + 8] + b"\xff" * length


def pdf_with_unclosed_streams(count: int) -> bytes:
    """A PDF whose syntax holds ``count`` ``stream`` keywords and no ``endstream``."""
    from tests.files.pdfs import build

    return build({4: b"(" + b"stream\n" * count + b")"})


CORPUS = {
    # Extreme ratios, both ways, and one-pixel sides.
    "png 65600x1": ("strip.png", PNG, lambda: strip_png(65_600, 1)),
    "png 1x60,000,000": ("tower.png", PNG, lambda: strip_png(1, 60_000_000)),
    "png 60,000x1,000 panorama": ("pano.png", PNG, lambda: strip_png(60_000, 1_000)),
    "jpeg 65500x1": ("strip.jpg", JPEG, lambda: encoded(Image.new("L", (65_500, 1)), "JPEG")),
    "jpeg 1x65500": ("tower.jpg", JPEG, lambda: encoded(Image.new("L", (1, 65_500)), "JPEG")),
    "jpeg 2x30000 noisy": ("tower2.jpg", JPEG, lambda: noisy_jpeg((2, 30_000))),
    "webp 16383x1": ("strip.webp", WEBP, lambda: encoded(Image.new("RGB", (16_383, 1)), "WEBP")),
    "webp 1x16383": ("tower.webp", WEBP, lambda: encoded(Image.new("RGB", (1, 16_383)), "WEBP")),
    "png 1x1": ("dot.png", PNG, lambda: strip_png(1, 1)),
    "jpeg 1x1": ("dot.jpg", JPEG, lambda: encoded(Image.new("RGB", (1, 1)), "JPEG")),
    "webp 1x1": ("dot.webp", WEBP, lambda: encoded(Image.new("RGBA", (1, 1)), "WEBP")),
    # Palettes.
    "png 256-colour palette with transparency": (
        "palette.png",
        PNG,
        lambda: palette_png(256, transparency=True),
    ),
    "png palette of 4096 entries": (
        "huge-palette.png",
        PNG,
        lambda: palette_png(4096, transparency=False),
    ),
    "png palette of 1 entry, random indices": (
        "one.png",
        PNG,
        lambda: palette_png(1, transparency=True),
    ),
    # Truncated.
    "png truncated": (
        "cut.png",
        PNG,
        lambda: truncated(encoded(Image.new("RGB", (300, 200), "red"), "PNG"), 0.6),
    ),
    "png truncated in IDAT": (
        "cut2.png",
        PNG,
        lambda: truncated(png_raw(200, 200, bit_depth=8, colour_type=2, pixel_bytes=3)),
    ),
    "jpeg truncated": ("cut.jpg", JPEG, lambda: truncated(noisy_jpeg((300, 200)))),
    "webp truncated": (
        "cut.webp",
        WEBP,
        lambda: truncated(encoded(Image.new("RGB", (300, 200), "red"), "WEBP")),
    ),
    "heic truncated": ("cut.heic", HEIC, lambda: truncated(heic((300, 200)), 0.7)),
    # Animation, colour models, bit depths, interlacing.
    "apng of 10,000 frames": ("anim.png", PNG, lambda: apng(10_000)),
    "webp of 500 frames": (
        "anim.webp",
        WEBP,
        lambda: encoded(
            Image.new("RGB", (8, 8)),
            "WEBP",
            save_all=True,
            append_images=[Image.new("RGB", (8, 8), (i % 256, 9, 9)) for i in range(499)],
        ),
    ),
    "cmyk jpeg": ("cmyk.jpg", JPEG, cmyk_jpeg),
    "16-bit greyscale png": (
        "grey16.png",
        PNG,
        lambda: png_raw(120, 80, bit_depth=16, colour_type=0, pixel_bytes=2),
    ),
    "16-bit colour png": (
        "rgb16.png",
        PNG,
        lambda: png_raw(120, 80, bit_depth=16, colour_type=2, pixel_bytes=6),
    ),
    "16-bit colour png with alpha": (
        "rgba16.png",
        PNG,
        lambda: png_raw(90, 70, bit_depth=16, colour_type=6, pixel_bytes=8),
    ),
    "greyscale + alpha png": (
        "la.png",
        PNG,
        lambda: png_raw(120, 80, bit_depth=8, colour_type=4, pixel_bytes=2),
    ),
    "interlaced png": (
        "adam7.png",
        PNG,
        lambda: png_raw(37, 23, bit_depth=8, colour_type=2, pixel_bytes=3, interlace=True),
    ),
    "interlaced 1x1 png": (
        "adam7-dot.png",
        PNG,
        lambda: png_raw(1, 1, bit_depth=8, colour_type=2, pixel_bytes=3, interlace=True),
    ),
    "progressive jpeg": (
        "prog.jpg",
        JPEG,
        lambda: encoded(Image.new("RGB", (300, 200), "red"), "JPEG", progressive=True),
    ),
    # Bombs.
    "bomb just over the pixel limit": ("bomb.png", PNG, lambda: strip_png(8_001, 8_000)),
    "bomb in a jpeg header": (
        "bomb.jpg",
        JPEG,
        lambda: encoded(Image.new("L", (8_001, 8_000)), "JPEG"),
    ),
    # HEIC odd cases.
    "heic 1x1": ("dot.heic", HEIC, lambda: heic((1, 1))),
    "heic odd sides 33x17": ("odd.heic", HEIC, lambda: heic((33, 17))),
    "heic with alpha": ("alpha.heic", HEIC, lambda: heic(mode="RGBA")),
    "heic 16-bit": ("deep.heic", HEIC, lambda: heic(mode="I;16")),
    "heic greyscale": ("grey.heic", HEIC, lambda: heic(mode="L")),
    "heic 1x4000": ("tower.heic", HEIC, lambda: heic((1, 4_000))),
    "heic with a second, extreme image": ("seq.heic", HEIC, heic_sequence),
    # Structures that make a careless scanner quadratic.
    "jpeg with 20 MB of fill bytes": ("fill.jpg", JPEG, lambda: jpeg_with_fill_run(20_000_000)),
    "pdf with 2 million unclosed streams": (
        "streams.pdf",
        PDF,
        lambda: pdf_with_unclosed_streams(2_000_000),
    ),
}


def purpose_of(declared: str) -> str:
    return "document" if declared == PDF else "photo"


# The heaviest of them, also run in a child process under a memory cap.
HEAVY = [
    "png 65600x1",
    "png 1x60,000,000",
    "png 60,000x1,000 panorama",
    "jpeg 1x65500",
    "apng of 10,000 frames",
    "bomb just over the pixel limit",
    "bomb in a jpeg header",
    "jpeg with 20 MB of fill bytes",
    "pdf with 2 million unclosed streams",
]
