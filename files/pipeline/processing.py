"""Processing: turn a pending File into ``ready`` (with facets) or ``rejected`` (with a reason).

A chain of steps, ``verify → sniff → clean → render → promote → mark`` (``PIPELINE``), run
by one runner (``pipeline_run``) that times each step and logs the times. Safe to run
twice and on two workers at once: the run happens inside a transaction that holds the
File's row lock, and a finished file is skipped. A storage or network fault raises (the
task retries with back-off); a bad file is rejected with a reason. Neither loses the
record.

Clean-up has one shape. Every database write of a run (facet rows, the file's fields,
the outcome's event) is undone by the savepoint the runner holds. What the database
cannot undo, a step undoes in its ``clean_up``: when a later step fails, the steps begun
are cleaned up; when the file is rejected, every step is (so a rejected file keeps
nothing an earlier, unfinished run stored either). The temporary object is not a
step's: it is deleted only after the file's final state has committed.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DatabaseError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from files.models import Facet, File
from files.names import human_size
from files.pipeline import cleaning, rendering
from files.pipeline.decoding import decode_admit, webp_canvas_size
from files.pipeline.sniffing import IMAGE_TYPES, PDF, WEBP, FileRejected, sniff
from files.signals import file_processed
from files.storage.objects import CHUNK, KeepOpen, digests_of, storage_put, stored_bytes
from portal.ops.heartbeat import worker_identity
from portal.webhooks import events
from portal.webhooks.services import event_record

logger = logging.getLogger(__name__)

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", PDF: "pdf"}
FINAL_STATES = (File.State.READY, File.State.REJECTED)
# Faults of the storage, the network or the database: worth another try, later (the
# tasks retry on these; every other failure of a file's bytes is a rejection).
TRANSIENT_FAULTS = (OSError, BotoCoreError, ClientError, OperationalError)
REJECTIONS = (FileRejected, rendering.ImageRejected)
# An upload up to this size is verified into memory, not a temporary file: a phone photo
# is read whole by the cleaning anyway, so writing it to disk first only costs time.
SPOOL_IN_MEMORY_BYTES = 16 * 1024 * 1024


@dataclass
class Cleaned:
    content: bytes | None  # None: store the verified original bytes as they are
    mime_type: str
    width: int | None
    height: int | None


def file_process(*, file_id, worker: str = "") -> File | None:
    """Process one file. Returns it in its final state (or None if it no longer exists).

    ``worker`` is the Celery worker's host name, recorded so a file whose worker dies
    is found by that worker's missing heartbeat.
    """
    # The attempt is counted and committed before any work, so a worker killed half-way
    # still counts. One UPDATE (it waits for another worker's row lock, then sees that
    # worker's outcome); only when it changes nothing is the file looked at.
    if not attempt_begin(file_id=file_id, worker=worker):
        with transaction.atomic():
            file = File.objects.select_for_update().filter(pk=file_id).first()
            if file is None or file.state in FINAL_STATES:
                return file
            if file.processing_attempts >= settings.FILES_PROCESSING_MAX_ATTEMPTS:
                # Begun that often and never finished (killed, out of memory, over its
                # time limit): a poison file, refused before it costs another attempt.
                return file_give_up(file=file)
        # Another worker's attempt was uncounted (a storage fault) in between: begin now.
        if not attempt_begin(file_id=file_id, worker=worker):
            return File.objects.filter(pk=file_id).first()

    try:
        return file_process_locked(file_id=file_id)
    except TRANSIENT_FAULTS:
        attempt_uncount(file_id=file_id)
        raise


def attempt_begin(*, file_id, worker: str) -> bool:
    """Count and commit one more attempt of a file still to process; False when the file
    is gone, finished, or has used up its attempts."""
    return bool(
        File.objects.filter(
            pk=file_id,
            state__in=(File.State.PENDING, File.State.PROCESSING),
            processing_attempts__lt=settings.FILES_PROCESSING_MAX_ATTEMPTS,
        ).update(
            state=File.State.PROCESSING,
            processing_attempts=F("processing_attempts") + 1,
            processing_worker=worker[:200],
            processing_started_at=timezone.now(),
        )
    )


def file_process_locked(*, file_id) -> File:
    """The processing run itself, under the File's row lock."""
    started = time.monotonic()
    times: dict[str, float] = {}
    with transaction.atomic():
        # The row lock makes a second worker wait here, then find the file finished. The
        # account (for the outcome's event) and ticket (for verify) come in the same query;
        # only the file's row is locked.
        file = (
            File.objects.select_for_update(of=("self",))
            .select_related("account", "upload_ticket")
            .get(pk=file_id)
        )
        if file.state in FINAL_STATES:
            return file
        temp_key = file.temp_key
        with tempfile.SpooledTemporaryFile(
            max_size=SPOOL_IN_MEMORY_BYTES, dir=settings.FILE_UPLOAD_TEMP_DIR
        ) as original:
            run = Run(file=file, original=original)
            try:
                pipeline_run(run, PIPELINE, times=times)
            except REJECTIONS as rejection:
                file = File.objects.get(pk=file_id)
                # The savepoint's rollback took the charge with it: a file refused after
                # it was decoded still used its sender's budget.
                file.processing_pixels = run.admitted
                mark_rejected(file, rejection.reason)
        transaction.on_commit(lambda: temp_object_remove(file=file, key=temp_key))
    logger.info(
        "file %s processed: %s in %.0f ms (%s)",
        file.pk,
        file.state,
        (time.monotonic() - started) * 1000,
        ", ".join(f"{name} {ms:.0f}" for name, ms in times.items()) + " ms",
    )
    return file


@dataclass
class Run:
    """What one processing run of a file carries from step to step."""

    file: File
    original: IO[bytes]  # the verified bytes, in a local spool
    admitted: int = 0  # pixels this run was admitted to decode (files.pipeline.decoding)
    mime_type: str = ""  # detected from the bytes
    cleaned: Cleaned | None = None
    content: IO[bytes] | None = None  # what is stored as the content facet
    thumbnail: rendering.Rendition | None = None
    facets: list[Facet] = field(default_factory=list)  # stored, in the order stored

    # Charge decoded pixels to the sender's budget (files.pipeline.decoding); off for forms made
    # outside a worker's run (test factories).
    budget: bool = True

    def admit(self, width: int, height: int, size: int) -> None:
        """Refuses (raises) an image whose stored size is over the sender's budget, before
        anything of it is decoded."""
        if self.budget:
            self.admitted = decode_admit(file=self.file, width=width, height=height, size=size)


class Step:
    """One link of the chain. ``run`` does the step's work on a ``Run``; ``clean_up``
    undoes what it wrote that the runner's savepoint does not (objects in storage), for
    this run or an earlier one of the same file that never finished, and is safe to call
    when the step wrote nothing."""

    name = ""
    # Its failures are the file's fault (a rejection with a reason, never a retry): it
    # reads only the local spool, so no transient fault can be mistaken for one.
    judges_bytes = False

    def run(self, run: Run) -> None:
        raise NotImplementedError

    def clean_up(self, run: Run) -> None:
        return None


class Verify(Step):
    """The object is where its ticket said and small enough; copied into the spool."""

    name = "verify"

    def run(self, run: Run) -> None:
        verify(run.file, run.original)  # storage: its faults raise and are retried


class Sniff(Step):
    """The type, from the bytes, allowed for the file's purpose."""

    name = "sniff"
    judges_bytes = True

    def run(self, run: Run) -> None:
        file = run.file
        run.mime_type = sniff(
            run.original,
            purpose=file.purpose,
            original_name=file.original_name,
            declared_type=file.declared_type,
        )


class Clean(Step):
    """Metadata out, the image upright, a PDF checked whole; the size as shown."""

    name = "clean"
    judges_bytes = True

    def run(self, run: Run) -> None:
        run.cleaned = clean(run.original, run.mime_type, admit=run.admit)
        run.content = (
            io.BytesIO(run.cleaned.content) if run.cleaned.content is not None else run.original
        )


class Render(Step):
    """The thumbnail of an image (none for a PDF)."""

    name = "render"
    judges_bytes = True

    def run(self, run: Run) -> None:
        run.thumbnail = thumbnail_render(run.cleaned, run.content)


class Promote(Step):
    """The content and thumbnail stored at the file's permanent keys, with their facets."""

    name = "promote"

    def run(self, run: Run) -> None:
        run.facets = forms_store(run.file, run.cleaned, run.content, run.thumbnail)

    def clean_up(self, run: Run) -> None:
        permanent_objects_remove(run.file)


class Mark(Step):
    """The file saved ready, as its content facet is, and its outcome recorded."""

    name = "mark"

    def run(self, run: Run) -> None:
        run.file.processing_pixels = run.admitted
        ready_save(run.file, run.facets[0])
        record_outcome(run.file)


PIPELINE: tuple[Step, ...] = (Verify(), Sniff(), Clean(), Render(), Promote(), Mark())


def pipeline_run(run: Run, steps: tuple[Step, ...], *, times: dict[str, float]) -> None:
    """Run ``steps`` in order inside a savepoint, each step's time (ms) put in ``times``
    and logged at DEBUG. When one fails, the savepoint rolls back every database write,
    and the steps begun (every step when the file is rejected) clean up; then the
    failure goes on to the caller."""
    begun: list[Step] = []
    try:
        with transaction.atomic():
            for step in steps:
                begun.append(step)
                started = time.monotonic()
                try:
                    if step.judges_bytes:
                        with bad_file_errors_are_rejections():
                            step.run(run)
                    else:
                        step.run(run)
                finally:
                    times[step.name] = (time.monotonic() - started) * 1000
                    logger.debug("file %s %s: %.1f ms", run.file.pk, step.name, times[step.name])
    except Exception as failure:
        for step in reversed(steps if isinstance(failure, REJECTIONS) else begun):
            try:
                step.clean_up(run)
            except Exception:  # best effort: the failure itself is what the caller needs
                logger.warning(
                    "file %s: clean-up of %s failed", run.file.pk, step.name, exc_info=True
                )
        raise


def forms_make(file: File, original):
    """Judge the bytes in ``original`` and make the file's forms from them, as the
    pipeline's sniff, clean and render steps do (without charging a decoding budget): its
    cleaned original, the stream to store as its content, and its thumbnail (None for a
    PDF). Reads only ``original``: no storage, network or database."""
    run = Run(file=file, original=original, budget=False)
    for step in (Sniff(), Clean(), Render()):
        step.run(run)
    return run.cleaned, run.content, run.thumbnail


@contextlib.contextmanager
def bad_file_errors_are_rejections():
    """Whatever goes wrong while the bytes are judged, decoded or re-encoded is the file's
    fault: a rejection with a reason, never a retry. These steps touch no storage, network
    or database (they read the local spool), so no transient fault is mistaken here."""
    try:
        yield
    except (FileRejected, rendering.ImageRejected):
        raise
    except SoftTimeLimitExceeded:
        raise FileRejected(
            "The file took too long to process; send a smaller or simpler file."
        ) from None
    except MemoryError:
        raise FileRejected(
            "The file needs more memory to process than this server allows for one file."
        ) from None
    except Exception:
        logger.warning("processing failed on a file's contents", exc_info=True)
        raise FileRejected("The file is damaged and cannot be read.") from None


def attempt_uncount(*, file_id) -> None:
    """A run that ended in a storage, network or database fault was not the file's
    doing: it does not count towards ``FILES_PROCESSING_MAX_ATTEMPTS``."""
    try:
        File.objects.filter(pk=file_id, processing_attempts__gt=0).update(
            processing_attempts=F("processing_attempts") - 1
        )
    except DatabaseError:
        logger.warning("could not uncount a failed attempt of file %s", file_id)


def file_give_up(*, file: File) -> File:
    """Reject a file whose processing was begun ``FILES_PROCESSING_MAX_ATTEMPTS`` times
    without ever finishing. Call with the File's row locked; the temporary object is
    removed after commit."""
    attempts = file.processing_attempts
    permanent_objects_remove(file)
    mark_rejected(
        file,
        f"The file could not be processed ({attempts} attempts stopped before the end: "
        "it is too large or too complex for this server). Send it again in another form.",
    )
    temp_key = file.temp_key
    transaction.on_commit(lambda: temp_object_remove(file=file, key=temp_key))
    logger.warning("file %s rejected after %d unfinished attempts", file.pk, attempts)
    return file


def verify(file: File, original) -> None:
    """The object is where this account's ticket (or in-app upload) put it, and small enough.

    Copies it into ``original`` (a local spool) so later steps never re-read storage.
    """
    key = file.temp_key
    ticket = file.upload_ticket
    if not file.temp_key_in_place() or (
        ticket is not None
        and (ticket.account_id != file.account_id or not key.startswith(ticket.key_prefix))
    ):
        raise FileRejected("The upload is not where its upload ticket allowed.")
    if not default_storage.exists(key):
        raise FileRejected("The uploaded file was not found; send it again.")
    stored_size = default_storage.size(key)
    if stored_size == 0:
        raise FileRejected("The file is empty.")
    if stored_size > file.max_size:  # judged before a byte is read
        raise FileRejected(f"The file is larger than the {human_size(file.max_size)} allowed.")
    # Streamed straight into the spool (on S3 one GET read as it arrives, not first
    # downloaded whole into django-storages' own temporary file and copied again).
    size = 0
    for chunk in stored_bytes(key, 0, stored_size, chunk_size=CHUNK):
        size += len(chunk)
        original.write(chunk)
    if size != stored_size:
        raise OSError(f"storage returned {size} of {stored_size} bytes for {key}")  # retried
    original.seek(0)


def clean(original, mime_type: str, *, admit=None) -> Cleaned:
    """Images: metadata (GPS, device, names, times) removed. JPEG, PNG and WebP keep the
    camera's image data byte for byte (``files.pipeline.cleaning``; a JPEG keeps its orientation
    as its only EXIF tag); HEIC/HEIF are turned upright and re-encoded as JPEG for
    browsers. PDFs: checked whole. Width and height are as the image is shown (upright).

    ``admit(width, height, size)`` is called with an image's stored size, read from its
    header, before anything of it is decoded (``files.pipeline.decoding.decode_admit``), and
    refuses it by raising."""
    admit = admit or (lambda width, height, size: None)
    try:
        if mime_type in cleaning.LOSSLESS_TYPES:
            original.seek(0)
            cleaned = cleaning.clean_losslessly(original.read(), mime_type)
            if mime_type == WEBP:
                # libwebp takes the canvas's memory as soon as Pillow opens the file.
                admit(*webp_canvas_size(cleaned.content), len(cleaned.content))
            with rendering.open_image(io.BytesIO(cleaned.content)) as image:
                width, height = image.size
            if mime_type != WEBP:
                admit(width, height, len(cleaned.content))
            if cleaned.orientation in cleaning.SIDEWAYS_ORIENTATIONS:
                width, height = height, width
            return Cleaned(cleaned.content, cleaned.content_type, width, height)
        if mime_type in IMAGE_TYPES:
            original.seek(0, io.SEEK_END)
            size = original.tell()
            original.seek(0)
            with rendering.open_image(KeepOpen(original)) as image:  # the header only
                admit(*image.size, size)
            original.seek(0)
            rendition = rendering.clean_original(KeepOpen(original))
            return Cleaned(
                rendition.content, rendition.content_type, rendition.width, rendition.height
            )
        # Imported here: pypdf takes 0.15 CPU-s to import, and every Django start (the
        # web's, each management command's) reaches this module through the serving of
        # renditions; a worker has it loaded before it forks (worker_warmup).
        from files.pipeline.pdf_check import pdf_check

        pdf_check(original)
        return Cleaned(None, PDF, None, None)
    except cleaning.CleaningError as error:
        detail = str(error)
        raise FileRejected(
            f"The file is damaged and cannot be read: {detail[:1].lower()}{detail[1:]}"
        ) from None
    except (FileRejected, rendering.ImageRejected, SoftTimeLimitExceeded, MemoryError):
        raise  # judged by bad_file_errors_are_rejections, each with its own reason
    except Exception:
        # A decoder failing in a way nobody foresaw is still a bad file, not a stuck one.
        logger.warning("decoder failed on a %s", mime_type, exc_info=True)
        raise FileRejected("The file is damaged and cannot be read.") from None


def permanent_objects_remove(file: File) -> None:
    """Best effort: objects a rejected file's half-done processing wrote."""
    try:
        _, names = default_storage.listdir(file.permanent_prefix)
        for name in names:
            default_storage.delete(file.permanent_prefix + name)
    except FileNotFoundError:
        pass


def thumbnail_render(cleaned: Cleaned, content) -> rendering.Rendition | None:
    """The thumbnail of an image: aspect-filled, then cropped to the box (so a 60000x1
    strip makes a 320x1 thumbnail, not an image no encoder takes). None for a PDF."""
    if cleaned.width is None:
        return None
    content.seek(0)
    thumbnail = rendering.render_aspect_fill(
        KeepOpen(content),
        *settings.FILES_THUMBNAIL_SIZE,
        max_size=settings.FILES_THUMBNAIL_SIZE,
    )
    content.seek(0)
    return thumbnail


def ready_store(
    file: File, cleaned: Cleaned, content, thumbnail: rendering.Rendition | None
) -> None:
    """Store the content and thumbnail facets at permanent keys and save the file as ready
    (its type, size, checksum and dimensions those of the stored content): the promote
    step and the mark step's save, without the outcome's event."""
    ready_save(file, forms_store(file, cleaned, content, thumbnail)[0])


def forms_store(
    file: File, cleaned: Cleaned, content, thumbnail: rendering.Rendition | None
) -> list[Facet]:
    """Store the content (and the thumbnail, if any) at the file's permanent keys and
    write their facets; the facets, content first."""
    prefix = file.permanent_prefix
    sha256, sha1 = digests_of(content)
    content.seek(0, io.SEEK_END)
    size = content.tell()
    content.seek(0)
    content_key = f"{prefix}content.{EXTENSIONS.get(cleaned.mime_type, 'bin')}"
    storage_put(content_key, content)
    facets = [
        Facet(
            file=file,
            name=Facet.CONTENT,
            storage_key=content_key,
            state=Facet.State.READY,
            mime_type=cleaned.mime_type,
            size=size,
            sha256=sha256,
            sha1=sha1,
            width=cleaned.width,
            height=cleaned.height,
        )
    ]
    pause_for_fault_tests(file)
    if thumbnail is not None:
        facets.append(rendition_facet_build(file=file, name=Facet.THUMBNAIL, rendition=thumbnail))
    facets_store(facets)
    return facets


def ready_save(file: File, content: Facet) -> None:
    """Save the file as ready, its type, size, checksum and dimensions those of its
    ``content`` facet."""
    file.mime_type = content.mime_type
    file.size = content.size
    file.sha256 = content.sha256
    file.width = content.width
    file.height = content.height
    file.state = File.State.READY
    file.rejection_reason = ""
    file.processed_at = timezone.now()
    file.save(
        update_fields=[
            "mime_type",
            "size",
            "sha256",
            "width",
            "height",
            "state",
            "rejection_reason",
            "processed_at",
            "processing_pixels",
        ]
    )


def pause_for_fault_tests(file: File) -> None:
    """``FILES_PROCESSING_PAUSE_SECONDS`` (a setting of the test suite's only,
    config/settings/test.py): hold here, half-way through storing, so a fault test can kill
    the worker with work half done. With ``FILES_PROCESSING_HOLD_PATH`` the hold ends as soon
    as that file is gone, so a test can be sure the kill came while the work was held."""
    pause = getattr(settings, "FILES_PROCESSING_PAUSE_SECONDS", 0.0)
    if pause <= 0:
        return
    logger.warning("file %s paused half-way through processing", file.pk)
    hold_path = getattr(settings, "FILES_PROCESSING_HOLD_PATH", "")
    deadline = time.monotonic() + pause
    while time.monotonic() < deadline and (not hold_path or Path(hold_path).exists()):
        time.sleep(0.1)


def mark_rejected(file: File, reason: str) -> None:
    file.state = File.State.REJECTED
    file.rejection_reason = reason
    file.processed_at = timezone.now()
    file.save(update_fields=["state", "rejection_reason", "processed_at", "processing_pixels"])
    logger.info("file %s rejected", file.pk)
    record_outcome(file)


def record_outcome(file: File) -> None:
    data = {
        "fileId": str(file.pk),
        "state": file.state,
        "patientId": str(file.patient_id) if file.patient_id else None,
        "fileRequestId": str(file.file_request_id) if file.file_request_id else None,
    }
    if file.state == File.State.REJECTED:
        data["reason"] = file.rejection_reason
    event_record(
        account=file.account,
        type=events.FILE_READY if file.state == File.State.READY else events.FILE_REJECTED,
        data=data,
    )
    file_processed.send(sender=File, file=file)


FACET_FIELDS = ("storage_key", "state", "mime_type", "size", "sha256", "sha1", "width", "height")


def facets_store(facets: list[Facet]) -> None:
    """Write (or replace) a file's facets in one statement: each is new on a first run,
    and replaces the row of its name when a file is processed again."""
    Facet.objects.bulk_create(
        facets,
        update_conflicts=True,
        unique_fields=["file", "name"],
        update_fields=list(FACET_FIELDS),
    )


def rendition_facet_build(*, file: File, name: str, rendition: rendering.Rendition) -> Facet:
    """Store a rendition's bytes at the file's permanent prefix; its (unsaved) facet."""
    extension = EXTENSIONS.get(rendition.content_type, "bin")
    slug = name.replace("rendition:", "")
    key = f"{file.permanent_prefix}{slug}.{extension}"
    content = io.BytesIO(rendition.content)
    sha256, sha1 = digests_of(content)
    storage_put(key, content)
    return Facet(
        file=file,
        name=name,
        storage_key=key,
        state=Facet.State.READY,
        mime_type=rendition.content_type,
        size=len(rendition.content),
        sha256=sha256,
        sha1=sha1,
        width=rendition.width,
        height=rendition.height,
    )


def facet_store_rendition(*, file: File, name: str, rendition: rendering.Rendition) -> Facet:
    """A rendition asked for after processing (``imageSize``): stored, and its facet written
    over the pending row that asked for it."""
    facet = rendition_facet_build(file=file, name=name, rendition=rendition)
    facets_store([facet])
    return facet


def temp_object_remove(*, file: File, key: str) -> None:
    """Delete the temporary object of a finished file, then forget its key.

    Runs after commit. If storage fails here, ``temp_key`` stays set and the
    stale-upload sweep tries again, so the temp object never outlives processing.
    A key outside the file's own temporary prefixes (a file rejected for it) is
    forgotten without deleting anything: it may name another patient's upload.
    """
    if not key:
        return
    if file.temp_key_in_place(key):
        try:
            default_storage.delete(key)  # a key already gone is no error, in either storage
        except Exception:
            logger.warning(
                "could not delete the temporary object of file %s", file.pk, exc_info=True
            )
            return
    File.objects.filter(pk=file.pk, temp_key=key, state__in=FINAL_STATES).update(temp_key="")


def files_withdraw(*, files: list[File], reason: str) -> None:
    """Refuse files that came in with a refused one (an X-on batch answered 400), so a
    client that sends the batch again is not left with doubles: each is rejected with
    ``reason`` and whatever processing stored for it is removed. Under the row lock, so
    a worker still processing one finishes first (and its outcome is then replaced)."""
    for file in files:
        with transaction.atomic():
            locked = File.objects.select_for_update().filter(pk=file.pk).first()
            if locked is None or locked.state == File.State.REJECTED:
                continue
            locked.facets.all().delete()
            mark_rejected(locked, reason)
        permanent_objects_remove(locked)


# --- Queueing and the task ---------------------------------------------------------------


def file_enqueue_processing(*, file: File) -> None:
    """Queue processing once the surrounding transaction commits (never before).

    Robust: when the broker is unreachable the upload has still been stored and
    committed, so the caller gets its answer; the stale-upload sweep queues the
    pending file again once the broker is back.
    """
    file_id = str(file.pk)
    transaction.on_commit(lambda: file_process_task.delay(file_id), robust=True)


@shared_task(
    name="files.process",
    acks_late=True,
    autoretry_for=TRANSIENT_FAULTS,
    retry_backoff=5,
    retry_backoff_max=10 * 60,
    retry_jitter=True,
    max_retries=8,
    # Sized for a 12-megapixel photo or a large PDF on a slow worker.
    soft_time_limit=4 * 60,
    time_limit=5 * 60,
    ignore_result=True,
    bind=True,
)
def file_process_task(self, file_id: str) -> None:
    file_process(file_id=file_id, worker=worker_identity(self.request.hostname or ""))
