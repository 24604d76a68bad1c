"""Patients of a clinic."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField


class Patient(models.Model):
    """A patient of one account.

    Families often share one phone, so within an account a patient is known by
    mobile *and* date of birth together: the same mobile with another date of
    birth is another person. A file request to an unknown pair creates a
    *shell* patient, who has given no more than a mobile and a date of birth.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="patients"
    )
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField()
    mobile = PhoneNumberField(blank=True, db_index=True)
    is_shell = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "created_at"]
        indexes = [models.Index(fields=["account", "mobile", "date_of_birth"])]

    def __str__(self) -> str:
        return self.full_name or f"Patient {str(self.id)[:8]}"

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)
