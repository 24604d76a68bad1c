"""Tenancy: the clinic (Account), the people who work in it (Staff) and its API keys.

Everything a clinic owns hangs off an Account, and every query the portal makes
on a caller's behalf is filtered by the caller's account.
"""

from __future__ import annotations

import uuid
import zoneinfo
from functools import cache

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

# Emergency numbers by the region phone numbers are read in (PHONENUMBER_DEFAULT_REGION).
SAFETY_LINES = {
    "GB": "This is not for emergencies. If you are very unwell call 999 or 111.",
}
SAFETY_LINE_ELSEWHERE = (
    "This is not for emergencies. If you are very unwell call your local emergency number."
)


def default_safety_line() -> str:
    return SAFETY_LINES.get(settings.PHONENUMBER_DEFAULT_REGION, SAFETY_LINE_ELSEWHERE)


def safety_lines(clinic_line: str = "") -> list[str]:
    """The region's safety line, then the clinic's own unless it is empty or the same."""
    lines = [default_safety_line()]
    own = " ".join(clinic_line.split())
    if own and own.casefold() != lines[0].casefold():
        lines.append(own)
    return lines


class UserManager(BaseUserManager):
    """Users sign in with their e-mail address; there is no separate user name."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who can sign in: a clinic's staff member or the operator's admin."""

    username = None
    email = models.EmailField("e-mail address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.email


DEFAULT_TIME_ZONE = "Europe/London"


@cache
def time_zone_names() -> frozenset[str]:
    """The IANA names this machine's time zone database knows."""
    return frozenset(zoneinfo.available_timezones())


def time_zone_validate(name: str) -> None:
    if name not in time_zone_names():
        raise ValidationError(
            "Choose a time zone from the list, like Europe/London.", code="invalid_time_zone"
        )


class Account(models.Model):
    """A clinic: the tenant that owns patients, files, requests, keys and webhooks."""

    class Plan(models.TextChoices):
        TRIAL = "trial", "Trial"
        FULL = "full", "Full"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    plan = models.CharField(max_length=10, choices=Plan.choices, default=Plan.FULL)
    # What the patient page shows on every page: whom to ring, and where not to turn for
    # an emergency. Empty means "not set": the page then names no number, and shows the
    # default safety line for the portal's region.
    phone_number = PhoneNumberField(
        "clinic phone number",
        blank=True,
        help_text="Shown to patients on every photo request page, tap to call.",
    )
    patient_safety_line = models.CharField(
        "safety line for patients",
        max_length=300,
        blank=True,
        help_text="Shown on every photo request page after “This is not for emergencies. "
        "If you are very unwell call 999 or 111.”, which is always shown.",
    )
    # Every time staff read is shown in it, with its name ("14:05 BST"). A database
    # default, so code of the previous release can still insert clinics during an upgrade.
    time_zone = models.CharField(
        "time zone",
        max_length=64,
        default=DEFAULT_TIME_ZONE,
        db_default=DEFAULT_TIME_ZONE,
        validators=[time_zone_validate],
        help_text="Times in the dashboard are shown in this zone, with its name (GMT, BST).",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The clinic's time zone; the default one for a name this machine does not know."""
        name = self.time_zone if self.time_zone in time_zone_names() else DEFAULT_TIME_ZONE
        return zoneinfo.ZoneInfo(name)

    @property
    def safety_lines(self) -> list[str]:
        """What the patient page says about emergencies: the region's emergency numbers
        always, then the clinic's own line when it has one. A clinic's text adds to the
        emergency numbers and never replaces them: a patient who is very unwell must be
        told where to turn whatever the clinic typed."""
        return safety_lines(self.patient_safety_line)

    @property
    def is_trial(self) -> bool:
        return self.plan == self.Plan.TRIAL


class Staff(models.Model):
    """A member of a clinic, with a role.

    A file request may name staff who have never signed in (X-on's "shell"
    staff): such a row has no ``user`` and is known by ``account_user_id``,
    the integrating system's own id for that person.
    """

    class Role(models.TextChoices):
        ADMIN = "admin", "Account admin"
        CLINICIAN = "clinician", "Clinician"
        RECEPTIONIST = "receptionist", "Receptionist"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="staff")
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships"
    )
    display_name = models.CharField(max_length=200, blank=True)
    account_user_id = models.CharField(
        max_length=100, blank=True, help_text="The integrating system's id for this person."
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CLINICIAN)
    is_shell = models.BooleanField(default=False)
    notify_photos_by_email = models.BooleanField(
        default=False,
        help_text="E-mail this person when a patient sends photos for a request they sent.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name_plural = "staff"
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "user"],
                condition=models.Q(user__isnull=False),
                name="staff_one_membership_per_user_and_account",
            ),
            models.UniqueConstraint(
                fields=["account", "account_user_id"],
                condition=~models.Q(account_user_id=""),
                name="staff_unique_account_user_id",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or (self.user.email if self.user_id else str(self.id))

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class ApiKey(models.Model):
    """An account's credential for other systems.

    Only a SHA-256 digest of the key is stored: the key has 256 random bits, so
    a fast hash is safe (ASVS 5.0 6.5.2) and lookups stay cheap. The visible
    ``prefix`` lets a person tell keys apart without seeing the secret.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="API key")
    prefix = models.CharField(max_length=16, unique=True)
    key_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class SignInThrottle(models.Model):
    """Wrong passwords at the staff sign-in, counted per account and per client address.

    ``key_digest`` is an HMAC of the e-mail address as typed (lower-cased) or of the
    client's address (IPv6 per /64), so the table holds no list of typed e-mail
    addresses. See portal.accounts.signin_throttle.
    """

    class Scope(models.TextChoices):
        ACCOUNT = "account", "Account"
        ADDRESS = "address", "Client address"

    scope = models.CharField(max_length=10, choices=Scope.choices)
    key_digest = models.CharField(max_length=64)
    failures = models.PositiveIntegerField(default=0)
    lockouts = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "key_digest"], name="sign_in_throttle_one_row_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key_digest[:12]}…"


class PasswordResetThrottle(models.Model):
    """When password reset links were asked for one address, in the last 24 hours.

    Kept for every address typed, whether or not an account uses it, so a refusal
    tells nothing about who has an account. ``key_digest`` is an HMAC of the address
    as authentication compares it (NFKC, case-folded), so the table holds no list of
    typed addresses and each spelling of one address shares its limit. See
    portal.accounts.password_reset.
    """

    key_digest = models.CharField(max_length=64, unique=True)
    # ISO times of the asks that were answered with an e-mail (to an account's address)
    # or would have been (to any other), oldest first; at most the day's cap of them.
    sent_at = models.JSONField(default=list)
    last_sent_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key_digest[:12]}… ({len(self.sent_at)} in 24 hours)"


class StaffInvitation(models.Model):
    """An account admin's invitation to join the clinic, sent by e-mail.

    Nobody becomes a member until the person at that address accepts: someone who
    already signs in (to any clinic) must sign in as themselves to accept, and a new
    address chooses its password through the same link. So an admin learns nothing
    about whether an address is known, and no one is added to a clinic unasked.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    display_name = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=Staff.Role.choices)
    invited_by = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    staff = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} to {self.account}"

    def is_pending(self, now=None) -> bool:
        now = now or timezone.now()
        return self.accepted_at is None and self.withdrawn_at is None and self.expires_at > now
