"""State changes of files and upload tickets: every door in ends in ``File(pending)`` at a
temporary key plus a processing task queued after commit (see ``files.pipeline.processing``)."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any
from urllib.parse import unquote

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from files import quota
from files.body_sites import body_site_clean
from files.keys import StorageKeyError, ticket_key_check
from files.models import File, Purpose, UploadTicket, temp_prefix
from files.names import human_size, safe_filename, stored_name
from files.pipeline.processing import file_enqueue_processing
from files.pipeline.rendering import ImageRejected, open_image, upright_size
from files.storage.objects import (
    CHUNK,
    KeepOpen,
    StoredObject,
    objects_remove,
    objects_under,
    storage_put,
)
from portal.accounts.models import Account, ApiKey, Staff
from portal.audit.services import Actor, audit_record
from portal.ids import parse_uuid
from portal.service_errors import Conflict, TooLarge

logger = logging.getLogger(__name__)


class UploadTooLarge(TooLarge):
    """The bytes passed the size limit; the doors answer 413 with this message."""

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(
            f"The file is larger than the {human_size(limit)} allowed. Send a smaller file."
        )


class UploadMissing(Conflict):
    """A ticket was confirmed, but nothing was uploaded where it allowed."""


def as_actor(who: Any) -> Actor:
    """An audit Actor from whatever the caller has: Actor, Caller, Staff or ApiKey."""
    if who is None:
        return Actor.system()
    if isinstance(who, Actor):
        return who
    if isinstance(who, Staff):
        return Actor.for_staff(who)
    if isinstance(who, ApiKey):
        return Actor.for_api_key(who)
    return who.actor  # a portal.api.caller.Caller


# --- Upload tickets -----------------------------------------------------------------


@transaction.atomic
def upload_ticket_issue(
    *,
    account: Account,
    patient,
    purpose: str,
    issued_by: Any,
    file_request=None,
    max_size: int | None = None,
    filename: str | None = None,
    content_type: str = "",
    expires_in: int | None = None,
) -> UploadTicket:
    """A presigned-POST ticket for one file under a fresh temporary key prefix.

    ``max_size`` is capped by ``FILES_MAX_UPLOAD_BYTES``. ``filename`` fixes the key's
    last segment (an exact ``key`` condition: S3 then stores one object per ticket);
    without it the client's own name fills ``${filename}`` (a ``starts-with`` policy,
    Cliniko's contract). Raises ``quota.UnconfirmedBytesExceeded`` when the request or
    patient already has too many bytes waiting unconfirmed.
    """
    if purpose not in Purpose.values:
        raise ValueError(f"Unknown purpose {purpose!r}")
    limit = settings.FILES_MAX_UPLOAD_BYTES
    max_size = min(max_size or limit, limit)
    if patient is not None:
        # Two tickets issued at once cannot both take the last room. NO KEY: a file or
        # ticket of this patient written meanwhile (its foreign key check) need not wait,
        # or a confirmation holding its request's row would deadlock with this ticket.
        type(patient).objects.select_for_update(no_key=True).filter(pk=patient.pk).first()
    quota.unconfirmed_bytes_check(
        account=account, patient=patient, file_request=file_request, adding=max_size
    )
    ticket = UploadTicket(
        account=account,
        patient=patient,
        file_request=file_request,
        purpose=purpose,
        filename=safe_filename(filename) if filename else "",
        content_type=content_type or "",
        max_size=max_size,
        expires_at=timezone.now()
        + dt.timedelta(seconds=expires_in or settings.FILES_UPLOAD_TICKET_SECONDS),
    )
    ticket.key_prefix = temp_prefix(
        account_id=account.pk, patient_id=patient.pk if patient else None, token=ticket.pk
    )
    actor = as_actor(issued_by)
    ticket.set_actor(actor)
    ticket.save()
    audit_record(account=account, actor=actor, action="upload_ticket.issue", target=ticket)
    return ticket


def uploaded_objects(ticket: UploadTicket) -> list[StoredObject]:
    """Every object under the ticket's prefix, at any depth (hostile ones too)."""
    return objects_under(ticket.key_prefix)


def uploaded_keys(ticket: UploadTicket) -> list[str]:
    """Keys under the ticket's prefix that a ticket may hold: its prefix and one clean name."""
    keys = []
    for stored in uploaded_objects(ticket):
        try:
            keys.append(ticket_key_check(stored.key, prefix=ticket.key_prefix))
        except StorageKeyError:
            continue
    return keys


@transaction.atomic
def upload_ticket_confirm(
    *,
    ticket: UploadTicket,
    confirmed_by: Any,
    original_name: str | None = None,
    description: str | None = "",
    expires_at: dt.datetime | None = None,
    file_request=None,
    key: str | None = None,
    source: str = "",
    client_photo_id=None,
    size_on_phone: int | None = None,
) -> File:
    """Create the pending File for what was posted under ``ticket``; queue its processing.
    ``source`` is the door (``File.Source``): each door names its own.

    Idempotent: confirming a confirmed ticket returns its file. ``key`` (from the
    S3 ``Location``) picks the object when the client posted more than one.
    Raises ``UploadMissing`` when nothing is there. The bytes that arrived are kept
    as ``size_sent`` (processing replaces ``size`` with the cleaned original's);
    ``client_photo_id`` and ``size_on_phone`` are what the patient's phone said of it.
    """
    ticket = UploadTicket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.state == UploadTicket.State.CONFIRMED:
        return File.objects.get(upload_ticket=ticket)
    if ticket.state == UploadTicket.State.ABANDONED:
        raise UploadMissing(
            "This upload has expired; ask for a new upload and send the file again."
        )
    if key is not None:
        try:
            ticket_key_check(key, prefix=ticket.key_prefix)
        except StorageKeyError as refused:
            raise UploadMissing(
                f"The upload location does not belong to this upload ticket: {refused.message}"
            ) from None
    candidates = [key] if key else ([ticket.uploaded_key] if ticket.uploaded_key else [])
    candidates = [k for k in candidates if default_storage.exists(k)] or (
        [] if key else uploaded_keys(ticket)
    )
    if not candidates:
        raise UploadMissing("No file has been uploaded for this upload ticket yet.")
    if len(candidates) > 1:
        raise UploadMissing(
            "More than one file was uploaded with this upload ticket; one ticket carries "
            "one file. Ask for a new upload ticket and send the file again."
        )
    chosen = candidates[0]
    name = original_name or unquote(chosen.rsplit("/", 1)[-1])
    actor = as_actor(confirmed_by)
    file = File(
        account=ticket.account,
        patient=ticket.patient,
        file_request=file_request or ticket.file_request,
        upload_ticket=ticket,
        source=source,
        purpose=ticket.purpose,
        original_name=stored_name(name),
        description=description,
        declared_type=ticket.content_type,
        max_size=ticket.max_size,
        size=default_storage.size(chosen),
        temp_key=chosen,
        expires_at=expires_at,
        client_photo_id=client_photo_id,
        size_on_phone=size_on_phone,
    )
    file.size_sent = file.size
    file.set_actor(actor)
    request_body_site_copy(file)
    file.save()
    ticket.state = UploadTicket.State.CONFIRMED
    ticket.uploaded_key = chosen
    ticket.confirmed_at = timezone.now()
    ticket.save(update_fields=["state", "uploaded_key", "confirmed_at"])
    audit_record(
        account=ticket.account,
        actor=actor,
        action="file.upload",
        target=file,
        detail={"door": "upload_ticket", "ticket": str(ticket.pk)},
    )
    file_enqueue_processing(file=file)
    return file


def upload_ticket_abandon(*, ticket: UploadTicket, actor: Any, reason: str) -> None:
    """Close an open ticket whose upload will not be confirmed (the same photo is held
    already): its objects go once this transaction commits, so storage holds one copy,
    and anything posted with it later is removed by the sweep."""
    ticket = UploadTicket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.state not in (UploadTicket.State.ISSUED, UploadTicket.State.UPLOADED):
        return
    ticket.state = UploadTicket.State.ABANDONED
    ticket.save(update_fields=["state"])
    audit_record(
        account=ticket.account,
        actor=as_actor(actor),
        action="upload_ticket.abandon",
        target=ticket,
        detail={"reason": reason},
    )
    prefix = ticket.key_prefix

    def remove() -> None:
        try:
            objects_remove(objects_under(prefix), prefix=prefix)
        except Exception:  # the sweep removes them later (a storage or network failure)
            logger.warning("objects of abandoned ticket %s left for the sweep", ticket.pk)

    transaction.on_commit(remove)


# --- Uploads through the app ------------------------------------------------------------


def iter_chunks(stream: IO[bytes] | Iterable[bytes]) -> Iterable[bytes]:
    if hasattr(stream, "read"):
        while chunk := stream.read(CHUNK):
            yield chunk
    else:
        yield from stream


def spool_stream(stream, *, limit: int) -> tuple[tempfile.SpooledTemporaryFile, int]:
    """Copy ``stream`` into a spooled temporary file, refusing it past ``limit`` bytes."""
    spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (handed to the caller, who closes it)
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, dir=settings.FILE_UPLOAD_TEMP_DIR
    )
    size = 0
    try:
        for chunk in iter_chunks(stream):
            size += len(chunk)
            if size > limit:
                raise UploadTooLarge(limit)
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, size


def image_header_size(fp) -> tuple[int | None, int | None]:
    """Upright width and height read from the image header alone, or (None, None)."""
    fp.seek(0)
    try:
        image = open_image(KeepOpen(fp))
    except ImageRejected:
        return None, None
    finally:
        fp.seek(0)
    try:
        return upright_size(image)
    finally:
        image.close()
        fp.seek(0)


# Keys stored by ``file_create_from_stream`` inside a ``stored_objects_removed_on_failure``
# block, so they can be removed if the block fails and their File rows roll back.
_stored_in_block: ContextVar[list[str] | None] = ContextVar("stored_in_block", default=None)


@contextmanager
def stored_objects_removed_on_failure() -> Iterator[None]:
    """Remove the objects stored in this block if it fails.

    Bytes are written to storage before the File row that points at them (a storage
    write cannot join a database transaction). When the transaction around a batch
    rolls back (a later file too large, a quota refusal, any error), the rows vanish
    and nothing would ever point at those objects again: no sweep could find them.
    Wrap the transaction in this block. Nested blocks hand their keys outward on
    success, so the outermost failure removes them all.
    """
    keys: list[str] = []
    token = _stored_in_block.set(keys)
    try:
        yield
    except BaseException:
        for key in keys:
            try:
                default_storage.delete(key)
            except Exception:
                logger.warning("could not remove an object of a failed upload", exc_info=True)
        raise
    finally:
        _stored_in_block.reset(token)
    outer = _stored_in_block.get()
    if outer is not None:
        outer.extend(keys)


def file_create_from_stream(
    *,
    account: Account,
    patient,
    purpose: str,
    original_name: str,
    declared_type: str,
    stream: IO[bytes] | Iterable[bytes],
    uploaded_by: Any,
    file_request=None,
    description: str | None = "",
    expires_at: dt.datetime | None = None,
    max_size: int | None = None,
    created_at: dt.datetime | None = None,
    source: str = "",
) -> File:
    """Stream an in-app upload to a temporary key and create its pending File.
    ``source`` is the door (``File.Source``): each door names its own.

    Width and height come from the image header at once (X-on answers them); the
    processing task checks everything else. Raises ``UploadTooLarge`` past the limit.
    """
    limit = min(max_size or settings.FILES_MAX_UPLOAD_BYTES, settings.FILES_MAX_UPLOAD_BYTES)
    spool, size = spool_stream(stream, limit=limit)
    with stored_objects_removed_on_failure(), spool:
        width, height = image_header_size(spool)
        key = temp_prefix(
            account_id=account.pk,
            patient_id=patient.pk if patient else None,
            token=uuid.uuid4(),
        ) + safe_filename(original_name)
        storage_put(key, spool)
        _stored_in_block.get().append(key)
        actor = as_actor(uploaded_by)
        with transaction.atomic():
            file = File(
                account=account,
                patient=patient,
                file_request=file_request,
                source=source,
                purpose=purpose,
                original_name=stored_name(original_name),
                description=description,
                declared_type=(declared_type or "")[:255],
                max_size=limit,
                size=size,
                width=width,
                height=height,
                temp_key=key,
                expires_at=expires_at,
                created_at=created_at or timezone.now(),
            )
            file.set_actor(actor)
            request_body_site_copy(file)
            file.save()
            audit_record(
                account=account,
                actor=actor,
                action="file.upload",
                target=file,
                detail={"door": "app", "size": size},
            )
            file_enqueue_processing(file=file)
    return file


# --- The review loop ----------------------------------------------------------------------


@transaction.atomic
def files_mark_reviewed(*, account: Account, file_ids: Iterable, staff: Staff, actor: Actor) -> int:
    """Mark these files of ``account`` as reviewed by ``staff``, now, each with its audit
    row. Ids of another clinic or malformed are passed over; files already reviewed keep
    their first reviewer, and files still being processed wait. Returns how many changed."""
    ids = [parsed for parsed in map(parse_uuid, file_ids) if parsed is not None]
    files = list(
        File.objects.select_for_update()
        .filter(account=account, pk__in=ids, reviewed_at__isnull=True)
        .filter(state__in=(File.State.READY, File.State.REJECTED))
    )
    if not files:
        return 0
    now = timezone.now()
    File.objects.filter(pk__in=[f.pk for f in files]).update(reviewed_at=now, reviewed_by=staff)
    for file in files:
        audit_record(account=account, actor=actor, action="file.review", target=file)
    return len(files)


# --- Body site ------------------------------------------------------------------------


def request_body_site_copy(file: File) -> None:
    """A file sent in answer to a request starts with the request's body site (staff can
    correct it afterwards: ``file_body_site_set``)."""
    file_request = file.file_request
    if file_request is not None and not file.body_site_code:
        file.body_site_code = file_request.body_site_code
        file.body_site_side = file_request.body_site_side


@transaction.atomic
def file_body_site_set(*, file: File, actor: Actor, code: str, side: str = "") -> File:
    """Correct where on the body a file was taken; the change is audited with what it
    was before. Raises ``body_sites.BodySiteError`` for a site or side not in the list."""
    code, side = body_site_clean(code, side)
    before = {"code": file.body_site_code, "side": file.body_site_side}
    if (code, side) == (before["code"], before["side"]):
        return file
    file.body_site_code, file.body_site_side = code, side
    file.save(update_fields=["body_site_code", "body_site_side"])
    audit_record(
        account=file.account,
        actor=actor,
        action="file.body_site_change",
        target=file,
        detail={"from": before, "to": {"code": code, "side": side}},
    )
    return file
