"""File requests: staff ask a patient for photos through a short link (seed 004)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class FileRequest(models.Model):
    """A clinician's request for photos, answered by the patient through a short link.

    The short link id is the credential (≥128 random bits, see
    ``shortlinks.short_link_id_new``); the patient's date of birth is only a
    second check, counted by ``failed_attempts`` and closed by ``locked_until``.
    """

    class Type(models.TextChoices):
        PHOTO = "photo", "Photo"

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        OPENED = "opened", "Opened"
        ANSWERED = "answered", "Answered"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    # Statuses in which the patient may still open the link and send photos.
    OPEN_STATUSES = (Status.SENT, Status.OPENED, Status.ANSWERED)

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
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.SENT, db_index=True
    )
    files_update_webhook_url = models.URLField(max_length=2000, blank=True)
    # Photos go as taken: the patient's phone does not shrink them before sending.
    full_resolution = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Photos are sent at full resolution, not shrunk on the patient's phone.",
    )
    # X-on's ``accountId``: the sending system's id of its own account, kept and answered
    # as sent. It never chooses the clinic, which is always the API key's. A database
    # default, so code of the previous release can still insert requests during an upgrade.
    sender_account_id = models.CharField(
        max_length=100,
        blank=True,
        default="",
        db_default="",
        help_text="The sending system's id of its own account (X-on's accountId), as sent.",
    )
    created_by_label = models.CharField(
        max_length=200, blank=True, help_text="Who created it: a staff member or an API key."
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    # The date-of-birth check: wrong answers since the last success or lockout,
    # how many lockouts so far (each one longer), and until when the link is shut.
    failed_attempts = models.PositiveIntegerField(default=0)
    lockout_count = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    # "Ask for more": a follow-up request points at the request it follows.
    follow_up_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="follow_ups"
    )

    # Files already announced in a ``file-request.files.update`` event.
    announced_file_ids = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "-created_at"]),
            models.Index(fields=["status", "short_link_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"File request {str(self.id)[:8]}"

    @property
    def account_id_as_sent(self) -> str:
        """``accountId`` as the API answers it: what the sending system sent, else (a
        request made in the dashboard) the clinic's own id."""
        return self.sender_account_id or str(self.account_id)

    def link_has_expired(self, now=None) -> bool:
        now = now or timezone.now()
        return self.short_link_expires_at is not None and self.short_link_expires_at <= now

    def is_locked(self, now=None) -> bool:
        now = now or timezone.now()
        return self.locked_until is not None and self.locked_until > now

    @property
    def locked_at(self):
        """When the current lockout began: its end less its length (the lockout grows
        with each one, see ``services.lockout_length``)."""
        if self.locked_until is None or not self.lockout_count:
            return None
        from filerequests.services import lockout_length

        return self.locked_until - lockout_length(self.lockout_count)

    def accepts_answers(self, now=None) -> bool:
        """Whether the patient may still open the link and send photos."""
        return self.status in self.OPEN_STATUSES and not self.link_has_expired(now)

    @property
    def latest_notification(self) -> Notification | None:
        prefetched = getattr(self, "prefetched_notifications", None)
        if prefetched is not None:
            return prefetched[0] if prefetched else None
        return self.notifications.order_by("-created_at").first()


class Notification(models.Model):
    """One text message telling the patient about a request (the first, or a resend).

    The message body is never stored: it carries the short link, which is the
    credential. ``status`` is what staff see: queued, sent or failed.
    """

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file_request = models.ForeignKey(
        FileRequest, on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.SMS)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    backend = models.CharField(max_length=100, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.status} for {self.file_request_id}"


class ReplacedShortLink(models.Model):
    """A short link id a newer one replaced (a locked link unlocked and texted again).

    It grants nothing: the patient who opens it is told a newer text was sent and to
    use that one, instead of being told the link does not exist.
    """

    short_link_id = models.CharField(max_length=64, unique=True)
    file_request = models.ForeignKey(
        FileRequest, on_delete=models.CASCADE, related_name="replaced_short_links"
    )
    replaced_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Link replaced {self.replaced_at:%Y-%m-%d %H:%M} for {self.file_request_id}"


class AddressThrottle(models.Model):
    """Failed date-of-birth checks, or unknown links tried, from one client in one window.

    The per-link counter on FileRequest is the brute-force control; this one stops
    one client from spraying guesses across many links. The two kinds are counted
    apart, so strangers trying made-up links from a shared address (a carrier's
    CGNAT, a clinic's Wi-Fi) never hold back a patient answering a real link. The
    address is the client's (portal.clientip), an IPv6 client's /64.
    """

    class Kind(models.TextChoices):
        WRONG_ANSWER = "wrong_answer", "wrong date of birth on a live link"
        UNKNOWN_LINK = "unknown_link", "a link that does not exist"

    address = models.GenericIPAddressField()
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.WRONG_ANSWER)
    window_start = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["address", "kind", "window_start"],
                name="address_throttle_one_row_per_kind_and_window",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.address} from {self.window_start:%Y-%m-%d %H:%M}: "
            f"{self.failures} ({self.get_kind_display()})"
        )
