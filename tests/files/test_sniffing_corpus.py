"""The polyglot scan judges bytes where markup can act, not compressed pixels.

GIVEN several hundred valid, high-entropy images of every accepted format (and PDFs)
THEN none is refused; some are made so that ``<svg``, ``<script`` or ``<html`` occur
inside their compressed pixel data, which the old whole-file search refused. Beside
them, polyglots with markup where a program does read it (after the image's end, in
text and metadata chunks, in a JPEG comment, in the first bytes a browser sniffs,
between chunks) are all refused. Everything is generated from fixed seeds.
"""

from __future__ import annotations

import io
import random
import struct
import zlib

import pillow_heif
import pytest
from PIL import Image, PngImagePlugin

from files.models import File
from files.pipeline.sniffing import ACTIVE_MARKUP, SNIFFED_BYTES, FileRejected, sniff
from tests.files.pdfs import build, page_with, stream

pillow_heif.register_heif_opener()

MARKUP = b"<svg onload=alert(1)><script>alert(document.cookie)</script><html>"
NAMES = {"JPEG": "photo.jpg", "PNG": "photo.png", "WEBP": "photo.webp", "HEIF": "photo.heic"}
NAMES["PDF"] = "letter.pdf"


def noise(size, seed, mode="RGB") -> Image.Image:
    """Random pixels: they compress to bytes that look random (the worst case)."""
    rng = random.Random(seed)
    bands = len(Image.new(mode, (1, 1)).getbands())
    if mode == "I;16":
        bands = 2
    return Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * bands))


def encoded(image: Image.Image, image_format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


def corpus() -> list[tuple[str, str, bytes]]:
    """(id, format, bytes): several hundred valid high-entropy files, seeded."""
    rng = random.Random(19)
    files = []

    def add(kind, label, data):
        files.append((f"{kind.lower()}-{len(files)}-{label}", kind, data))

    for seed in range(150):
        size = (rng.randint(16, 420), rng.randint(16, 420))
        mode = ("RGB", "RGB", "RGB", "L", "CMYK")[seed % 5]
        options = {"quality": rng.randint(60, 100)}
        if seed % 3 == 0 and mode != "CMYK":  # libjpeg cannot buffer progressive CMYK noise
            options["progressive"] = True
        if seed % 7 == 0:
            options["restart_marker_blocks"] = 2
        if seed % 11 == 0:
            options["exif"] = Image.Exif().tobytes()
        add("JPEG", mode, encoded(noise(size, seed, mode), "JPEG", **options))
    for seed in range(120):
        size = (rng.randint(8, 300), rng.randint(8, 300))
        mode = ("RGB", "RGBA", "L", "LA", "P", "I;16")[seed % 6]
        image = noise(size, 1000 + seed, mode)
        if mode == "P":
            image.putpalette(bytes(rng.randbytes(768)))
        info = PngImagePlugin.PngInfo()
        if seed % 4 == 0:
            info.add_text("Comment", "taken at the clinic", zip=seed % 8 == 0)
            info.add_itxt("Description", "rash, left arm", zip=True)
        add("PNG", mode, encoded(image, "PNG", pnginfo=info, compress_level=seed % 10))
    for seed in range(90):
        size = (rng.randint(16, 300), rng.randint(16, 300))
        if seed % 10 == 9:  # animated
            frames = [noise(size, 2000 + seed * 10 + i) for i in range(3)]
            add(
                "WEBP",
                "animated",
                encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:]),
            )
            continue
        mode = ("RGB", "RGBA")[seed % 2]
        lossless = seed % 3 == 0
        options = {"lossless": True} if lossless else {"quality": rng.randint(50, 100)}
        add(
            "WEBP",
            f"{mode}-{'lossless' if lossless else 'lossy'}",
            encoded(noise(size, 2000 + seed, mode), "WEBP", **options),
        )
    for seed in range(24):
        size = (rng.randint(16, 160), rng.randint(16, 160))
        add("HEIF", "rgb", encoded(noise(size, 3000 + seed), "HEIF", quality=rng.randint(50, 95)))
    for seed in range(40):
        pixels = random.Random(4000 + seed).randbytes(rng.randint(2_000, 60_000))
        add("PDF", "image-stream", pdf_with_binary_image(pixels, compress=seed % 2 == 0))
    return files


def pdf_with_binary_image(pixels: bytes, *, compress: bool) -> bytes:
    width = len(pixels) // 3
    image = stream(
        pixels[: width * 3],
        b" /Type /XObject /Subtype /Image /Width %d /Height 1 /ColorSpace /DeviceRGB"
        b" /BitsPerComponent 8" % width,
        compress=compress,
    )
    content = stream(b"q 200 0 0 200 0 0 cm /Im0 Do Q")
    return build(
        {4: image, 5: content},
        page=page_with(b"/Contents 5 0 R /Resources << /XObject << /Im0 4 0 R >> >>"),
    )


# --- Files with markup inside their compressed pixel data --------------------------------


def first_seed(make, start: int, limit: int = 20_000):
    """The first seed from ``start`` whose file holds markup past the sniffed head.

    The stored starting seeds hit at once; if an encoder upgrade moves the bytes,
    the search carries on (slower) instead of the test silently losing its point."""
    for seed in range(start, start + limit):
        data = make(seed)
        if ACTIVE_MARKUP.search(data, SNIFFED_BYTES):
            return data
    raise AssertionError(f"no seed from {start} put markup in the pixel data")


def palette_png_with_markup(offset: int, payload: bytes = MARKUP, size=(256, 96)) -> bytes:
    """A palette PNG: unfiltered rows, stored deflate blocks when the pixels are random,
    so bytes planted in the pixels are in the IDAT data verbatim."""
    rng = random.Random(offset)
    pixels = bytearray(rng.randbytes(size[0] * size[1]))
    pixels[offset : offset + len(payload)] = payload
    image = Image.frombytes("P", size, bytes(pixels))
    image.putpalette(bytes(range(256)) * 3)
    data = encoded(image, "PNG")
    assert payload in data
    return data


def planted(pixels: bytes) -> bytes:
    """Random pixel bytes with ``/JS``, ``/Launch`` and ``<svg`` at fixed places in them."""
    pixels = bytearray(pixels)
    for offset, text in ((5_000, b"/JS "), (12_000, b"<svg "), (20_000, b"/Launch\n")):
        pixels[offset : offset + len(text)] = text
    return bytes(pixels)


def heic_with_markup_in_coded_data() -> bytes:
    """A HEIC whose coded image item ends with a filler-data NAL unit (type 38, which
    decoders skip) holding markup: the item's extent, ``mdat`` and any later extents
    are rewritten to match, so the file stays valid and decodes."""
    data = bytearray(encoded(noise((64, 64), 1), "HEIF", quality=80))

    def boxes(position: int, end: int) -> dict[bytes, tuple[int, int]]:
        found = {}
        while position + 8 <= end:
            size = int.from_bytes(data[position : position + 4], "big")
            found[bytes(data[position + 4 : position + 8])] = (position, position + size)
            position += size
        return found

    top = boxes(0, len(data))
    iloc_start, _ = boxes(top[b"meta"][0] + 12, top[b"meta"][1])[b"iloc"]
    position = iloc_start + 8
    version = data[position]
    offset_size, length_size = data[position + 4] >> 4, data[position + 4] & 15
    base_size = data[position + 5] >> 4
    index_size = data[position + 5] & 15 if version in (1, 2) else 0
    assert (offset_size, length_size) == (4, 4) and base_size in (0, 4)
    id_size = 2 if version < 2 else 4
    position += 6
    count = int.from_bytes(data[position : position + id_size], "big")
    position += id_size
    extents = []  # (base at, base, offset at, offset, length at, length)
    for _ in range(count):
        position += id_size + (2 if version in (1, 2) else 0) + 2
        base_at, base = position, int.from_bytes(data[position : position + base_size], "big")
        position += base_size
        extent_count = int.from_bytes(data[position : position + 2], "big")
        position += 2
        for _ in range(extent_count):
            position += index_size
            offset = int.from_bytes(data[position : position + 4], "big")
            length = int.from_bytes(data[position + 4 : position + 8], "big")
            extents.append((base_at, base, position, offset, position + 4, length))
            position += 8
    coded = max(extents, key=lambda extent: extent[5])  # the image's coded data
    insert_at = coded[1] + coded[3] + coded[5]
    nal = b"\x4c\x01" + MARKUP + b"\x80"  # NAL header: filler data, layer 0, tid 1
    inserted = len(nal).to_bytes(4, "big") + nal
    grow = len(inserted)
    moved_bases = set()
    for base_at, base, offset_at, offset, _, _ in extents:
        if base + offset < insert_at:
            continue
        if base_size and base >= insert_at:
            if base_at not in moved_bases:
                moved_bases.add(base_at)
                data[base_at : base_at + 4] = (base + grow).to_bytes(4, "big")
        else:
            data[offset_at : offset_at + 4] = (offset + grow).to_bytes(4, "big")
    data[coded[4] : coded[4] + 4] = (coded[5] + grow).to_bytes(4, "big")
    mdat_start, mdat_end = top[b"mdat"]
    assert mdat_start < insert_at <= mdat_end
    data[mdat_start : mdat_start + 4] = (mdat_end - mdat_start + grow).to_bytes(4, "big")
    crafted_file = bytes(data[:insert_at]) + inserted + bytes(data[insert_at:])
    assert Image.open(io.BytesIO(crafted_file)).size == (64, 64)
    return crafted_file


def mp4_box(box_type: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + box_type + payload


def motion_photo(*, media: bytes, extra_box: bytes = b"", trailing: bytes = b"") -> bytes:
    """A still JPEG with an MP4 right after its EOI, as Pixel and Samsung motion photos are."""
    video = (
        mp4_box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")
        + extra_box
        + mp4_box(b"moov", mp4_box(b"mvhd", b"\x00" * 100))
        + mp4_box(b"mdat", media)
    )
    return encoded(noise((96, 64), 7), "JPEG", quality=90) + video + trailing


def crafted() -> dict[str, tuple[str, bytes]]:
    return {
        "jpeg, <svg in the entropy-coded data": (
            "JPEG",
            first_seed(
                lambda seed: encoded(noise((512, 512), seed), "JPEG", quality=95), start=3982
            ),
        ),
        "webp, <svg in the VP8 data": (
            "WEBP",
            first_seed(
                lambda seed: encoded(noise((768, 768), seed), "WEBP", quality=95), start=100477
            ),
        ),
        "heic, <svg <script <html in the coded image's data": (
            "HEIF",
            heic_with_markup_in_coded_data(),
        ),
        "jpeg motion photo, markup in the video's media data": (
            "JPEG",
            motion_photo(media=planted(random.Random(8).randbytes(30_000)) + MARKUP),
        ),
        "png, <svg <script <html in IDAT": ("PNG", palette_png_with_markup(8_000)),
        "png, <script in IDAT past the head": ("PNG", palette_png_with_markup(2_000, b"<script>")),
        "png, <html in the last IDAT": ("PNG", palette_png_with_markup(24_000, b"<html>")),
        "pdf, /JS and <svg in a binary stream": (
            "PDF",
            pdf_with_binary_image(planted(random.Random(5).randbytes(30_000)), compress=False),
        ),
    }


CRAFTED = crafted()


def sniffed(kind: str, data: bytes) -> str:
    return sniff(io.BytesIO(data), purpose="document", original_name=NAMES[kind])


def test_high_entropy_corpus_is_never_refused():
    """GIVEN several hundred valid images and PDFs of random content WHEN sniffed
    THEN every one is accepted as its own type."""
    files = corpus()  # built here, not at import: four seconds every process collecting spent
    refused = []
    for label, kind, data in files:
        try:
            sniffed(kind, data)
        except FileRejected as rejection:
            refused.append((label, rejection.reason))
    kinds = {kind for _, kind, _ in files}
    print(f"\nfalse-positive corpus: {len(files)} files ({', '.join(sorted(kinds))})")
    assert len(files) >= 400 and kinds == {"JPEG", "PNG", "WEBP", "HEIF", "PDF"}
    assert refused == []


@pytest.mark.parametrize("label", list(CRAFTED))
def test_markup_inside_pixel_data_is_not_refused(label):
    """GIVEN a valid file whose compressed data holds markup bytes past the first
    1445 bytes WHEN sniffed THEN it is accepted (the old whole-file search refused it)."""
    kind, data = CRAFTED[label]
    assert ACTIVE_MARKUP.search(data, SNIFFED_BYTES), "the sample lost its point"
    sniffed(kind, data)


@pytest.mark.django_db
@pytest.mark.parametrize("label", list(CRAFTED))
def test_markup_inside_pixel_data_ends_ready(upload, process, label):
    """GIVEN the same files through the real pipeline WHEN processed THEN ready."""
    kind, data = CRAFTED[label]
    purpose = "document" if kind == "PDF" else "photo"
    file = process(upload(data, name=NAMES[kind], declared="", purpose=purpose))
    assert file.state == File.State.READY, file.rejection_reason


# --- Polyglots: markup where it can act --------------------------------------------------


def jpeg_base() -> bytes:
    return encoded(noise((96, 64), 1), "JPEG", quality=90)


def png_base(**options) -> bytes:
    return encoded(noise((96, 64), 2), "PNG", **options)


def png_chunk(chunk_type: bytes, payload: bytes) -> bytes:
    body = chunk_type + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png_insert_before_iend(data: bytes, chunk: bytes) -> bytes:
    at = data.rindex(b"IEND") - 4
    return data[:at] + chunk + data[at:]


def png_text(kind: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    if kind == "tEXt":
        info.add_text("Comment", MARKUP.decode())
    elif kind == "zTXt":
        info.add_text("Comment", MARKUP.decode(), zip=True)
    else:
        info.add_itxt("Comment", MARKUP.decode(), zip=True)
    data = png_base(pnginfo=info)
    assert (MARKUP in data) == (kind == "tEXt")  # compressed text hides it from a byte search
    return data


def webp_base(**options) -> bytes:
    return encoded(noise((96, 64), 3), "WEBP", quality=80, **options)


def riff_append_chunk(data: bytes, fourcc: bytes, payload: bytes) -> bytes:
    chunk = fourcc + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)
    body = data[8:] + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


def heif_base(**options) -> bytes:
    return encoded(noise((64, 48), 4), "HEIF", quality=60, **options)


def jpeg_with_segment_gap() -> bytes:
    data = jpeg_base()
    at = data.index(b"\xff\xdb")  # before the first quantisation table
    return data[:at] + MARKUP + data[at:]


def mpo_with_trailing_markup() -> bytes:
    first, second = noise((64, 48), 5), noise((64, 48), 6)
    return encoded(first, "MPO", save_all=True, append_images=[second]) + MARKUP


def heif_with_free_box() -> bytes:
    box = struct.pack(">I", 8 + len(MARKUP)) + b"free" + MARKUP
    return heif_base() + box


def palette_png_markup_in_head() -> bytes:
    data = palette_png_with_markup(300, b"<script>")
    assert data.index(b"<script>") < SNIFFED_BYTES
    return data


POLYGLOTS = {
    "jpeg, html after EOI": ("JPEG", lambda: jpeg_base() + MARKUP),
    "jpeg, markup in a COM segment": (
        "JPEG",
        lambda: encoded(noise((96, 64), 1), "JPEG", comment=MARKUP),
    ),
    "jpeg, markup in APP1 XMP": ("JPEG", lambda: encoded(noise((96, 64), 1), "JPEG", xmp=MARKUP)),
    "jpeg, markup between segments": ("JPEG", jpeg_with_segment_gap),
    "jpeg, markup after a second image (MPO)": ("JPEG", mpo_with_trailing_markup),
    "jpeg, html after EOI past 5 MB": ("JPEG", lambda: jpeg_base() + b"\x00" * 5_000_000 + MARKUP),
    "jpeg motion photo, markup in a box beside the video": (
        "JPEG",
        lambda: motion_photo(media=b"\x00" * 64, extra_box=mp4_box(b"free", MARKUP)),
    ),
    "jpeg motion photo, html after the video": (
        "JPEG",
        lambda: motion_photo(media=b"\x00" * 64, trailing=MARKUP),
    ),
    "png, html after IEND": ("PNG", lambda: png_base() + MARKUP),
    "png, markup in tEXt": ("PNG", lambda: png_text("tEXt")),
    "png, markup in compressed zTXt": ("PNG", lambda: png_text("zTXt")),
    "png, markup in compressed iTXt": ("PNG", lambda: png_text("iTXt")),
    "png, markup in a private chunk": (
        "PNG",
        lambda: png_insert_before_iend(png_base(), png_chunk(b"prVt", MARKUP)),
    ),
    "png, chunk with a bad CRC hiding markup": (
        "PNG",
        lambda: png_insert_before_iend(
            png_base(), png_chunk(b"IDAT", MARKUP)[:-4] + b"\x00\x00\x00\x00"
        ),
    ),
    "png, zTXt inflating past 1 MB": (
        "PNG",
        lambda: png_insert_before_iend(
            png_base(), png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b" " * 3_000_000))
        ),
    ),
    "png, markup in the pixels of the first 1445 bytes": ("PNG", palette_png_markup_in_head),
    "webp, html after the RIFF size": ("WEBP", lambda: webp_base() + MARKUP),
    "webp, markup in the XMP chunk": ("WEBP", lambda: webp_base(xmp=MARKUP)),
    "webp, markup in the EXIF chunk": ("WEBP", lambda: webp_base(exif=b"Exif\x00\x00" + MARKUP)),
    "webp, markup in an unknown chunk": (
        "WEBP",
        lambda: riff_append_chunk(webp_base(), b"ZZZZ", MARKUP),
    ),
    "heic, html after the last box": ("HEIF", lambda: heif_base() + MARKUP),
    "heic, markup in a free box": ("HEIF", heif_with_free_box),
    "heic, markup in the XMP item": ("HEIF", lambda: heif_base(xmp=MARKUP)),
}


@pytest.mark.parametrize("label", list(POLYGLOTS))
def test_markup_where_it_can_act_is_refused(label):
    """GIVEN an image carrying markup outside its pixel data (trailing, in text or
    metadata chunks, in a comment, between segments, in the sniffed head)
    WHEN sniffed THEN it is refused with a reason a person can read."""
    kind, make = POLYGLOTS[label]
    with pytest.raises(FileRejected) as refused:
        sniffed(kind, make())
    assert "web page code" in refused.value.reason or "text block" in refused.value.reason
