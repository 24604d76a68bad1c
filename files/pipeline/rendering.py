"""Image decoding and thumbnails: safe to open, fast to shrink, nothing personal left in the output.

Everything that turns image bytes into pixels goes through `open_image`, so a file only ever
reaches the decoders of the formats we accept, and a decompression bomb is refused from its
header before a single pixel is decoded.

Thumbnails never decode the full image when they need not:

* JPEG: `Image.draft` asks libjpeg to decode at 1/2, 1/4 or 1/8 scale (DCT scaling), which only
  works before the pixels are loaded. So the size is worked out in the stored orientation, the
  reduced image is decoded and resized, and only the small result is turned upright. Rotating
  first (what `exif_transpose` on the opened file does) would decode all 12 megapixels.
* HEIC/HEIF: pillow-heif's `draft` picks the thumbnail embedded in the file when it is at least
  as large as the target; its decoder already applies the file's rotation and mirroring
  (irot/imir), so EXIF orientation is never applied a second time.

Outputs carry no metadata: no EXIF (GPS, device, time), no XMP, no comments, no ICC profile
(thumbnails are converted to sRGB first; `clean_original` keeps the colour profile).
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import re
import warnings
from dataclasses import dataclass
from typing import IO

import pillow_heif
from PIL import Image, ImageCms, UnidentifiedImageError

pillow_heif.register_heif_opener()

logger = logging.getLogger(__name__)

# Pillow's own format ids. MPO (multi-picture JPEG from cameras) is opened by the JPEG plugin.
ALLOWED_IMAGE_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "HEIF")

# 64 megapixels: well above any phone camera (48 MP sensors write 12 or 48 MP). Pillow's own
# bomb check uses the same limit, and its warning band (above the limit, below twice it) is
# raised as an error around every open and decode (`_bomb_warnings_are_errors`), so an
# oversized header fails inside Image.open itself, before any decoder runs.
MAX_IMAGE_PIXELS = 64_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
# The longest side accepted: JPEG's own limit, so every accepted image can be re-encoded.
# It also bounds memory: Pillow keeps a pointer per row, so a 1x60,000,000 strip (under
# the pixel limit) cost 480 MB per copy of it before a single pixel was decoded.
MAX_IMAGE_SIDE = 65_500


@contextlib.contextmanager
def _bomb_warnings_are_errors():
    """Pillow's DecompressionBombWarning as an exception, for one open or decode."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


# Largest side a client may ask for in `imageSize=WxH`.
MAX_REQUESTED_SIDE = 4096

# Decode JPEGs at a DCT scale that leaves at least this much for the resampling filter:
# libjpeg's reduced decode is a block average; a real filter must do the last factor of two.
DRAFT_FACTOR = 2

# Let `resize` first box-reduce by an integer factor while at least this much is left for
# LANCZOS (libvips does the same: block shrink, then lanczos3 for the last factor of ~2).
# At 1.5 a 1/4-scale decode of a portrait phone photo (1008x756 -> 267x200) is halved cheaply
# first; measured: resize 8.7 ms -> 4.3 ms, most of the gap between the renderer and the floor.
REDUCING_GAP = 1.5

JPEG_CONTENT_TYPE = "image/jpeg"
PNG_CONTENT_TYPE = "image/png"

_EXIF_ORIENTATION = 0x0112
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SIZE_PATTERN = re.compile(r"([0-9]{1,9})[xX]([0-9]{1,9})")
_SRGB_PROFILE = ImageCms.createProfile("sRGB")


class ImageRejected(Exception):
    """The bytes are not an image we accept; `reason` says why in words a person can read."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Rendition:
    content: bytes
    width: int
    height: int
    content_type: str
    # Pixels actually decoded, in the stored orientation: shows whether shrink-on-load worked.
    decoded_size: tuple[int, int] | None = None


def open_image(fp: IO[bytes]) -> Image.Image:
    """Open an image lazily (header only), in an allowed format and within the pixel limit.

    Raises ImageRejected for anything else; no decoder of another format is ever tried.
    """
    if not _is_seekable(fp):
        fp = io.BytesIO(fp.read())
    try:
        with _bomb_warnings_are_errors():
            image = Image.open(fp, formats=ALLOWED_IMAGE_FORMATS)
    except UnidentifiedImageError:
        raise ImageRejected(
            "The file is not an image in a format we accept (JPEG, PNG, WebP or HEIC)."
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(_too_many_pixels_reason()) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ImageRejected("The image is damaged: its header cannot be read.") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageRejected("The image has no pixels.")
    if width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise ImageRejected(_too_many_pixels_reason(width, height))
    if max(width, height) > MAX_IMAGE_SIDE:
        image.close()
        raise ImageRejected(
            f"The image is too long and thin ({width}x{height}): at most "
            f"{MAX_IMAGE_SIDE:,} pixels on a side are accepted."
        )
    return image


def upright_size(image: Image.Image) -> tuple[int, int]:
    """Width and height as the image is shown (EXIF orientation applied), from the header only.

    This is what `imageWidth`/`imageHeight` report: a portrait phone photo stored as 4032x3024
    with orientation 6 is 3024x4032.
    """
    width, height = image.size
    return (height, width) if _orientation_to_apply(image) in (5, 6, 7, 8) else (width, height)


def parse_image_size(value: str) -> tuple[int, int]:
    """'200x140' -> (200, 140). ValueError, with a message for the client, for anything else."""
    match = _SIZE_PATTERN.fullmatch(value or "")
    if not match:
        raise ValueError(
            f"imageSize must look like 200x140 (width x height in pixels), not {value!r}."
        )
    width, height = int(match[1]), int(match[2])
    if not (1 <= width <= MAX_REQUESTED_SIDE and 1 <= height <= MAX_REQUESTED_SIDE):
        raise ValueError(f"imageSize sides must be between 1 and {MAX_REQUESTED_SIDE} pixels.")
    return width, height


# The sizes the worker keeps of an image, made from the original: its short side on each of
# these (never larger than the original). Every `imageSize` answer is made from the smallest
# of them that is not smaller than it, so the original is decoded once per kept size
# (at most 14), however many sizes clients ask for. Roughly x1.5 apart: an answer is made
# from at most about half as large again as itself, which is quick to decode.
RENDITION_SIDES: tuple[int, ...] = (
    32, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, MAX_REQUESTED_SIDE
)  # fmt: skip


def image_size_answer(src_w: int, src_h: int, req_w: int, req_h: int) -> tuple[int, int]:
    """The size ``imageSize=<req_w>x<req_h>`` answers for a ``src_w`` x ``src_h`` image
    (seed 001): the aspect fill of that box, never larger than the original, never cropped."""
    return aspect_fill_size(src_w, src_h, req_w, req_h)


def kept_sizes(src_w: int, src_h: int) -> list[tuple[int, int]]:
    """The sizes the worker keeps of a ``src_w`` x ``src_h`` image, smallest first: the
    aspect fill of each ``RENDITION_SIDES`` square, the original itself left out."""
    sizes = []
    for side in RENDITION_SIDES:
        size = aspect_fill_size(src_w, src_h, side, side)
        if size == (src_w, src_h):
            break
        if size not in sizes:
            sizes.append(size)
    return sizes


def kept_size_for(src_w: int, src_h: int, width: int, height: int) -> tuple[int, int] | None:
    """The smallest kept size that is not smaller than ``width`` x ``height`` on either
    side: the rendition an answer of that size is made from. None when only the
    original is large enough."""
    return next(((w, h) for w, h in kept_sizes(src_w, src_h) if w >= width and h >= height), None)


def aspect_fill_size(src_w: int, src_h: int, req_w: int, req_h: int) -> tuple[int, int]:
    """The size of `src` scaled so that neither side is smaller than requested, aspect kept.

    Never larger than the original: when that scale would enlarge, the original size comes back.
    Exact integer arithmetic: the non-binding side is rounded up, so it is never short.
    """
    if min(src_w, src_h, req_w, req_h) < 1:
        raise ValueError("Image and requested sizes must be positive.")
    # The binding side is the one needing the larger scale: req_w/src_w vs req_h/src_h.
    if req_w * src_h >= req_h * src_w:
        if req_w >= src_w:
            return src_w, src_h
        return req_w, min(src_h, _ceil_div(src_h * req_w, src_w))
    if req_h >= src_h:
        return src_w, src_h
    return min(src_w, _ceil_div(src_w * req_h, src_h)), req_h


def render_aspect_fill(
    fp: IO[bytes],
    req_w: int,
    req_h: int,
    *,
    quality: int = 85,
    max_size: tuple[int, int] | None = None,
) -> Rendition:
    """A thumbnail of the image in `fp`, aspect-filled to `req_w` x `req_h` (see seed 001):
    the whole picture, never upscaled. With `max_size` (upright width, height), then
    cropped about its centre to at most that: the `thumbnail` facet's square, which also
    keeps a 65600x1 strip (it aspect-fills to 65600x1) to a size every encoder takes.

    JPEG out for opaque images, PNG when transparency is actually used. Any failure to
    decode, resize or encode is ImageRejected with a reason: a bad image is refused,
    never retried.
    """

    def sizes(upright_w: int, upright_h: int) -> tuple[tuple[int, int], tuple[int, int]]:
        target = aspect_fill_size(upright_w, upright_h, req_w, req_h)
        if max_size is None:
            return target, target
        return target, (min(target[0], max_size[0]), min(target[1], max_size[1]))

    return _render_safely(fp, sizes, quality)


def render_scaled(fp: IO[bytes], width: int, height: int, *, quality: int = 85) -> Rendition:
    """The whole image in `fp` scaled to exactly `width` x `height` (upright), which must
    not be larger than it: an `imageSize` answer made from a kept rendition, whose own
    aspect fill could be a pixel off the answer's (both are rounded up)."""

    def sizes(upright_w: int, upright_h: int) -> tuple[tuple[int, int], tuple[int, int]]:
        if not (1 <= width <= upright_w and 1 <= height <= upright_h):
            raise ImageRejected(
                f"The image ({upright_w}x{upright_h}) is smaller than the size asked "
                f"({width}x{height})."
            )
        return (width, height), (width, height)

    return _render_safely(fp, sizes, quality)


def _render_safely(fp: IO[bytes], sizes, quality: int) -> Rendition:
    """Open, then `_render`, every failure an ImageRejected with a reason."""
    image = open_image(fp)
    try:
        return _render(image, sizes, quality)
    except ImageRejected:
        raise
    except MemoryError:
        raise ImageRejected(
            "The image needs more memory to process than this server allows for one image."
        ) from None
    except Exception:
        # Pillow's encoders and filters raise OSError, ValueError, SystemError... on
        # images they cannot handle: the image's fault, never a reason to try again.
        logger.warning("rendering failed", exc_info=True)
        raise ImageRejected(
            "The image cannot be processed: its pixels could not be resized."
        ) from None
    finally:
        image.close()


def _render(image, sizes, quality: int) -> Rendition:
    """`sizes(upright_w, upright_h)` gives the scaled size of the whole picture and the
    centred window of it that is kept (the same size when nothing is cropped)."""
    orientation = _orientation_to_apply(image)
    swapped = orientation in (5, 6, 7, 8)
    stored_w, stored_h = image.size
    upright_w, upright_h = (stored_h, stored_w) if swapped else (stored_w, stored_h)
    (target_w, target_h), (out_w, out_h) = sizes(upright_w, upright_h)
    # Work in the stored orientation until the very end.
    stored_target = (target_h, target_w) if swapped else (target_w, target_h)
    stored_out = (out_h, out_w) if swapped else (out_w, out_h)

    if image.format == "HEIF":
        # Embedded thumbnail if one is at least the target size, else no-op (full decode).
        image.draft(None, stored_target)
    elif image.format in ("JPEG", "MPO"):
        image.draft("RGB", (stored_target[0] * DRAFT_FACTOR, stored_target[1] * DRAFT_FACTOR))
    pixels = _load(image)
    decoded_size = pixels.size
    pixels = _to_render_mode(pixels)
    if pixels.size != stored_out:
        # The centred window of the aspect-filled target, in decoded pixels: only that
        # region is resampled (Pillow's `box`), so a cropped strip costs no more than
        # its visible part.
        scale_x = pixels.width / stored_target[0]
        scale_y = pixels.height / stored_target[1]
        left = (stored_target[0] - stored_out[0]) / 2 * scale_x
        top = (stored_target[1] - stored_out[1]) / 2 * scale_y
        region = (left, top, left + stored_out[0] * scale_x, top + stored_out[1] * scale_y)
        pixels = pixels.resize(
            stored_out, Image.Resampling.LANCZOS, box=region, reducing_gap=REDUCING_GAP
        )
    pixels = _to_srgb(pixels, image.info.get("icc_profile"))
    if orientation in _TRANSPOSE_FOR_ORIENTATION:
        pixels = pixels.transpose(_TRANSPOSE_FOR_ORIENTATION[orientation])
    return _encode_thumbnail(pixels, quality, decoded_size)


def clean_original(fp: IO[bytes], *, quality: int = 95) -> Rendition:
    """The full-size image turned upright, with EXIF, XMP and comments removed; ICC kept.

    Re-encoded: JPEG and HEIF as JPEG at `quality`, PNG as PNG, WebP as lossless WebP when the
    source is lossless, else WebP at `quality`. Decodes the whole image (no shortcut exists).
    """
    image = open_image(fp)
    try:
        source_format = image.format
        orientation = _orientation_to_apply(image)
        icc_profile = image.info.get("icc_profile")
        lossless_webp = source_format == "WEBP" and _is_lossless_webp(image)
        pixels = _load(image)
        decoded_size = pixels.size
        if pixels.mode not in ("RGB", "RGBA", "L", "LA"):
            pixels = _to_render_mode(pixels)
        if orientation in _TRANSPOSE_FOR_ORIENTATION:
            pixels = pixels.transpose(_TRANSPOSE_FOR_ORIENTATION[orientation])
        else:
            pixels = pixels.copy()
        pixels.info = {}
        out = io.BytesIO()
        save_options = {"icc_profile": icc_profile} if icc_profile else {}
        if source_format == "PNG":
            pixels.save(out, "PNG", **save_options)
            content_type = PNG_CONTENT_TYPE
        elif source_format == "WEBP":
            if lossless_webp:
                pixels.save(out, "WEBP", lossless=True, **save_options)
            else:
                pixels.save(out, "WEBP", quality=quality, **save_options)
            content_type = "image/webp"
        else:
            if pixels.mode not in ("RGB", "L"):
                pixels = _flatten_on_white(pixels)
            pixels.save(out, "JPEG", quality=quality, **save_options)
            content_type = JPEG_CONTENT_TYPE
        return Rendition(out.getvalue(), pixels.width, pixels.height, content_type, decoded_size)
    finally:
        image.close()


def _is_seekable(fp: IO[bytes]) -> bool:
    seekable = getattr(fp, "seekable", None)
    try:
        return bool(seekable and seekable())
    except (OSError, ValueError):
        return False


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _too_many_pixels_reason(width: int | None = None, height: int | None = None) -> str:
    size = f" ({width}x{height})" if width else ""
    return (
        f"The image is too large{size}: at most {MAX_IMAGE_PIXELS // 1_000_000} megapixels "
        "are accepted."
    )


def _orientation_to_apply(image: Image.Image) -> int:
    """EXIF (or XMP) orientation, 1 to 8. HEIF decoders apply irot/imir themselves: always 1."""
    if image.format == "HEIF":
        return 1
    if image.format == "PNG" and "exif" not in image.info:
        # A PNG's orientation is in an eXIf chunk before its pixel data or nowhere. Asking
        # Pillow for the EXIF of one without decodes every pixel to look after them, and
        # swallowing that decode's failure would let a damaged PNG through as blank.
        return 1
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError):
        return 1  # unreadable EXIF: show the pixels as stored
    return orientation if orientation in _TRANSPOSE_FOR_ORIENTATION else 1


def _load(image: Image.Image) -> Image.Image:
    try:
        with _bomb_warnings_are_errors():
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(_too_many_pixels_reason()) from None
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError):
        raise ImageRejected("The image is damaged: its pixels cannot be decoded.") from None
    return image


def _to_render_mode(image: Image.Image) -> Image.Image:
    """RGB, RGBA, L or LA: the modes we resize and encode."""
    mode = image.mode
    if mode in ("RGB", "RGBA", "L", "LA"):
        return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit greyscale: scale to 8 bits rather than clip everything above 255 to white.
        divisor = 256 if mode.startswith("I;16") else max(1, (image.getextrema()[1] + 255) // 256)
        return image.convert("I").point(lambda value: value / divisor).convert("L")
    if mode == "F":
        return image.convert("L")
    has_transparency = mode in ("PA", "RGBa", "La") or "transparency" in image.info
    if mode == "1" and not has_transparency:
        return image.convert("L")
    return image.convert("RGBA" if has_transparency else "RGB")


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Convert to sRGB, so the profile can be dropped without shifting the colours."""
    if not icc_profile or image.mode not in ("RGB", "RGBA"):
        return image
    transform = _srgb_transform(icc_profile, image.mode)
    if transform is None:
        return image  # a broken or mismatched profile: keep the pixels as they are
    return transform.apply(image)


@functools.lru_cache(maxsize=32)
def _srgb_transform(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """Built once per distinct profile: phones embed the same few profiles in every photo."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        # NOCACHE: lcms's one-pixel cache is not safe when threads share a transform.
        return ImageCms.buildTransform(
            source, _SRGB_PROFILE, mode, mode, flags=ImageCms.Flags.NOCACHE
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def _has_visible_transparency(image: Image.Image) -> bool:
    if image.mode not in ("RGBA", "LA"):
        return False
    lowest_alpha, _ = image.getchannel("A").getextrema()
    return lowest_alpha < 255


def _flatten_on_white(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "L"):
        return image
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _encode_thumbnail(image: Image.Image, quality: int, decoded_size: tuple[int, int]) -> Rendition:
    image.info = {}  # nothing from the source (comment, exif, icc) may reach the encoder
    out = io.BytesIO()
    if _has_visible_transparency(image):
        image.save(out, "PNG")
        content_type = PNG_CONTENT_TYPE
    else:
        if image.mode == "LA":
            image = image.convert("L")
        elif image.mode == "RGBA":
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=quality)
        content_type = JPEG_CONTENT_TYPE
    return Rendition(out.getvalue(), image.width, image.height, content_type, decoded_size)


def _is_lossless_webp(image: Image.Image) -> bool:
    try:
        position = image.fp.tell()
        image.fp.seek(12)
        chunk = image.fp.read(4)
        image.fp.seek(position)
    except (AttributeError, OSError, ValueError):
        return False
    return chunk == b"VP8L"
