"""Files, their facets, and the upload tickets that let clients post bytes straight to storage.

Every door into the portal ends in a ``File`` in ``pending`` state whose bytes sit
at a temporary key; the processing task turns it into ``ready`` (with facets) or
``rejected`` (with a reason a person can read). Storage keys carry the account
and the patient, and temporary keys live under their own prefix, so a key alone
says whose bytes they are and whether they have been checked.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from files.body_sites import body_site_label
from files.keys import path_problem
from files.names import safe_filename
from portal.audit.services import Actor


class Purpose(models.TextChoices):
    """What a file is for; it decides which types are allowed."""

    PHOTO = "photo", "Photo"
    DOCUMENT = "document", "Document"


def patient_segment(patient_id) -> str:
    return str(patient_id) if patient_id else "none"


# Every unchecked upload waits under this one top-level prefix, so a bucket lifecycle
# rule (whose filters match only a key's start) can expire what is abandoned there.
TEMP_ROOT = "temp/"


def temp_prefix(*, account_id, patient_id, token) -> str:
    """Where unchecked bytes wait: ``temp/accounts/<a>/patients/<p>/<token>/``."""
    return f"{TEMP_ROOT}{temp_patient_prefix(account_id=account_id, patient_id=patient_id)}{token}/"


def temp_patient_prefix(*, account_id, patient_id) -> str:
    """The part of a temporary key that names its account and patient."""
    return f"accounts/{account_id}/patients/{patient_segment(patient_id)}/"


def temp_prefixes_allowed(*, account_id, patient_id) -> tuple[str, ...]:
    """Where this account and patient's unchecked uploads may be: today's layout, and the
    one before it (``accounts/<a>/patients/<p>/temp/``), so an upload made before an
    upgrade, or a ticket issued then, is still processed after it."""
    patient = temp_patient_prefix(account_id=account_id, patient_id=patient_id)
    return (f"{TEMP_ROOT}{patient}", f"{patient}temp/")


def permanent_prefix(*, account_id, patient_id, file_id) -> str:
    """Where checked bytes live: ``accounts/<a>/patients/<p>/files/<file>/``."""
    return f"accounts/{account_id}/patients/{patient_segment(patient_id)}/files/{file_id}/"


class ActorFields(models.Model):
    """Who did something, copied from an audit ``Actor`` (staff, API key, patient link)."""

    actor_kind = models.CharField(max_length=20, blank=True)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True

    def set_actor(self, actor: Actor | None) -> None:
        actor = actor or Actor.system()
        self.actor_kind, self.actor_id, self.actor_label = actor.kind, actor.id, actor.label

    @property
    def actor(self) -> Actor:
        return Actor(self.actor_kind, self.actor_id, self.actor_label)


class UploadTicket(ActorFields):
    """Permission to post one file straight to storage under a temporary key prefix.

    With S3 the ticket is a presigned POST; with the embedded storage the portal's
    own ``/storage/upload`` endpoint checks the same policy. Either way the
    processing step checks again (moto, and any fake S3, does not enforce policies).
    """

    class State(models.TextChoices):
        ISSUED = "issued", "Issued"
        UPLOADED = "uploaded", "Uploaded"
        CONFIRMED = "confirmed", "Confirmed"
        ABANDONED = "abandoned", "Abandoned"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="upload_tickets"
    )
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="upload_tickets",
    )
    file_request = models.ForeignKey(
        "filerequests.FileRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="upload_tickets",
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    key_prefix = models.CharField(max_length=300, unique=True)
    filename = models.CharField(
        max_length=255, blank=True, help_text="Fixed last key segment; blank means ${filename}."
    )
    content_type = models.CharField(max_length=100, blank=True)
    max_size = models.PositiveBigIntegerField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.ISSUED)
    uploaded_key = models.CharField(max_length=1100, blank=True)
    uploaded_size = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    swept_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the sweep last emptied the ticket's prefix, once nothing could arrive.",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Upload ticket {str(self.id)[:8]}"

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at

    @property
    def key_template(self) -> str:
        return self.key_prefix + (self.filename or "${filename}")


class File(ActorFields):
    """One stored upload. ``actor_*`` is who uploaded it; ``source`` the door it came by."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        REJECTED = "rejected", "Rejected"

    class Source(models.TextChoices):
        """The door a file came through, and beside each the words a clinician reads.
        The record, the inbox, FHIR (DocumentReference.category) and the metrics all name
        doors with these values; each door sets its own when it makes the file."""

        REQUEST = "request", "Sent by the patient"
        XON = "xon", "From the practice system"
        CLINIKO = "cliniko", "From the clinic system"
        CLAROS = "claros", "PDF letter"
        MEDABLE = "medable", "Photo from the patient's app"
        DASHBOARD = "dashboard", "Uploaded by staff"
        REPORT = "report", "Report saved to the record"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="files")
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="files",
    )
    file_request = models.ForeignKey(
        "filerequests.FileRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="files",
    )
    upload_ticket = models.OneToOneField(
        UploadTicket, on_delete=models.SET_NULL, null=True, blank=True, related_name="file"
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.DOCUMENT)
    # Blank only for a row that code of the previous release inserted during an upgrade
    # (the database default): it reads as "Received".
    source = models.CharField(
        max_length=20, choices=Source.choices, blank=True, default="", db_default=""
    )
    original_name = models.CharField(max_length=1000, blank=True)
    description = models.TextField(blank=True, null=True)
    declared_type = models.CharField(max_length=255, blank=True)
    mime_type = models.CharField(max_length=100, blank=True, help_text="Detected from the bytes.")
    size = models.PositiveBigIntegerField(null=True, blank=True)
    # What the sender's device sent, kept when processing replaces ``size`` with the
    # cleaned original's: the bytes that arrived in storage (after any shrinking on the
    # patient's phone), and the photo's own size on the phone before it was shrunk.
    size_sent = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Bytes that arrived (what the device sent)."
    )
    size_on_phone = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="The photo's size on the patient's phone before it was shrunk to send.",
    )
    # The id the patient's phone gave the photo: a photo sent again (a retry, a double
    # tap, a reopened page) is recognised and kept once per request.
    client_photo_id = models.UUIDField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.PENDING, db_index=True
    )
    rejection_reason = models.TextField(blank=True)
    max_size = models.PositiveBigIntegerField(help_text="The largest upload this file may be.")
    temp_key = models.CharField(max_length=1100, blank=True)
    processing_attempts = models.PositiveIntegerField(default=0)
    # Which Celery worker (its host name, ``-n``) began the latest processing run, and
    # when: a file whose worker stopped sending heartbeats is queued again at once
    # (files.pipeline.sweeps.dead_worker_requeue), not after FILES_REQUEUE_PENDING_AFTER_SECONDS.
    processing_worker = models.CharField(max_length=200, blank=True, default="")
    processing_started_at = models.DateTimeField(null=True, blank=True)
    # Pixels its latest processing run was admitted to decode (files.pipeline.decoding), counted
    # against the hourly budget of the patient link or API key that sent the file. The
    # database default lets code without this field insert rows during a rolling upgrade.
    processing_pixels = models.PositiveBigIntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    purged_at = models.DateTimeField(
        null=True, blank=True, help_text="When the retention sweep removed the bytes."
    )
    # When the ``file.expired`` event was recorded for this file (files.pipeline.sweeps.
    # expiry_announce_sweep), so subscribers hear of each expiry once.
    expiry_announced_at = models.DateTimeField(null=True, blank=True)
    # The photo slot of its request the patient sent it for (an id of the request's
    # ``slots``) and that slot's label as it was, and where on the body it was taken
    # (files.body_sites), from the request at first and correctable by staff.
    slot_id = models.CharField(max_length=64, blank=True, default="", db_default="")
    slot_label = models.CharField(max_length=60, blank=True, default="", db_default="")
    body_site_code = models.CharField(max_length=20, blank=True, default="", db_default="")
    body_site_side = models.CharField(max_length=10, blank=True, default="", db_default="")
    # The review loop: a new file, whatever its door, waits in the clinic's inbox until
    # a staff member has looked at it.
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        "accounts.Staff", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["file_request", "client_photo_id"],
                condition=models.Q(client_photo_id__isnull=False),
                name="file_one_per_client_photo_id_and_request",
            )
        ]
        indexes = [
            models.Index(fields=["account", "-created_at"]),
            models.Index(
                fields=["account", "created_at"],
                condition=models.Q(reviewed_at__isnull=True),
                name="file_awaiting_review_any_door",
            ),
            models.Index(
                fields=["actor_kind", "actor_id", "processing_started_at"],
                condition=models.Q(processing_pixels__gt=0),
                name="file_decode_budget",
            ),
        ]

    def __str__(self) -> str:
        return f"File {str(self.id)[:8]}"

    def temp_key_in_place(self, key: str | None = None) -> bool:
        """Whether ``key`` (default: ``temp_key``) is a clean key under this file's own
        account and patient's temporary prefixes: the only objects the portal reads as
        this file's upload, or deletes once it is done with them."""
        key = self.temp_key if key is None else key
        allowed = temp_prefixes_allowed(account_id=self.account_id, patient_id=self.patient_id)
        return bool(key) and not path_problem(key) and key.startswith(allowed)

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and timezone.now() >= self.expires_at

    @property
    def display_name(self) -> str:
        """The name to show a person: the client's name without path parts, control or
        bidirectional characters (``original_name`` is kept exactly as given)."""
        return safe_filename(self.original_name, default="") if self.original_name else ""

    @property
    def body_site_label(self) -> str:
        return body_site_label(self.body_site_code, self.body_site_side)

    @property
    def is_ready(self) -> bool:
        return self.state == self.State.READY

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/") and self.width is not None

    @property
    def permanent_prefix(self) -> str:
        return permanent_prefix(
            account_id=self.account_id, patient_id=self.patient_id, file_id=self.id
        )


class Facet(models.Model):
    """A stored form of a file: ``content`` (the original, cleaned), ``thumbnail``,
    or a rendition asked for with ``imageSize`` (named ``rendition:<w>x<h>``)."""

    CONTENT = "content"
    THUMBNAIL = "thumbnail"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.ForeignKey(File, on_delete=models.CASCADE, related_name="facets")
    name = models.CharField(max_length=64)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    storage_key = models.CharField(max_length=1100, blank=True)
    mime_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    sha1 = models.CharField(
        max_length=40,
        blank=True,
        help_text="SHA-1 of the bytes, hex: FHIR's Attachment.hash. Filled when first served.",
    )
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["file", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["file", "name"], name="facet_one_per_name_and_file")
        ]

    def __str__(self) -> str:
        return f"{self.name} of {self.file}"

    @staticmethod
    def rendition_name(width: int, height: int) -> str:
        return f"rendition:{width}x{height}"
