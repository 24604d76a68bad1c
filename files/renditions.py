"""``imageSize`` renditions: snapped to a few sizes, made by the worker, kept as facets.

Decoding a 64-megapixel photo takes a few hundred MB; in the web process, for every
distinct size a client could ask for, that was both a memory hazard and an unbounded
pile of stored facets. So:

* The requested size is snapped up to a box from ``rendering.RENDITION_SIDES`` (each side
  rounded up to the next rung), and the answer is the aspect-fill of that box: neither
  side smaller than asked, never upscaled (an original smaller than the box is answered
  as it is), never over 4096 on a side. A file has a few dozen renditions at most.
* The web process never decodes an image. A missing rendition is a ``pending`` facet
  row (one per size: the unique constraint) and a ``files.render_rendition`` task; the
  request waits up to ``FILES_RENDITION_WAIT_SECONDS`` for the worker, then answers 409
  with ``Retry-After``, as for a file still being processed.
* Rendition bytes are the account's: ``files.quota`` counts them in its usage.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from files import rendering, selectors
from files.models import Facet, File

logger = logging.getLogger(__name__)

# How often a waiting request looks for the worker's rendition.
POLL_SECONDS = 0.2


def rendition_for(*, file: File, width: int, height: int) -> tuple[str | None, tuple[int, int]]:
    """The facet name that answers ``imageSize=WxH`` for ``file`` (None: the content
    itself), and the snapped box it is rendered for."""
    name = rendition_name_for(file.width, file.height, width, height)
    return name, rendering.snap_image_size(width, height)


def rendition_name_for(src_w: int, src_h: int, req_w: int, req_h: int) -> str | None:
    """The rendition facet's name answering ``imageSize`` for an image of this size, or
    None when the answer is the image itself (no smaller size would do)."""
    size = rendering.image_size_answer(src_w, src_h, req_w, req_h)
    return None if size == (src_w, src_h) else Facet.rendition_name(*size)


def facet_rendition_request(*, file: File, width: int, height: int) -> Facet | None:
    """The ready facet for ``imageSize=WxH`` (the content when the answer is the original),
    or None after making sure the worker has been asked for it: once per size, and again
    when an ask looks lost (pending longer than ``FILES_RENDITION_REQUEUE_SECONDS``)."""
    name, box = rendition_for(file=file, width=width, height=height)
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
    rendition_enqueue(file=file, box=box)
    return None


def facet_rendition_wait(*, file: File, width: int, height: int, timeout: float) -> Facet | None:
    """``facet_rendition_request``, then wait up to ``timeout`` seconds for the worker."""
    facet = facet_rendition_request(file=file, width=width, height=height)
    deadline = time.monotonic() + timeout
    while facet is None and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        facet = facet_rendition_request(file=file, width=width, height=height)
    return facet


def rendition_enqueue(*, file: File, box: tuple[int, int]) -> None:
    from files.tasks import rendition_render_task

    file_id = str(file.pk)
    transaction.on_commit(lambda: rendition_render_task.delay(file_id, *box), robust=True)


def facet_rendition_render(*, file_id, box_w: int, box_h: int) -> Facet | None:
    """Worker side: make the rendition for the snapped box ``box_w`` x ``box_h`` under the
    File's row lock, once. Marks the facet failed when the image cannot be rendered (never
    retried); storage faults raise (the task retries them)."""
    with transaction.atomic():
        file = File.objects.select_for_update().filter(pk=file_id).first()
        if file is None or not file.is_image or file.state != File.State.READY:
            return None
        name, box = rendition_for(file=file, width=box_w, height=box_h)
        if name is None or box != (box_w, box_h):
            return None  # the original answers, or not a box this portal hands out
        existing = selectors.facet_get(file=file, name=name)
        if existing is not None:
            return existing
        content_facet = selectors.facet_get(file=file, name=Facet.CONTENT)
        if content_facet is None:
            return None
        with default_storage.open(content_facet.storage_key, "rb") as stored:
            source = io.BytesIO(stored.read())
        try:
            rendition = rendering.render_aspect_fill(source, box_w, box_h)
        except rendering.ImageRejected as rejection:
            logger.warning("rendition %s of file %s failed: %s", name, file.pk, rejection.reason)
            Facet.objects.update_or_create(
                file=file, name=name, defaults={"state": Facet.State.FAILED}
            )
            return None
        from files.processing import facet_store_rendition

        return facet_store_rendition(file=file, name=name, rendition=rendition)
