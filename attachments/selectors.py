"""Reads of attachments and photo properties, always within one account."""

from __future__ import annotations

from django.db.models import Case, CharField, Exists, F, OuterRef, QuerySet, Value, When

from attachments.models import PatientAttachment, PatientPhoto
from portal.accounts.models import Account
from portal.audit.models import AuditEvent
from portal.ids import parse_uuid
from portal.patients.models import Patient


def attachment_get(*, account: Account, attachment_id) -> PatientAttachment | None:
    """The account's attachment with this id; None for a missing, malformed or foreign id."""
    parsed = parse_uuid(attachment_id)
    if parsed is None:
        return None
    return (
        PatientAttachment.objects.filter(account=account, pk=parsed)
        .select_related("file", "patient")
        .first()
    )


def attachment_list(
    *,
    account: Account,
    patient: Patient | None = None,
    archived: str = "exclude",
    newest_first: bool = False,
    order_field: str = "created_at",
) -> QuerySet[PatientAttachment]:
    """``archived``: ``exclude`` (the default), ``include`` or ``only``."""
    attachments = PatientAttachment.objects.filter(account=account).select_related(
        "file", "patient"
    )
    if patient is not None:
        attachments = attachments.filter(patient=patient)
    if archived == "exclude":
        attachments = attachments.filter(archived_at__isnull=True)
    elif archived == "only":
        attachments = attachments.filter(archived_at__isnull=False)
    prefix = "-" if newest_first else ""
    return attachments.order_by(f"{prefix}{order_field}", f"{prefix}id")


def patient_owner_account_id(*, patient_id):
    """The account a patient belongs to, whoever asks; None when there is no such patient.

    Only Claros's upload uses this: its contract answers 403 for another
    account's patient and 404 for none at all."""
    parsed = parse_uuid(patient_id)
    if parsed is None:
        return None
    return Patient.objects.filter(pk=parsed).values_list("account_id", flat=True).first()


def photo_get(*, patient: Patient) -> PatientPhoto | None:
    return (
        PatientPhoto.objects.filter(patient=patient)
        .select_related("file", "upload_ticket", "patient")
        .first()
    )


# --- Which door a file came through ------------------------------------------------------


class FileSource:
    """Which door a file came through: the patient record's ``source`` filter and FHIR's
    DocumentReference.category name doors with these values."""

    REQUEST = "request"
    XON = "xon"
    CLINIKO = PatientAttachment.Source.CLINIKO
    CLAROS = PatientAttachment.Source.CLAROS
    DASHBOARD = PatientAttachment.Source.DASHBOARD
    MEDABLE = "medable"

    LABELS = {
        REQUEST: "Sent by the patient",
        XON: "X-on files API",
        CLINIKO: "Cliniko upload",
        CLAROS: "Claros PDF",
        DASHBOARD: "Dashboard upload",
        MEDABLE: "Medable photo",
    }
    CHOICES = list(LABELS.items())


def file_source_expression() -> Case:
    """SQL naming the door of each file (see ``FileSource``): an attachment says its own
    source; a Medable photo property points at its file; a file uploaded through a
    patient link came from a request; anything else came by the X-on files API."""
    is_photo_property = Exists(PatientPhoto.objects.filter(file=OuterRef("pk")))
    return Case(
        When(patient_attachment__isnull=False, then=F("patient_attachment__source")),
        When(is_photo_property, then=Value(FileSource.MEDABLE)),
        When(actor_kind=AuditEvent.ActorKind.PATIENT_LINK, then=Value(FileSource.REQUEST)),
        default=Value(FileSource.XON),
        output_field=CharField(),
    )
