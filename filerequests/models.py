"""File requests: staff ask a patient for photos through a short link (seed 004)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from files.body_sites import body_site_label
from portal.throttle import Columns, LockoutPolicy


class Outcome(models.TextChoices):
    """What the reviewer decided about the photos of a request."""

    NO_ACTION = "no_action", "No action needed"
    APPOINTMENT = "appointment", "Appointment needed"
    REFERRED = "referred", "Referred"
    OTHER = "other", "Other"


class ClinicListEntry(models.Model):
    """What a clinic's own editable lists (request templates, reply texts) share: their
    order on the Settings page, and when each was made and last changed."""

    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class RequestTemplate(ClinicListEntry):
    """A clinic's ready-made request: the message to the patient and the photos to take,
    one slot each ("Close-up, in focus"). Staff pick one when sending; the request keeps
    a copy of the slots, so editing or deleting a template never changes a request
    already sent. ``default_key`` marks the ones the portal ships (a mole, a rash...)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="request_templates"
    )
    name = models.CharField(max_length=100)
    message = models.TextField(max_length=1000)
    default_key = models.CharField(max_length=30, blank=True, default="")

    class Meta(ClinicListEntry.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="request_template_one_name_per_clinic"
            )
        ]

    def slot_snapshot(self) -> list[dict]:
        """The slots as a request keeps them: ``[{id, label, instruction}]``."""
        return [
            {"id": str(slot.id), "label": slot.label, "instruction": slot.instruction}
            for slot in self.slots.all()
        ]


class TemplateSlot(models.Model):
    """One photo a template asks for: a short label staff read in lists ("Close-up") and
    the instruction the patient reads ("Close-up, in focus")."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    template = models.ForeignKey(RequestTemplate, on_delete=models.CASCADE, related_name="slots")
    label = models.CharField(max_length=60)
    instruction = models.CharField(max_length=300)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label


# The link's own count: 5 wrong answers lock it for 30 minutes, each further lock-out
# twice the last, up to a day. Wrong answers are never forgotten by time (only a right
# one starts the count again), and a link's back-off is never forgotten.
LINK_COLUMNS = Columns(
    failures="failed_attempts",
    lockouts="lockout_count",
    locked_until="locked_until",
    last_failure_at=None,
)


def link_policy() -> LockoutPolicy:
    return LockoutPolicy(
        scope="link",
        max_failures=settings.FILE_REQUEST_DOB_MAX_ATTEMPTS,
        lockout=timedelta(seconds=settings.FILE_REQUEST_LOCKOUT_SECONDS),
        lockout_max=timedelta(seconds=settings.FILE_REQUEST_LOCKOUT_MAX_SECONDS),
        columns=LINK_COLUMNS,
    )


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

    # The template it was sent from, and a copy of that template's photo slots as they
    # were when sent (``[{id, label, instruction}]``): each file names its slot by id.
    template = models.ForeignKey(
        RequestTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="file_requests",
    )
    slots = models.JSONField(default=list, blank=True, db_default=[])
    # Where on the body (files.body_sites: a SNOMED CT code of the list, and a side).
    body_site_code = models.CharField(max_length=20, blank=True, default="", db_default="")
    body_site_side = models.CharField(max_length=10, blank=True, default="", db_default="")

    # Files already announced in a ``file-request.files.update`` event.
    announced_file_ids = models.JSONField(default=list, blank=True)

    # What the reviewer decided, once they had looked at the photos. Database defaults,
    # so code of the previous release can still insert requests during an upgrade.
    review_outcome = models.CharField(
        max_length=20, choices=Outcome.choices, blank=True, default="", db_default=""
    )
    review_note = models.TextField(blank=True, default="", db_default="")
    review_outcome_at = models.DateTimeField(null=True, blank=True)
    review_outcome_by = models.ForeignKey(
        "accounts.Staff", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    review_outcome_by_name = models.CharField(max_length=200, blank=True, default="", db_default="")

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
        with each one, see ``link_policy``)."""
        if self.locked_until is None or not self.lockout_count:
            return None
        return self.locked_until - link_policy().lockout_length(self.lockout_count)

    def accepts_answers(self, now=None) -> bool:
        """Whether the patient may still open the link and send photos."""
        return self.status in self.OPEN_STATUSES and not self.link_has_expired(now)

    @property
    def body_site_label(self) -> str:
        return body_site_label(self.body_site_code, self.body_site_side)

    def slot(self, slot_id) -> dict | None:
        """The request's slot with this id, or None."""
        return next((s for s in self.slots or [] if s.get("id") == slot_id), None)

    @property
    def latest_notification(self) -> Notification | None:
        """The latest text with the request's link (replies after review are not)."""
        prefetched = getattr(self, "prefetched_notifications", None)
        if prefetched is not None:
            return prefetched[0] if prefetched else None
        return self.notifications.filter(reply__isnull=True).order_by("-created_at").first()


class Notification(models.Model):
    """One text message telling the patient about a request (the first, or a resend).

    The message body is never stored: it carries the short link, which is the
    credential. ``status`` is the sending: queued, handed to the provider (sent) or
    refused (failed). ``delivery`` is what the provider's receipts said since: waiting
    for the network, delivered to the phone, or not delivered (``delivery_reason`` in
    words); it only moves forward (``sms_receipts``).
    """

    class Delivery(models.TextChoices):
        NONE = "", "No receipt yet"
        WAITING = "waiting", "Waiting for the network"
        DELIVERED = "delivered", "Delivered to the phone"
        FAILED = "failed", "Not delivered"

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
    # Delivery receipts. Database defaults, so code of the previous release can still
    # insert messages during an upgrade.
    delivery = models.CharField(
        max_length=10, choices=Delivery.choices, blank=True, default="", db_default=""
    )
    delivery_status = models.CharField(
        max_length=40,
        blank=True,
        default="",
        db_default="",
        help_text="The provider's own word in its latest receipt (delivered, undelivered, ...).",
    )
    delivery_error_code = models.CharField(max_length=20, blank=True, default="", db_default="")
    delivery_reason = models.CharField(max_length=200, blank=True, default="", db_default="")
    delivery_at = models.DateTimeField(
        null=True, blank=True, help_text="When the latest receipt that counted arrived."
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["backend", "provider_message_id"], name="notification_provider_id")
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.status} for {self.file_request_id}"

    @property
    def delivery_words(self) -> str:
        """What staff read of this message: "Delivered to the phone", "Not delivered:
        <reason>" or "Waiting for the network"."""
        if self.status == self.Status.FAILED:
            return f"Not delivered: {self.error or 'the text provider refused it'}"
        if self.delivery == self.Delivery.DELIVERED:
            return "Delivered to the phone"
        if self.delivery == self.Delivery.FAILED:
            return f"Not delivered: {self.delivery_reason or 'the network gave no reason'}"
        return "Waiting for the network"

    @property
    def not_delivered(self) -> bool:
        return self.status == self.Status.FAILED or self.delivery == self.Delivery.FAILED


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


class ReplyTemplate(ClinicListEntry):
    """A clinic's ready-made reply text to a patient once their photos are reviewed.

    ``{clinic}`` and ``{first_name}`` in the body become the clinic's name and the
    patient's first name. Every clinic starts with a few (``replies.DEFAULT_TEMPLATES``)
    and edits them under Settings."""

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="reply_templates"
    )
    name = models.CharField(max_length=80)
    body = models.TextField(max_length=612)

    class Meta(ClinicListEntry.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="reply_template_name_unique_in_account"
            )
        ]


class ReplyText(models.Model):
    """The words of a reply texted to a patient after review. A reply carries no link,
    so unlike the request's own text (whose link is the credential) its body is kept,
    to show on the request what the patient was told."""

    notification = models.OneToOneField(
        Notification, on_delete=models.CASCADE, primary_key=True, related_name="reply"
    )
    body = models.TextField()
    template_name = models.CharField(max_length=80, blank=True)
    staff_name = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"Reply for {self.notification.file_request_id}"


class RecordReport(models.Model):
    """One PDF of a request, or of a set of one patient's files, for the patient's record.

    The worker makes it (``record_reports.record_report_make``) and stores it as a file of
    the patient through the same pipeline as any upload, so it is checked, listed,
    downloadable and audited like any other. ``fingerprint`` sums up what it shows: a
    report whose request has changed since (new photos, a review) is no longer current,
    and saving again makes a new one. ``saved_*`` is who saved it to the record."""

    class State(models.TextChoices):
        MAKING = "making", "Being made"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="record_reports"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="record_reports"
    )
    file_request = models.ForeignKey(
        FileRequest,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="record_reports",
    )
    file_ids = models.JSONField(default=list, blank=True)
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State.choices, default=State.MAKING)
    failure_reason = models.CharField(max_length=300, blank=True)
    file = models.OneToOneField(
        "files.File",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="record_report",
    )
    requested_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    made_at = models.DateTimeField(null=True, blank=True)
    saved_at = models.DateTimeField(null=True, blank=True)
    saved_by = models.ForeignKey(
        "accounts.Staff", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    saved_by_name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["file_request", "-created_at"])]

    def __str__(self) -> str:
        return f"Record report {str(self.id)[:8]}"
