"""State changes of patient attachments and photo properties.

Every door lands in the one file pipeline (``files.services``): Cliniko's
presigned flow confirms an upload ticket, Claros's PDF streams in through the
app, Medable's photo property issues a ticket that is collected when its bytes
arrive, or copies an existing facet's bytes. These functions add what the
patient's record says about the file, and the trial's quota.
"""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from attachments.models import PatientAttachment, PatientPhoto
from files import quota
from files.models import Facet, File, Purpose, UploadTicket
from files.names import human_size
from files.pipeline.sniffing import HEIC, HEIF, JPEG, PNG, WEBP
from files.selectors import key_from_location, upload_ticket_for_location
from files.services import (
    UploadMissing,
    file_create_from_stream,
    stored_objects_removed_on_failure,
    upload_ticket_confirm,
    upload_ticket_issue,
)
from files.storage.objects import CHUNK, stored_bytes
from files.tickets.policies import presigned_post_for
from portal.accounts.models import Account
from portal.audit.services import Actor, audit_record
from portal.patients.models import Patient
from portal.service_errors import TooLarge
from portal.webhooks.events import PATIENT_ATTACHMENT_ARCHIVED, PATIENT_ATTACHMENT_PROCESSED
from portal.webhooks.services import event_record

logger = logging.getLogger(__name__)


class AttachmentInputError(Exception):
    """Input that names the wrong thing (a foreign upload, a missing object); ``field``
    is the request field to blame."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# --- Cliniko: presigned POST, then the attachment record -------------------------------


def attachment_upload_ticket_issue(
    *, account: Account, patient: Patient, actor: Actor, size: int | None = None
) -> UploadTicket:
    """A ticket for one document under the patient's temporary prefix, its size range
    what the trial has left. The one service behind both ticket doors: Cliniko's
    presigned post (no size: the policy's range says what fits) and the dashboard's
    drag-and-drop (the page declares ``size``, so a file that cannot fit is refused
    before a byte moves).

    Raises ``TooLarge`` (past any upload's limit), ``TrialQuotaExceeded`` (a
    ``QuotaExceeded``: the trial has no room) and ``UnconfirmedBytesExceeded`` (a
    ``TooMany``: too many bytes wait unconfirmed for this patient).
    """
    largest = settings.FILES_MAX_UPLOAD_BYTES
    if size is not None and size > largest:
        raise TooLarge(f"The file is larger than the {human_size(largest)} allowed.")
    max_size = quota.upload_size_limit(account=account)
    if size is not None and size > max_size:
        raise quota.TrialQuotaExceeded(
            "The file does not fit in what is left of the free trial's space.", reason="bytes"
        )
    return upload_ticket_issue(
        account=account,
        patient=patient,
        purpose=Purpose.DOCUMENT,
        issued_by=actor,
        max_size=max_size,
    )


def upload_url_matches_ticket(upload_url: str, ticket: UploadTicket) -> bool:
    """The URL is on the host (and under the path) this ticket's uploads go to: the
    portal's bucket or embedded endpoint, never another bucket."""
    expected = urlsplit(presigned_post_for(ticket)["url"])
    given = urlsplit(upload_url)
    return (
        given.scheme == expected.scheme
        and given.netloc == expected.netloc
        and given.path.startswith(expected.path.rstrip("/") + "/")
    )


@transaction.atomic
def attachment_create_from_upload(
    *,
    account: Account,
    patient: Patient,
    upload_url: str,
    description: str | None,
    actor: Actor,
) -> PatientAttachment:
    """Cliniko's create: the record for the object at ``upload_url`` (the ``Location``
    of the storage's answer, or the presign ``url`` joined with the ``Key``).

    Raises ``AttachmentInputError`` for an ``upload_url`` this account and patient
    were not issued, or whose object is missing, and ``TrialQuotaExceeded``.
    """
    ticket = upload_ticket_for_location(account=account, location=upload_url)
    if (
        ticket is None
        or ticket.patient_id != patient.pk
        or ticket.purpose != Purpose.DOCUMENT
        or not upload_url_matches_ticket(upload_url, ticket)
    ):
        raise AttachmentInputError(
            "upload_url",
            "is invalid: it must be the Location of an upload made with a presigned post "
            "issued for this patient.",
        )
    if ticket.state == UploadTicket.State.CONFIRMED:
        raise AttachmentInputError("upload_url", "has already been used for an attachment.")
    key = key_from_location(upload_url)
    if not default_storage.exists(key):
        raise AttachmentInputError(
            "upload_url", "is invalid: no uploaded file was found at this location."
        )
    quota.account_lock(account)
    quota.trial_quota_check(account=account, adding_bytes=default_storage.size(key))
    try:
        file = upload_ticket_confirm(
            ticket=ticket,
            confirmed_by=actor,
            description=description,
            key=key,
            source=File.Source.CLINIKO,
        )
    except UploadMissing as exc:
        raise AttachmentInputError("upload_url", f"is invalid: {exc}") from exc
    return attachment_record(
        account=account, patient=patient, file=file, description=description, actor=actor
    )


def attachment_record(
    *,
    account: Account,
    patient: Patient,
    file: File,
    description: str | None,
    actor: Actor,
) -> PatientAttachment:
    """The row that puts ``file`` in the patient's record, with its audit event."""
    attachment = PatientAttachment(
        account=account, patient=patient, file=file, description=description
    )
    attachment.set_creator(actor)
    attachment.save()
    audit_record(
        account=account, actor=actor, action="patient_attachment.create", target=attachment
    )
    return attachment


# --- The dashboard: presigned POST, confirmed by its ticket ------------------------------


@transaction.atomic
def attachment_create_from_ticket(
    *,
    account: Account,
    patient: Patient,
    ticket: UploadTicket,
    actor: Actor,
    description: str | None = None,
) -> PatientAttachment:
    """The dashboard's confirm: the attachment for what the browser posted with ``ticket``
    (issued by ``attachment_upload_ticket_issue``). Confirming twice returns the same
    attachment. Raises ``AttachmentInputError`` for a ticket of another patient or
    purpose, or with nothing uploaded, and ``TrialQuotaExceeded``."""
    if (
        ticket.account_id != account.pk
        or ticket.patient_id != patient.pk
        or ticket.purpose != Purpose.DOCUMENT
        or ticket.file_request_id is not None
    ):
        raise AttachmentInputError("ticketId", "This upload was not issued for this patient.")
    if ticket.state == UploadTicket.State.CONFIRMED:
        existing = PatientAttachment.objects.filter(file__upload_ticket=ticket).first()
        if existing is not None:
            return existing
        raise AttachmentInputError("ticketId", "This upload has already been used.")
    quota.account_lock(account)
    try:
        file = upload_ticket_confirm(
            ticket=ticket,
            confirmed_by=actor,
            description=description,
            source=File.Source.DASHBOARD,
        )
    except UploadMissing as exc:
        raise AttachmentInputError("ticketId", str(exc)) from exc
    # Counted with the new file, under the account's lock: two uploads confirmed at
    # once cannot both take the trial's last place.
    quota.trial_usage_assert_within(account=account)
    return attachment_record(
        account=account, patient=patient, file=file, description=description, actor=actor
    )


@transaction.atomic
def attachment_archive(*, attachment: PatientAttachment, actor: Actor) -> PatientAttachment:
    """Hide the attachment from lists; its file stays. Archiving twice changes nothing."""
    if attachment.archived_at is None:
        attachment.archived_at = timezone.now()
        attachment.save(update_fields=["archived_at", "updated_at"])
        audit_record(
            account=attachment.account,
            actor=actor,
            action="patient_attachment.archive",
            target=attachment,
        )
        # The document leaves the record (FHIR reads answer 410): subscribers hear of it.
        event_record(
            account=attachment.account,
            type=PATIENT_ATTACHMENT_ARCHIVED,
            data={
                "patient_attachment_id": str(attachment.pk),
                "patient_id": str(attachment.patient_id),
                "file_id": str(attachment.file_id),
                "archived_at": attachment.archived_at.isoformat(),
            },
        )
    return attachment


# --- Claros: a PDF through the app ---------------------------------------------------------


def attachment_create_from_pdf(
    *,
    account: Account,
    patient: Patient,
    uploaded_file,
    filename: str,
    actor: Actor,
) -> PatientAttachment:
    """Stream the PDF into the pipeline and record it as the patient's attachment.
    Raises ``TrialQuotaExceeded`` and ``files.services.UploadTooLarge``."""
    with stored_objects_removed_on_failure(), transaction.atomic():
        quota.account_lock(account)
        quota.trial_quota_check(account=account, adding_bytes=uploaded_file.size)
        uploaded_file.seek(0)
        file = file_create_from_stream(
            account=account,
            patient=patient,
            purpose=Purpose.DOCUMENT,
            original_name=filename,
            declared_type="application/pdf",
            stream=uploaded_file,
            uploaded_by=actor,
            max_size=settings.ATTACHMENTS_CLAROS_MAX_PDF_BYTES,
            source=File.Source.CLAROS,
        )
        attachment = attachment_record(
            account=account, patient=patient, file=file, description=None, actor=actor
        )
    return attachment


# --- Processing done: Cliniko's processing_completed, as an event -----------------------------


def attachment_file_processed(*, file: File) -> None:
    """Record ``patient-attachment.processed`` when an attachment's file is ready or
    rejected. Runs inside the processing transaction (``files.signals.file_processed``)."""
    attachment = PatientAttachment.objects.filter(file=file).first()
    if attachment is None:
        return
    event_record(
        account=file.account,
        type=PATIENT_ATTACHMENT_PROCESSED,
        data={
            "patient_attachment_id": str(attachment.pk),
            "patient_id": str(attachment.patient_id),
            "file_id": str(file.pk),
            "processing_completed": True,
            "state": file.state,
        },
    )


# --- Medable: the patient's photo file property ------------------------------------------------

PHOTO_CONTENT_TYPES = {
    "jpg": JPEG,
    "jpeg": JPEG,
    "jpe": JPEG,
    "png": PNG,
    "webp": WEBP,
    "heic": HEIC,
    "heif": HEIF,
}


def photo_content_type_for(filename: str) -> str | None:
    """The content type the ``content`` facet accepts for this file's extension."""
    stem, dot, extension = filename.rpartition(".")
    if not dot or not stem:
        return None
    return PHOTO_CONTENT_TYPES.get(extension.lower())


def photo_ticket_issue(*, account, patient, filename: str, content_type: str, actor):
    max_size = quota.upload_size_limit(
        account=account, largest=settings.ATTACHMENTS_PHOTO_MAX_BYTES
    )
    return upload_ticket_issue(
        account=account,
        patient=patient,
        purpose=Purpose.PHOTO,
        issued_by=actor,
        max_size=max_size,
        filename=filename,
        content_type=content_type,
        expires_in=settings.ATTACHMENTS_PHOTO_UPLOAD_SECONDS,
    )


def photo_accepted_content_type(name: str) -> str:
    """The content type the ``content`` facet takes for ``name``; ``AttachmentInputError``
    when its extension is not one the facet accepts."""
    content_type = photo_content_type_for(name)
    if content_type is None:
        raise AttachmentInputError(
            "content",
            f"The file name {name!r} must end in an extension the content facet accepts: "
            + ", ".join(sorted(PHOTO_CONTENT_TYPES)),
        )
    return content_type


def photo_property_write(
    *,
    account: Account,
    patient: Patient,
    filename: str,
    content_type: str,
    actor: Actor,
    upload_ticket: UploadTicket | None = None,
    file: File | None = None,
) -> PatientPhoto:
    """Point the patient's photo property at a new upload (a ticket still waiting for its
    bytes) or a new file, under a row lock; the previous value is replaced whole."""
    photo, _ = PatientPhoto.objects.select_for_update().get_or_create(
        patient=patient, defaults={"account": account}
    )
    photo.filename = filename
    photo.content_type = content_type
    photo.upload_ticket = upload_ticket
    photo.file = file
    photo.collect_failure = ""
    photo.set_creator(actor)
    photo.save()
    return photo


@transaction.atomic
def photo_upload_start(
    *, account: Account, patient: Patient, filename: str, actor: Actor
) -> PatientPhoto:
    """Write the photo property with an upload value: a pending ``content`` facet and an
    upload ticket for it. Raises ``AttachmentInputError`` for a name whose extension the
    facet does not accept, and ``TrialQuotaExceeded``."""
    content_type = photo_accepted_content_type(filename)
    quota.account_lock(account)
    ticket = photo_ticket_issue(
        account=account, patient=patient, filename=filename, content_type=content_type, actor=actor
    )
    photo = photo_property_write(
        account=account,
        patient=patient,
        filename=filename,
        content_type=content_type,
        actor=actor,
        upload_ticket=ticket,
    )
    audit_record(
        account=account,
        actor=actor,
        action="patient_photo.upload_start",
        target=photo,
        detail={"ticket": str(ticket.pk)},
    )
    return photo


def photo_copy_from_facet(
    *,
    account: Account,
    patient: Patient,
    source: File,
    facet_name: str,
    filename: str | None,
    actor: Actor,
) -> PatientPhoto:
    """Write the photo property from an existing facet: its bytes are copied into a new
    File that goes through the pipeline's checks like any upload. ``source`` must be a
    ready file of the same account (the caller resolved it in the caller's account)."""
    facet = source.facets.filter(name=facet_name, state=Facet.State.READY).first()
    if facet is None or not source.is_ready:
        raise AttachmentInputError("content", "The source facet is not ready to be copied.")
    name = filename or source.original_name
    content_type = photo_accepted_content_type(name) if filename else facet.mime_type
    with stored_objects_removed_on_failure(), transaction.atomic():
        quota.account_lock(account)
        quota.trial_quota_check(account=account, adding_bytes=facet.size or 0)
        file = file_create_from_stream(
            account=account,
            patient=patient,
            purpose=Purpose.PHOTO,
            original_name=name,
            declared_type=content_type,
            # Streamed as read (on S3 one GET), not first downloaded whole by S3File.
            stream=stored_bytes(facet.storage_key, 0, facet.size, chunk_size=CHUNK),
            uploaded_by=actor,
            max_size=settings.ATTACHMENTS_PHOTO_MAX_BYTES,
            source=File.Source.MEDABLE,
        )
        photo = photo_property_write(
            account=account,
            patient=patient,
            filename=name,
            content_type=content_type,
            actor=actor,
            file=file,
        )
        audit_record(
            account=account,
            actor=actor,
            action="patient_photo.copy",
            target=photo,
            detail={"source_file": str(source.pk), "facet": facet_name},
        )
    return photo


@transaction.atomic
def photo_upload_refresh(*, photo: PatientPhoto, actor: Actor) -> PatientPhoto:
    """Fresh upload credentials for the pending ``content`` upload (the old ones lapse
    after about 15 minutes). A photo whose bytes have arrived has nothing to refresh."""
    photo = PatientPhoto.objects.select_for_update().get(pk=photo.pk)
    if photo.file_id is not None or photo.upload_ticket_id is None:
        return photo
    if photo_upload_collect(photo_id=photo.pk):
        return PatientPhoto.objects.get(pk=photo.pk)
    ticket = photo_ticket_issue(
        account=photo.account,
        patient=photo.patient,
        filename=photo.filename,
        content_type=photo.content_type,
        actor=actor,
    )
    photo.upload_ticket = ticket
    photo.save(update_fields=["upload_ticket", "updated_at"])
    return photo


def uploaded_key(ticket: UploadTicket) -> str | None:
    """Where the ticket's bytes are, if they have arrived."""
    if ticket.uploaded_key and default_storage.exists(ticket.uploaded_key):
        return ticket.uploaded_key
    if ticket.filename and default_storage.exists(ticket.key_template):
        return ticket.key_template
    return None


@transaction.atomic
def photo_upload_collect(*, photo_id) -> bool:
    """Confirm the photo's upload once its bytes are in storage; True when collected.

    Safe to run twice and from several places at once: the row is locked and a
    photo that already has its file is left alone. With S3 nothing tells the
    portal that a client posted, so ``photo_uploads_collect`` looks every few seconds.
    """
    photo = (
        PatientPhoto.objects.select_for_update(of=("self",))
        .select_related("upload_ticket", "account")
        .filter(pk=photo_id)
        .first()
    )
    if photo is None or photo.file_id is not None or photo.upload_ticket is None:
        return False
    ticket = photo.upload_ticket
    key = uploaded_key(ticket)
    if key is None:
        return False
    actor = Actor(photo.creator_kind, photo.creator_id, photo.creator_label)
    quota.account_lock(photo.account)
    try:
        quota.trial_quota_check(account=photo.account, adding_bytes=default_storage.size(key))
        file = upload_ticket_confirm(
            ticket=ticket,
            confirmed_by=actor,
            original_name=photo.filename,
            key=key,
            source=File.Source.MEDABLE,
        )
    except (quota.TrialQuotaExceeded, UploadMissing) as exc:
        photo.collect_failure = getattr(exc, "message", str(exc))
        photo.upload_ticket = None
        photo.save(update_fields=["collect_failure", "upload_ticket", "updated_at"])
        return False
    photo.file = file
    photo.upload_ticket = None
    photo.save(update_fields=["file", "upload_ticket", "updated_at"])
    return True


def photo_uploads_collect() -> int:
    """Collect every open photo upload whose bytes have arrived; the number collected.

    Looks only at tickets that could still receive bytes (and a short while after,
    for a post that finished as the ticket lapsed)."""
    since = timezone.now() - dt.timedelta(seconds=settings.ATTACHMENTS_PHOTO_COLLECT_GRACE_SECONDS)
    open_photos = PatientPhoto.objects.filter(
        file__isnull=True,
        upload_ticket__isnull=False,
        upload_ticket__expires_at__gte=since,
        upload_ticket__state__in=[UploadTicket.State.ISSUED, UploadTicket.State.UPLOADED],
    ).values_list("pk", flat=True)
    collected = 0
    for photo_id in list(open_photos):
        try:
            collected += photo_upload_collect(photo_id=photo_id)
        except OSError:
            logger.exception("could not look for the upload of photo %s", photo_id)
    return collected
