"""``imageSize`` renditions: the exact aspect fill of the size asked, made by the worker from
a few kept sizes, kept as facets.

Seed 001: the image is aspect-filled to the size asked, so that neither side is smaller than
it (one side equal to it), not cropped, and never larger than the original (which then
comes back as it is). ``rendering.image_size_answer`` says what size that is.

* The worker keeps a ladder of sizes of each image (``rendering.kept_sizes``: the short side
  on each of ``RENDITION_SIDES``), made from the original when first needed. An answer is
  made from the smallest kept size not smaller than it, so the original (up to 64
  megapixels: a few hundred MB to decode) is decoded once per kept size, and a new size
  asked for costs the decoding of an image at most about half as large again as itself.
  Only when no kept size is large enough is the answer made from the original.
* The web process never decodes an image. A missing answer is a ``pending`` facet row (one
  per size: the unique constraint) and a ``files.render_rendition`` task; the request waits
  up to ``FILES_RENDITION_WAIT_SECONDS`` for the worker, then answers 409 with
  ``Retry-After``, as for a file still being processed. Once made, an answer is a facet
  served like any other (the lean download path included).
* Rendition bytes are the account's: ``files.quota`` counts them in its usage. A file keeps
  its ladder and at most ``FILES_RENDITION_EXACT_SIZES_KEPT`` other sizes, the latest made:
  a client asking for every width in turn cannot pile up storage. A size dropped is made
  again (from its kept size) when next asked for; its stored object is removed a little
  later, so a download that has just looked its facet up still finds the bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time

from celery import shared_task
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from files import selectors
from files.models import Facet, File
from files.pipeline import rendering
from files.pipeline.processing import TRANSIENT_FAULTS, facet_store_rendition

logger = logging.getLogger(__name__)

# How often a waiting request looks for the worker's rendition.
POLL_SECONDS = 0.2


def rendition_for(*, file: File, width: int, height: int) -> str | None:
    """The facet name that answers ``imageSize=WxH`` for ``file`` (None: the content)."""
    return rendition_name_for(file.width, file.height, width, height)


def rendition_name_for(src_w: int, src_h: int, req_w: int, req_h: int) -> str | None:
    """The rendition facet's name answering ``imageSize`` for an image of this size, or
    None when the answer is the image itself (no smaller size would do)."""
    size = rendering.image_size_answer(src_w, src_h, req_w, req_h)
    return None if size == (src_w, src_h) else Facet.rendition_name(*size)


def facet_rendition_request(*, file: File, width: int, height: int) -> Facet | None:
    """The ready facet for ``imageSize=WxH`` (the content when the answer is the original),
    or None after making sure the worker has been asked for it: once per size, and again
    when an ask looks lost (pending longer than ``FILES_RENDITION_REQUEUE_SECONDS``)."""
    name = rendition_for(file=file, width=width, height=height)
    if name is None:
        return selectors.facet_get(file=file, name=Facet.CONTENT)
    facet = file.facets.filter(name=name).order_by().first()
    if facet is not None and facet.state == Facet.State.READY:
        return facet
    if facet is not None and facet.state == Facet.State.FAILED:
        # The worker could not make it (logged there): the original is a valid answer.
        return selectors.facet_get(file=file, name=Facet.CONTENT)
    stale_before = timezone.now() - dt.timedelta(seconds=settings.FILES_RENDITION_REQUEUE_SECONDS)
    if facet is None:
        try:
            with transaction.atomic():
                Facet.objects.create(file=file, name=name, state=Facet.State.PENDING)
        except IntegrityError:
            return None  # another request asked for it a moment ago
    elif facet.created_at > stale_before or not Facet.objects.filter(
        pk=facet.pk, state=Facet.State.PENDING, created_at__lte=stale_before
    ).update(created_at=timezone.now()):
        return None  # asked recently (or another request is asking again right now)
    rendition_enqueue(file=file, width=width, height=height)
    return None


def facet_rendition_wait(*, file: File, width: int, height: int, timeout: float) -> Facet | None:
    """``facet_rendition_request``, then wait up to ``timeout`` seconds for the worker."""
    facet = facet_rendition_request(file=file, width=width, height=height)
    deadline = time.monotonic() + timeout
    while facet is None and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        facet = facet_rendition_request(file=file, width=width, height=height)
    return facet


def rendition_enqueue(*, file: File, width: int, height: int) -> None:
    file_id = str(file.pk)
    transaction.on_commit(lambda: rendition_render_task.delay(file_id, width, height), robust=True)


def facet_rendition_render(*, file_id, width: int, height: int) -> Facet | None:
    """Worker side: make the answer to ``imageSize=<width>x<height>`` under the File's row
    lock, once, from its kept size (made first from the original when missing). Marks a
    facet failed when the image cannot be rendered (never retried); storage faults raise
    (the task retries them)."""
    if not (
        1 <= width <= rendering.MAX_REQUESTED_SIDE and 1 <= height <= rendering.MAX_REQUESTED_SIDE
    ):
        return None  # not a size any imageSize can name (a forged message)
    with transaction.atomic():
        file = File.objects.select_for_update().filter(pk=file_id).first()
        if file is None or not file.is_image or file.state != File.State.READY:
            return None
        answer = rendering.image_size_answer(file.width, file.height, width, height)
        if answer == (file.width, file.height):
            return None  # the original answers
        name = Facet.rendition_name(*answer)
        existing = selectors.facet_get(file=file, name=name)
        if existing is not None:
            return existing
        source = selectors.facet_get(file=file, name=Facet.CONTENT)
        if source is None:
            return None
        kept = rendering.kept_size_for(file.width, file.height, *answer)
        if kept is not None:
            source = _kept_rendition(file=file, size=kept, content=source)
            if source is None:
                _mark_failed(file=file, name=name)
                return None
            if kept == answer:
                return source
        facet = _rendition_make(file=file, name=name, size=answer, source=source)
        if facet is not None:
            _exact_sizes_trim(file=file)
        return facet


def _kept_rendition(*, file: File, size: tuple[int, int], content: Facet) -> Facet | None:
    """The kept rendition of this size, made from the original if missing; None when the
    original cannot be rendered."""
    name = Facet.rendition_name(*size)
    facet = file.facets.filter(name=name).order_by().first()
    if facet is not None and facet.state == Facet.State.READY:
        return facet
    if facet is not None and facet.state == Facet.State.FAILED:
        return None
    return _rendition_make(file=file, name=name, size=size, source=content)


def _rendition_make(*, file: File, name: str, size: tuple[int, int], source: Facet) -> Facet | None:
    """``source``'s picture scaled to ``size``, stored as the facet ``name``."""
    with default_storage.open(source.storage_key, "rb") as stored:
        data = io.BytesIO(stored.read())
    try:
        rendition = rendering.render_scaled(data, *size)
    except rendering.ImageRejected as rejection:
        logger.warning("rendition %s of file %s failed: %s", name, file.pk, rejection.reason)
        _mark_failed(file=file, name=name)
        return None
    return facet_store_rendition(file=file, name=name, rendition=rendition)


def _mark_failed(*, file: File, name: str) -> None:
    Facet.objects.update_or_create(file=file, name=name, defaults={"state": Facet.State.FAILED})


def _exact_sizes_trim(*, file: File) -> None:
    """Keep the file's ladder and its latest ``FILES_RENDITION_EXACT_SIZES_KEPT`` other
    sizes: the rows of older ones go now, their stored objects a little later
    (``rendition_objects_remove``)."""
    ladder = {Facet.rendition_name(*size) for size in rendering.kept_sizes(file.width, file.height)}
    others = (
        file.facets.filter(name__startswith="rendition:")
        .exclude(name__in=ladder)
        .exclude(state=Facet.State.PENDING)
        .order_by("-created_at", "-name")
    )
    dropped = list(others[max(1, settings.FILES_RENDITION_EXACT_SIZES_KEPT) :])
    if not dropped:
        return
    Facet.objects.filter(pk__in=[facet.pk for facet in dropped]).delete()
    keys = [facet.storage_key for facet in dropped if facet.storage_key]
    if keys:
        # Late: the task module imports this one (tasks import their services).

        transaction.on_commit(
            lambda: rendition_objects_remove_task.apply_async(
                (str(file.pk), keys), countdown=settings.FILES_RENDITION_REMOVE_DELAY_SECONDS
            ),
            robust=True,
        )


def rendition_objects_remove(*, file_id, keys: list[str]) -> None:
    """Delete the stored objects of a file's dropped renditions (one already gone is no
    error). Under the File's row lock, and only keys no facet names: the size may have been
    made again meanwhile, at the same key, by a worker holding that lock."""
    with transaction.atomic():
        file = File.objects.select_for_update().filter(pk=file_id).first()
        if file is None:
            return
        keys = [key for key in keys if key.startswith(file.permanent_prefix)]
        named = set(file.facets.filter(storage_key__in=keys).values_list("storage_key", flat=True))
        for key in keys:
            if key not in named:
                default_storage.delete(key)


# --- The tasks -------------------------------------------------------------------------


@shared_task(
    name="files.render_rendition",
    acks_late=True,
    autoretry_for=TRANSIENT_FAULTS,
    retry_backoff=2,
    max_retries=5,
    soft_time_limit=2 * 60,
    time_limit=3 * 60,
    ignore_result=True,
)
def rendition_render_task(file_id: str, width: int, height: int) -> None:
    """The answer to ``imageSize=<width>x<height>``, made in the worker."""
    facet_rendition_render(file_id=file_id, width=width, height=height)


@shared_task(
    name="files.remove_rendition_objects",
    acks_late=True,
    autoretry_for=TRANSIENT_FAULTS,
    retry_backoff=5,
    max_retries=5,
    ignore_result=True,
)
def rendition_objects_remove_task(file_id: str, keys: list[str]) -> None:
    """The stored objects of renditions a file no longer keeps, removed in the worker."""
    rendition_objects_remove(file_id=file_id, keys=keys)
