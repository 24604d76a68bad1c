"""Patient attachments (Cliniko's resource, Claros's PDFs) and the patient's ``photo``
file property (Medable's). Both are views of Files of the one pipeline: the bytes,
their checks, facets and expiry belong to ``files.File``; these rows say what the
file is in the patient's record."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from portal.audit.services import Actor


class CreatorFields(models.Model):
    """Who created the row, copied from an audit ``Actor``."""

    creator_kind = models.CharField(max_length=20, blank=True)
    creator_id = models.CharField(max_length=64, blank=True)
    creator_label = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True

    def set_creator(self, actor: Actor) -> None:
        self.creator_kind, self.creator_id, self.creator_label = actor.kind, actor.id, actor.label


class PatientAttachment(CreatorFields):
    """A document in a patient's record, pointing at one File (whose ``source`` says the
    door it came by). Archiving hides it from lists; nothing is deleted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="patient_attachments"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="attachments"
    )
    file = models.OneToOneField(
        "files.File", on_delete=models.PROTECT, related_name="patient_attachment"
    )
    description = models.CharField(max_length=255, blank=True, null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["account", "patient", "created_at"])]

    def __str__(self) -> str:
        return f"Attachment {str(self.id)[:8]}"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class PatientPhoto(CreatorFields):
    """The patient's ``photo`` file property (Medable's two-stage upload).

    Written with an upload value, it holds an open ``upload_ticket`` until the
    bytes arrive; the collecting step then confirms the ticket into ``file``.
    Written with a facet reference, the source bytes are copied into a new
    ``file`` at once. Writing it again replaces both; earlier Files stay stored.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="patient_photos"
    )
    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.PROTECT, related_name="photo"
    )
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    upload_ticket = models.ForeignKey(
        "files.UploadTicket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The open upload, until its bytes are collected.",
    )
    file = models.ForeignKey(
        "files.File",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The property's content, once uploaded or copied.",
    )
    collect_failure = models.TextField(
        blank=True, help_text="Why the upload could not be collected, if it could not."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"Photo of patient {str(self.patient_id)[:8]}"
