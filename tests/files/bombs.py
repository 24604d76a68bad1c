"""Images that cost far more to decode than their size says, made by the tests.

* ``webp_lossless``: a lossless WebP of 16383x3900 (64 megapixels, WebP's widest) in
  about 3 KB: one colour and a small disc. Decoding it took 4 seconds and a gigabyte.
* ``png_of_one_colour``: a PNG of any size whose pixel data is one deflate block, the
  same bytes for every two rows, written by hand (no encoder works through the pixels):
  7999x7999 is about 250 KB and decodes to 64 megapixels.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib

from PIL import Image, ImageDraw


@functools.cache
def webp_lossless(width: int = 16383, height: int = 3900) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    ImageDraw.Draw(image).ellipse((100, 100, 130, 130), fill=(20, 120, 220))
    out = io.BytesIO()
    image.save(out, "WEBP", lossless=True, method=0, quality=0)
    return out.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


@functools.cache
def png_of_one_colour(width: int, height: int) -> bytes:
    """An 8-bit RGB PNG, every pixel black. Two rows are compressed once and flushed (a
    full flush: the block refers to nothing before it), and that block repeated."""
    row = b"\x00" * (1 + 3 * width)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    two_rows = compressor.compress(row * 2) + compressor.flush(zlib.Z_FULL_FLUSH)
    one_row = compressor.compress(row) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush(zlib.Z_FINISH)
    checksum = 1
    for _ in range(height):
        checksum = zlib.adler32(row, checksum)
    data = (
        b"\x78\xda"
        + two_rows * (height // 2)
        + one_row * (height % 2)
        + end
        + struct.pack(">I", checksum)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )
