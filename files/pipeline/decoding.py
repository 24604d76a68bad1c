"""What an image may cost to decode, judged from its header before a pixel is decoded,
and the memory bound the operating system holds a worker's pool process to.

Decoding costs memory and time in proportion to an image's pixels, not its bytes: a
2.5 KB lossless WebP of 16383x3900 pixels took 4 seconds and a gigabyte, a 248 KB PNG of
7999x7999 almost 5 seconds. So, before anything is decoded:

* **pixels for the door**: a photo sent through a patient's link may have at most
  ``FILES_PATIENT_MAX_IMAGE_PIXELS`` (the largest phone camera writes 50 MP, 8192x6144);
  other doors keep the 64 MP of ``files.pipeline.rendering``.
* **pixels per byte**: an image larger than ``FILES_DECODE_FREE_PIXELS`` may have at
  most ``FILES_MAX_PIXELS_PER_BYTE`` pixels per byte of its image file. Photos have
  2 to 15, scans of printed pages rarely 60; an image of one colour thousands.
* **a budget per sender**: the pixels decoded for one patient link, or one API key, in
  the last hour are at most ``FILES_DECODE_BUDGET_PIXELS_PER_LINK`` or
  ``..._PER_API_KEY``; past it, further images are refused with a reason until the
  hour has moved on. What each file was admitted for is kept on it
  (``File.processing_pixels``), rejected files included. Two workers admitting files
  of one sender at the same moment each see only the other's committed charges, so the
  budget can be overrun by at most one image per worker process.

Behind these, ``worker_memory_limit_apply`` sets ``RLIMIT_DATA`` in each pool process:
a decoder that asks for more gets ``MemoryError`` (a rejection with a reason), the
process lives on, and no one file can take the machine's memory. ``RLIMIT_DATA`` rather
than ``RLIMIT_AS``: it counts the heap and private memory a decoder allocates, not the
shared libraries and reserved address space a process maps without using.
"""

from __future__ import annotations

import datetime as dt
import logging
import resource

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from files.models import File
from files.names import human_size
from files.pipeline.sniffing import FileRejected
from portal.audit.models import AuditEvent

logger = logging.getLogger(__name__)

BUDGET_WINDOW = dt.timedelta(hours=1)
PATIENT_LINK = AuditEvent.ActorKind.PATIENT_LINK
API_KEY = AuditEvent.ActorKind.API_KEY


def megapixels(pixels: int) -> str:
    value = pixels / 1_000_000
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def decode_admit(*, file, width: int, height: int, size: int) -> int:
    """Refuse (``FileRejected``) an image of ``width`` x ``height`` stored in ``size``
    bytes that ``file`` may not decode; else the pixels it is admitted for."""
    pixels = width * height
    if file.actor_kind == PATIENT_LINK and pixels > settings.FILES_PATIENT_MAX_IMAGE_PIXELS:
        raise FileRejected(
            f"The photo is too large ({width}x{height} pixels): photos sent from a phone may "
            f"have at most {megapixels(settings.FILES_PATIENT_MAX_IMAGE_PIXELS)} megapixels."
        )
    if (
        pixels > settings.FILES_DECODE_FREE_PIXELS
        and pixels > settings.FILES_MAX_PIXELS_PER_BYTE * size
    ):
        raise FileRejected(
            f"The image claims {width}x{height} pixels from only {human_size(size)} of data, "
            "far more than any photo or scan of that size holds, so it is not accepted."
        )
    budget_check(file=file, pixels=pixels)
    return pixels


def webp_canvas_size(data: bytes) -> tuple[int, int]:
    """A WebP's canvas size from its first chunk, as libwebp reads it before it allocates
    the canvas (``FileRejected`` when the first chunk is none of the three it knows)."""
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return (
            int.from_bytes(data[24:27], "little") + 1,
            int.from_bytes(data[27:30], "little") + 1,
        )
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        return (
            int.from_bytes(data[26:28], "little") & 0x3FFF,
            int.from_bytes(data[28:30], "little") & 0x3FFF,
        )
    raise FileRejected("The image is damaged: its header cannot be read.")


def budget_check(*, file, pixels: int) -> None:
    """Refuse the image when the patient link or API key that sent ``file`` has had more
    than its budget of pixels decoded in the last hour, this image included."""
    if file.actor_kind == PATIENT_LINK:
        budget = settings.FILES_DECODE_BUDGET_PIXELS_PER_LINK
    elif file.actor_kind == API_KEY:
        budget = settings.FILES_DECODE_BUDGET_PIXELS_PER_API_KEY
    else:
        return  # staff and the system: trusted, and never many at once
    used = budget_used(file=file)
    if used + pixels <= budget:
        return
    logger.warning(
        "file %s refused: %s %s had %d pixels decoded in the last hour",
        file.pk,
        file.actor_kind,
        file.actor_id,
        used,
    )
    if file.actor_kind == PATIENT_LINK:
        raise FileRejected(
            "Too many photos have been processed for this request in the last hour. "
            "Send this photo again in an hour, or call the clinic."
        )
    raise FileRejected(
        f"This API key has had {megapixels(used)} megapixels of images processed in the "
        f"last hour; at most {megapixels(budget)} are allowed. Send the file again later."
    )


def budget_used(*, file) -> int:
    """Pixels decoded in the last hour for the other files of ``file``'s sender."""
    return (
        File.objects.filter(
            account_id=file.account_id,
            actor_kind=file.actor_kind,
            actor_id=file.actor_id,
            processing_started_at__gte=timezone.now() - BUDGET_WINDOW,
            processing_pixels__gt=0,
        )
        .exclude(pk=file.pk)
        .aggregate(total=Sum("processing_pixels"))["total"]
        or 0
    )


def worker_memory_limit_apply() -> int | None:
    """Hold this process, for the rest of its life, to ``FILES_WORKER_MEMORY_LIMIT_MB`` of
    data memory (never above a limit already set for it); the limit in bytes, or None
    when the setting is 0."""
    megabytes = settings.FILES_WORKER_MEMORY_LIMIT_MB
    if megabytes <= 0:
        return None
    limit = megabytes * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    logger.info("pool process memory limited to %s (RLIMIT_DATA)", human_size(limit))
    return limit
