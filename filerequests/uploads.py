"""The patient page's uploads, over the file pipeline's upload tickets.

One ticket per photo: the page posts the ticket's fields in order and the file
last to the ticket's URL (S3, or the portal's own policy-checking endpoint), then
confirms it here with the patient's note. Tickets are bound to the request the
session verified, so one patient can never confirm another request's upload.

Each photo carries an id the phone made (``photoId``, a UUID) with its ticket request
and its confirmation. A photo sent again (a retry after a lost answer, a double tap,
a page reopened after the tab closed) is recognised by it and kept once: asking for a
ticket answers that the clinic has it already, and a second confirmation answers the
file the clinic holds and drops the second upload. Ids are per request: the same id
under another request, or another clinic, is another photo.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse

from filerequests.answering import file_request_closed_reason, upload_ticket_seconds
from filerequests.request_templates import UnknownSlot, file_slot_record, slot_id_check
from files import quota
from files import selectors as file_selectors
from files import services as file_services
from files.models import File, Purpose, UploadTicket
from portal.audit.services import Actor

# Tickets one request may be issued in all: ten photos a batch, with room for retries.
MAX_TICKETS_PER_REQUEST = 100
NOTE_MAX_LENGTH = 500
# A trial clinic out of file space: the patient can do nothing but tell the clinic.
CLINIC_FULL_MESSAGE = "The clinic cannot receive more photos at the moment. Please call the clinic."
# Too many photos sent and not yet confirmed: they lapse within minutes.
WAITING_MESSAGE = "Too many photos are still on their way. Wait a few minutes, then try again."


PHOTO_ID_MESSAGE = "This photo's id is not valid. Remove the photo and add it again."


def error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


class BadPhotoId(ValueError):
    pass


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


def held_answer(file: File) -> JsonResponse:
    return JsonResponse({"fileId": str(file.id), "state": file.state, "alreadyReceived": True})


def ticket_for_patient(request, file_request, body: dict) -> JsonResponse:
    try:
        photo_id = photo_id_of(body)
    except BadPhotoId:
        return error(PHOTO_ID_MESSAGE, 400)
    held = file_held(file_request, photo_id)
    if held is not None:
        return held_answer(held)
    size = body.get("size")
    if not isinstance(size, int) or size < 1:
        return error("The photo is empty or its size is unknown. Choose it again.", 400)
    limit = settings.FILES_MAX_UPLOAD_BYTES
    if size > limit:
        return error(
            f"This photo is larger than {file_services.human_size(limit)}. "
            "Choose a smaller one, or take the photo again.",
            413,
        )
    try:
        limit = quota.upload_size_limit(account=file_request.account, largest=limit)
    except quota.TrialQuotaExceeded:
        return error(CLINIC_FULL_MESSAGE, 403)
    if size > limit:
        return error(CLINIC_FULL_MESSAGE, 403)
    issued = UploadTicket.objects.filter(file_request=file_request).count()
    if issued >= MAX_TICKETS_PER_REQUEST:
        return error("Too many uploads for this request. Please call the clinic.", 429)
    # Never past the request's own link: a ticket issued just before it lapses is not a
    # way to send photos after it, when every other door refuses them.
    if (seconds := upload_ticket_seconds(file_request)) < 1 or file_request_closed_reason(
        file_request
    ):
        return error("This request has ended. Please call the clinic.", 409)
    name = body.get("name")
    try:
        ticket = file_services.upload_ticket_issue(
            account=file_request.account,
            patient=file_request.patient,
            purpose=Purpose.PHOTO,
            issued_by=Actor.for_patient_link(file_request.id),
            file_request=file_request,
            max_size=size,
            # The page sends the photo's name: an exact key, so S3 too stores one object
            # per ticket. Without one, the file part's name fills ${filename}.
            filename=name if isinstance(name, str) and name.strip() else None,
            expires_in=seconds,
        )
    except quota.UnconfirmedBytesExceeded:
        return error(WAITING_MESSAGE, 429)
    post = ticket.presigned_post()
    return JsonResponse(
        {
            "ticketId": str(ticket.id),
            "url": post["url"],
            # Pairs, so the order the storage needs survives any JSON parser.
            "fields": [[name, value] for name, value in post["fields"].items()],
        }
    )


def confirm_for_patient(request, file_request, body: dict) -> JsonResponse:
    try:
        photo_id = photo_id_of(body)
    except BadPhotoId:
        return error(PHOTO_ID_MESSAGE, 400)
    ticket = file_selectors.upload_ticket_get(
        account=file_request.account, ticket_id=body.get("ticketId")
    )
    if ticket is None or ticket.file_request_id != file_request.id:
        return error("This upload is not part of your request. Add the photo again.", 404)
    note = body.get("description") or ""
    if not isinstance(note, str):
        return error("The note must be text.", 400)
    note = note.strip()[:NOTE_MAX_LENGTH]
    try:
        # The step of the request's template the photo was taken for, if any.
        slot_id = slot_id_check(file_request=file_request, slot_id=body.get("slotId"))
    except UnknownSlot:
        return error("This photo's step is not part of your request. Add the photo again.", 400)
    actor = Actor.for_patient_link(file_request.id)
    try:
        with transaction.atomic():
            # Locks in the order every door takes them (the clinic's, for a trial, then the
            # request's), or two doors writing to one request deadlock. The request's row
            # lock orders its confirmations: of two copies of a photo confirmed at once, the
            # second sees the first's file. NO KEY: rows that merely point at the request
            # (a ticket issued meanwhile, which holds the patient's row) need not wait.
            quota.account_lock(file_request.account)
            type(file_request).objects.select_for_update(no_key=True).filter(
                pk=file_request.pk
            ).first()
            held = file_held(file_request, photo_id)
            if held is not None and held.upload_ticket_id != ticket.pk:
                file_services.upload_ticket_abandon(
                    ticket=ticket, actor=actor, reason="the same photo is held already"
                )
                return held_answer(held)
            file = file_services.upload_ticket_confirm(
                ticket=ticket,
                confirmed_by=actor,
                description=note or None,
                file_request=file_request,
                source=File.Source.REQUEST,
                client_photo_id=photo_id,
                size_on_phone=size_on_phone_of(body),
            )
            # Counted with the new file: two photos confirmed at once cannot both
            # take the trial's last place (the account row is locked).
            quota.trial_usage_assert_within(account=file_request.account)
            file_slot_record(file=file, file_request=file_request, slot_id=slot_id)
    except file_services.UploadMissing as exc:
        return error(str(exc), 409)
    except quota.TrialQuotaExceeded:
        return error(CLINIC_FULL_MESSAGE, 403)
    except IntegrityError:
        # The constraint behind the lock: the photo's other copy won.
        held = file_held(file_request, photo_id)
        if held is None:
            raise
        with transaction.atomic():
            file_services.upload_ticket_abandon(
                ticket=ticket, actor=actor, reason="the same photo is held already"
            )
        return held_answer(held)
    return JsonResponse({"fileId": str(file.id), "state": file.state})


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
