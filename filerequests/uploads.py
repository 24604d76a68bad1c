"""Uploads that may answer a file request: the patient page's photos and X-on's upload door.

The patient page sends one ticket per photo: the page posts the ticket's fields in order
and the file last to the ticket's URL (S3, or the portal's own policy-checking endpoint),
then confirms it here with the patient's note. Tickets are bound to the request the
session verified, so one patient can never confirm another request's upload.

Each photo carries an id the phone made (``photoId``, a UUID) with its ticket request
and its confirmation. A photo sent again (a retry after a lost answer, a double tap,
a page reopened after the tab closed) is recognised by it and kept once: asking for a
ticket answers that the clinic has it already, and a second confirmation answers the
file the clinic holds and drops the second upload. Ids are per request: the same id
under another request, or another clinic, is another photo.

X-on's ``POST /api/v1/files`` stores a batch through the app; with a ``fileRequestId`` it
answers that request. It lives here rather than in ``files`` because ``files`` is the
layer every app builds on and imports nothing above it.

Every service here is keyword-only and refuses with ``portal.service_errors`` (the doors
map them to their statuses and bodies in ``portal.api.errors``), in a patient's words
where a patient reads them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from filerequests.answering import file_request_closed_reason, upload_ticket_seconds
from filerequests.models import FileRequest
from filerequests.request_templates import UnknownSlot, file_slot_record, slot_id_check
from filerequests.services import (
    file_request_publish_files_removed,
    file_request_publish_files_update,
)
from files import quota
from files import selectors as file_selectors
from files import services as file_services
from files.models import File, Purpose, UploadTicket
from files.names import human_size
from files.pipeline import processing
from files.waiting import files_wait_processed
from portal.accounts.models import Account, Staff
from portal.audit.services import Actor
from portal.ids import parse_uuid
from portal.patients.models import Patient
from portal.service_errors import Conflict, Invalid, NotFound, QuotaExceeded, TooLarge, TooMany

# Tickets one request may be issued in all: ten photos a batch, with room for retries.
MAX_TICKETS_PER_REQUEST = 100
NOTE_MAX_LENGTH = 500
# A trial clinic out of file space: the patient can do nothing but tell the clinic.
CLINIC_FULL_MESSAGE = "The clinic cannot receive more photos at the moment. Please call the clinic."
# Too many photos sent and not yet confirmed: they lapse within minutes.
WAITING_MESSAGE = "Too many photos are still on their way. Wait a few minutes, then try again."
PHOTO_ID_MESSAGE = "This photo's id is not valid. Remove the photo and add it again."
UNKNOWN_SLOT_MESSAGE = "This photo's step is not part of your request. Add the photo again."


class BadPhotoId(Invalid):
    def __init__(self, value: object = None):
        super().__init__(PHOTO_ID_MESSAGE, field="photoId")
        self.value = value


def photo_id_of(body: dict) -> uuid.UUID | None:
    """The phone's id of the photo: absent (a page from before ids), or a UUID in its
    canonical text form; anything else raises ``BadPhotoId``."""
    value = body.get("photoId")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 36:
        raise BadPhotoId(value)
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise BadPhotoId(value) from None
    if str(parsed) != value.lower():
        raise BadPhotoId(value)
    return parsed


def size_on_phone_of(body: dict) -> int | None:
    value = body.get("sizeOnPhone")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**62:
        return None
    return value


def file_held(file_request, photo_id: uuid.UUID | None) -> File | None:
    """The file this request already holds for the phone's photo id, if any."""
    if photo_id is None:
        return None
    return File.objects.filter(file_request=file_request, client_photo_id=photo_id).first()


# --- The patient page: a ticket per photo, then its confirmation ---------------------------


@dataclass(frozen=True)
class PhotoTicket:
    """A ticket to send the photo with, or (``held``) the file the request holds for it
    already, when the phone sends a photo the clinic has."""

    ticket: UploadTicket | None = None
    held: File | None = None


def patient_photo_ticket_issue(
    *,
    file_request: FileRequest,
    name: str | None,
    size: int | None,
    photo_id: uuid.UUID | None,
    actor: Actor,
) -> PhotoTicket:
    """A ticket for one photo of ``size`` bytes, bound to the request, expiring no later
    than its link; or the file already held for ``photo_id``.

    Raises ``Invalid`` (no size), ``TooLarge`` (past any upload's limit),
    ``QuotaExceeded`` (a trial clinic out of space), ``TooMany`` (the request's tickets
    used up, or too many photos sent and not confirmed) and ``Conflict`` (the request
    has ended).
    """
    held = file_held(file_request, photo_id)
    if held is not None:
        return PhotoTicket(held=held)
    if size is None or size < 1:
        raise Invalid("The photo is empty or its size is unknown. Choose it again.", field="size")
    limit = settings.FILES_MAX_UPLOAD_BYTES
    if size > limit:
        raise TooLarge(
            f"This photo is larger than {human_size(limit)}. "
            "Choose a smaller one, or take the photo again."
        )
    try:
        limit = quota.upload_size_limit(account=file_request.account, largest=limit)
    except quota.TrialQuotaExceeded:
        raise QuotaExceeded(CLINIC_FULL_MESSAGE) from None
    if size > limit:
        raise QuotaExceeded(CLINIC_FULL_MESSAGE)
    issued = UploadTicket.objects.filter(file_request=file_request).count()
    if issued >= MAX_TICKETS_PER_REQUEST:
        raise TooMany("Too many uploads for this request. Please call the clinic.")
    # Never past the request's own link: a ticket issued just before it lapses is not a
    # way to send photos after it, when every other door refuses them.
    if (seconds := upload_ticket_seconds(file_request)) < 1 or file_request_closed_reason(
        file_request
    ):
        raise Conflict("This request has ended. Please call the clinic.")
    try:
        ticket = file_services.upload_ticket_issue(
            account=file_request.account,
            patient=file_request.patient,
            purpose=Purpose.PHOTO,
            issued_by=actor,
            file_request=file_request,
            max_size=size,
            # The page sends the photo's name: an exact key, so S3 too stores one object
            # per ticket. Without one, the file part's name fills ${filename}.
            filename=name if name and name.strip() else None,
            expires_in=seconds,
        )
    except quota.UnconfirmedBytesExceeded:
        raise TooMany(WAITING_MESSAGE) from None
    return PhotoTicket(ticket=ticket)


@dataclass(frozen=True)
class PhotoConfirmed:
    """The file the confirmed photo became; ``already_received`` when the request held
    this photo already (the second upload is dropped)."""

    file: File
    already_received: bool = False


def patient_photo_confirm(
    *,
    file_request: FileRequest,
    ticket_id: str | None,
    photo_id: uuid.UUID | None,
    note: str,
    slot_id: str | None,
    size_on_phone: int | None,
    actor: Actor,
) -> PhotoConfirmed:
    """The photo sent with ``ticket_id`` is in storage: make its file, with the patient's
    note (trimmed to ``NOTE_MAX_LENGTH``) and the template step it was taken for.

    Raises ``NotFound`` (no such ticket of this request), ``Invalid`` (a step the request
    does not have), ``Conflict`` (nothing was uploaded with the ticket) and
    ``QuotaExceeded`` (a trial clinic out of space).
    """
    ticket = file_selectors.upload_ticket_get(account=file_request.account, ticket_id=ticket_id)
    if ticket is None or ticket.file_request_id != file_request.id:
        raise NotFound(
            "This upload is not part of your request. Add the photo again.", field="ticketId"
        )
    note = note.strip()[:NOTE_MAX_LENGTH]
    try:
        # The step of the request's template the photo was taken for, if any.
        slot_id = slot_id_check(file_request=file_request, slot_id=slot_id)
    except UnknownSlot:
        raise Invalid(UNKNOWN_SLOT_MESSAGE, field="slotId") from None
    try:
        with transaction.atomic():
            return photo_file_make(
                file_request=file_request,
                ticket=ticket,
                photo_id=photo_id,
                note=note,
                slot_id=slot_id,
                size_on_phone=size_on_phone,
                actor=actor,
            )
    except quota.TrialQuotaExceeded:
        raise QuotaExceeded(CLINIC_FULL_MESSAGE) from None
    except IntegrityError:
        # The constraint behind the lock: the photo's other copy won.
        held = file_held(file_request, photo_id)
        if held is None:
            raise
        with transaction.atomic():
            file_services.upload_ticket_abandon(
                ticket=ticket, actor=actor, reason="the same photo is held already"
            )
        return PhotoConfirmed(file=held, already_received=True)


def photo_file_make(
    *,
    file_request: FileRequest,
    ticket: UploadTicket,
    photo_id: uuid.UUID | None,
    note: str,
    slot_id: str,
    size_on_phone: int | None,
    actor: Actor,
) -> PhotoConfirmed:
    """The confirmation's writes, in the caller's transaction.

    Locks in the order every door takes them (the clinic's, for a trial, then the
    request's), or two doors writing to one request deadlock. The request's row lock
    orders its confirmations: of two copies of a photo confirmed at once, the second sees
    the first's file. NO KEY: rows that merely point at the request (a ticket issued
    meanwhile, which holds the patient's row) need not wait.
    """
    quota.account_lock(file_request.account)
    type(file_request).objects.select_for_update(no_key=True).filter(pk=file_request.pk).first()
    held = file_held(file_request, photo_id)
    if held is not None and held.upload_ticket_id != ticket.pk:
        file_services.upload_ticket_abandon(
            ticket=ticket, actor=actor, reason="the same photo is held already"
        )
        return PhotoConfirmed(file=held, already_received=True)
    file = file_services.upload_ticket_confirm(
        ticket=ticket,
        confirmed_by=actor,
        description=note or None,
        file_request=file_request,
        source=File.Source.REQUEST,
        client_photo_id=photo_id,
        size_on_phone=size_on_phone,
    )
    # Counted with the new file: two photos confirmed at once cannot both take the
    # trial's last place (the account row is locked).
    quota.trial_usage_assert_within(account=file_request.account)
    file_slot_record(file=file, file_request=file_request, slot_id=slot_id)
    return PhotoConfirmed(file=file)


def files_known_to_phone(file_request, photo_ids: list[uuid.UUID]) -> list[File]:
    """The files this request holds for photo ids the phone kept (a reopened page
    learns which of its photos the clinic has)."""
    if not photo_ids:
        return []
    return list(
        File.objects.filter(file_request=file_request, client_photo_id__in=photo_ids).order_by(
            "created_at"
        )
    )


# --- X-on's upload door: a batch through the app -----------------------------------------

BATCH_REFUSED_REASON = (
    "Another file of the same upload was refused; send the upload again without it."
)


@dataclass(frozen=True)
class UploadPart:
    """One file of a batch as the door parsed it: ``size`` bytes readable from ``stream``."""

    name: str
    content_type: str
    stream: IO[bytes]
    size: int
    description: str | None = None


def xon_uploader(
    *, account: Account, user_id: str, file_request: FileRequest | None
) -> tuple[Patient | None, Staff | None]:
    """(patient, staff) that ``userId`` names in the account; ``Invalid`` when it names no
    one, or (with a file request) anyone but that request's patient."""
    parsed = parse_uuid(user_id)
    patient = Patient.objects.filter(account=account, pk=parsed).first() if parsed else None
    staff = None
    if patient is None:
        staff = (
            Staff.objects.filter(account=account, pk=parsed).first() if parsed else None
        ) or Staff.objects.filter(account=account, account_user_id=user_id).first()
    if patient is None and staff is None:
        raise Invalid(
            "No patient or staff member with this id exists in your account.", field="userId"
        )
    if file_request is not None and (patient is None or patient.pk != file_request.patient_id):
        raise Invalid(
            "With a fileRequestId, userId must be that file request's patient.", field="userId"
        )
    return patient, staff


def xon_file_request_open(*, account: Account, file_request_id: str) -> FileRequest:
    """The account's request ``file_request_id`` names, while it still takes files:
    ``Invalid`` when it names none, ``Conflict`` once cancelled or expired."""
    parsed = parse_uuid(file_request_id)
    file_request = (
        FileRequest.objects.filter(account=account, pk=parsed).first() if parsed else None
    )
    if file_request is None:
        raise Invalid("No file request with this id exists in your account.", field="fileRequestId")
    if closed := file_request_closed_reason(file_request):
        raise Conflict(closed)
    return file_request


def xon_upload_create(
    *,
    account: Account,
    actor: Actor,
    parts: list[UploadPart],
    user_id: str,
    file_request_id: str | None = None,
    expiry_seconds: int | None = None,
    request: HttpRequest | None = None,
) -> list[File]:
    """Store a batch for the patient (or staff member) ``user_id`` names, answering the
    request ``file_request_id`` names if any, and wait (up to ``FILES_SYNC_WAIT_SECONDS``)
    for processing, so the answer carries each file's measurements. All or nothing: a
    batch with a refused file is withdrawn (the others refused too, the request told they
    are gone) and refused naming each refused file.

    Raises ``Invalid`` (an unknown ``user_id`` or request, a refused file: ``fields``
    names each as ``files.<index>``), ``Conflict`` (the request has ended),
    ``TooLarge`` (a file past the limit) and ``QuotaExceeded`` (the trial is full).
    ``request`` is recorded with the audit rows of the request's events.
    """
    file_request = (
        xon_file_request_open(account=account, file_request_id=file_request_id)
        if file_request_id
        else None
    )
    patient, _staff = xon_uploader(account=account, user_id=user_id, file_request=file_request)
    created = xon_batch_store(
        account=account,
        actor=actor,
        parts=parts,
        patient=patient,
        file_request=file_request,
        expiry_seconds=expiry_seconds,
        request=request,
    )
    created = files_wait_processed(files=created)
    refused = [(index, f) for index, f in enumerate(created) if f.state == File.State.REJECTED]
    if refused:
        xon_batch_withdraw(files=created, file_request=file_request, actor=actor, request=request)
        reasons = {
            f"files.{index}": [f"{file.original_name}: {file.rejection_reason}"]
            for index, file in refused
        }
        raise Invalid(
            " ".join(f"{path}: {messages[0]}" for path, messages in reasons.items()),
            fields=reasons,
        )
    return created


def xon_batch_store(
    *,
    account: Account,
    actor: Actor,
    parts: list[UploadPart],
    patient: Patient | None,
    file_request: FileRequest | None,
    expiry_seconds: int | None,
    request: HttpRequest | None = None,
) -> list[File]:
    """Every part as a pending file, or none: under the clinic's lock (the trial's room is
    counted once for the batch) and the request's (one that ended meanwhile takes none);
    a refusal rolls the rows back and removes the objects already stored."""
    now = timezone.now()
    expires_at = now + dt.timedelta(seconds=expiry_seconds) if expiry_seconds else None
    purpose = Purpose.PHOTO if file_request is not None else Purpose.DOCUMENT
    created = []
    with file_services.stored_objects_removed_on_failure(), transaction.atomic():
        # A trial account's quota is checked before any byte is stored.
        quota.account_lock(account)
        if file_request is not None:
            # Asked again under the request's lock: one cancelled (or expired) since the
            # first look takes no files.
            file_request = FileRequest.objects.select_for_update().get(pk=file_request.pk)
            if closed := file_request_closed_reason(file_request):
                raise Conflict(closed)
        quota.trial_quota_check_many(account=account, sizes=[part.size for part in parts])
        for part in parts:
            created.append(
                file_services.file_create_from_stream(
                    account=account,
                    patient=patient,
                    purpose=purpose,
                    original_name=part.name,
                    declared_type=part.content_type,
                    stream=part.stream,
                    uploaded_by=actor,
                    file_request=file_request,
                    description=part.description,
                    expires_at=expires_at,
                    created_at=now,
                    source=File.Source.XON,
                )
            )
        if file_request is not None:
            # One file-request.files.update per batch, in X-on's body, to the account's
            # endpoints and the request's filesUpdateWebhookUrl; the request becomes
            # answered. The same service the patient page uses.
            file_request_publish_files_update(
                file_request=file_request, actor=actor, request=request
            )
    return created


def xon_batch_withdraw(
    *,
    files: list[File],
    file_request: FileRequest | None,
    actor: Actor,
    request: HttpRequest | None = None,
) -> None:
    """A batch with a refused file is refused whole: the others are refused too (a client
    sending the batch again is left with no doubles) and, the batch having been announced
    when it was stored, the request's receivers are told its files are gone."""
    processing.files_withdraw(
        files=[f for f in files if f.state != File.State.REJECTED],
        reason=BATCH_REFUSED_REASON,
    )
    if file_request is not None:
        file_request_publish_files_removed(
            file_request=file_request,
            file_ids=[str(f.id) for f in files],
            actor=actor,
            request=request,
        )
