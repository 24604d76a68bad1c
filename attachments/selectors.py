"""Reads of attachments and photo properties, always within one account."""

from __future__ import annotations

from django.db.models import QuerySet

from attachments.models import PatientAttachment, PatientPhoto
from portal.accounts.models import Account
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
