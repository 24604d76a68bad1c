"""File requests: staff ask a patient for photos through a short link (seed 004)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class FileRequest(models.Model):
    class Type(models.TextChoices):
        PHOTO = "photo", "Photo"

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        OPENED = "opened", "Opened"
        ANSWERED = "answered", "Answered"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="file_requests"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="file_requests"
    )
    staff = models.ForeignKey(
        "accounts.Staff", on_delete=models.PROTECT, related_name="file_requests"
    )
    staff_name = models.CharField(max_length=200)
    prompt = models.TextField(blank=True)
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.PHOTO)
    short_link_id = models.CharField(max_length=64, unique=True)
    short_link_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SENT)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"File request {str(self.id)[:8]}"
