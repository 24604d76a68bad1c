"""Patients of a clinic."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Max, Q
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

from portal.accounts.models import Account
from portal.patients.nhs_number import NhsNumberError, nhs_number_format, nhs_number_parse


def validate_nhs_number_digits(value: str) -> None:
    """What is stored is the ten digits of a valid NHS number (parsed by the surfaces)."""
    try:
        digits = nhs_number_parse(value)
    except NhsNumberError as exc:
        raise ValidationError(str(exc)) from exc
    if digits != value:
        raise ValidationError("An NHS number is stored as its ten digits, without spaces.")


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
    # The patient's number within the clinic (1, 2, 3, …): the integer id Claros's seed
    # types ``patient_id`` as. Per account rather than global, so a number says nothing
    # of other clinics (how many patients they have, which numbers are theirs).
    number = models.PositiveIntegerField(editable=False)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField()
    mobile = PhoneNumberField(blank=True, db_index=True)
    # The ten digits, checked (portal.patients.nhs_number), or "" where not known: not
    # every clinic is an NHS one. The database default lets code without this field
    # insert patients while a rolling upgrade runs.
    nhs_number = models.CharField(
        "NHS number",
        max_length=10,
        blank=True,
        default="",
        db_default="",
        validators=[validate_nhs_number_digits],
    )
    is_shell = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "created_at"]
        indexes = [
            models.Index(fields=["account", "mobile", "date_of_birth"]),
            # Searches by date of birth, and the similar-name check within a birth year.
            models.Index(fields=["account", "date_of_birth"], name="patient_account_dob"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "number"], name="patient_number_per_account"
            ),
            # One patient per NHS number within a clinic; another clinic may hold the
            # same person. The partial index also answers searches by NHS number.
            models.UniqueConstraint(
                fields=["account", "nhs_number"],
                condition=~Q(nhs_number=""),
                name="patient_nhs_number_per_account",
                violation_error_message="Another patient of this clinic has this NHS number.",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or f"Patient {str(self.id)[:8]}"

    def save(self, *args, **kwargs):
        if self.number is None:
            self.number_allocate_and_save(*args, **kwargs)
        else:
            super().save(*args, **kwargs)

    def number_allocate_and_save(self, *args, **kwargs) -> None:
        """Take the account's next number and save, in one transaction under the
        account's row lock (PostgreSQL); where two writers still meet (SQLite takes no
        row locks), the unique constraint refuses one, which takes the next number."""
        for _ in range(20):
            try:
                with transaction.atomic():
                    # Read the row so the lock is taken (the FOR UPDATE of a fetched row).
                    list(
                        Account.objects.select_for_update()
                        .filter(pk=self.account_id)
                        .values_list("pk", flat=True)
                    )
                    highest = Patient.objects.filter(account_id=self.account_id).aggregate(
                        highest=Max("number")
                    )["highest"]
                    self.number = (highest or 0) + 1
                    super().save(*args, **kwargs)
                return
            except IntegrityError:
                self.number = None
                if self.nhs_number_taken():
                    raise  # another number would not help
        raise IntegrityError("Could not allocate a patient number: too many writers at once.")

    def nhs_number_taken(self) -> bool:
        """Whether another patient of the account holds this patient's NHS number."""
        if not self.nhs_number:
            return False
        holders = Patient.objects.filter(account_id=self.account_id, nhs_number=self.nhs_number)
        return holders.exclude(pk=self.pk).exists()

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def name_family_first(self) -> str:
        """``THOMPSON, Margaret``: family name first, in capitals, as NHS patient banners
        write it, so a name reads the same on every page and is not misread."""
        family = self.last_name.upper()
        if family and self.first_name:
            return f"{family}, {self.first_name}"
        return family or self.first_name or str(self)

    @property
    def nhs_number_display(self) -> str:
        """``943 476 5919``, as the NHS writes it; "" where not known."""
        return nhs_number_format(self.nhs_number)
