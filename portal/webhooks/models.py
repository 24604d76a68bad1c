"""Events (the outbox), the webhook endpoints they feed, and every delivery and attempt."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal.encryption import EncryptedTextField


class Event(models.Model):
    """Something an integrator would otherwise poll for, recorded in the same
    transaction as the change that caused it (the outbox) and delivered after commit.

    The payload is thin: ids of what changed and non-identifying facts (state,
    counts), never patient data. Receivers fetch the resource through the API,
    which audits the access.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=64, db_index=True)
    # The exact JSON body delivered to receivers.
    payload = models.JSONField(default=dict)
    # One-off receivers beside the account's endpoints (X-on's filesUpdateWebhookUrl).
    extra_urls = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # When its deliveries were created (fan-out). Null: not yet, and the sweep will.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # The id of the request (or task) that caused it (portal.requestid): each delivery
    # sends it as X-Request-ID, whichever worker or sweep makes the attempt. A database
    # default too: during a rolling upgrade the previous release's INSERTs do not name it.
    request_id = models.CharField(max_length=128, blank=True, default="", db_default="")

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(dispatched_at__isnull=True),
                name="event_undispatched",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookEndpoint(models.Model):
    """An account's subscriber URL, its signing secret and the event types it wants.

    The secret is kept, encrypted at rest (``portal.encryption``), because signing needs
    it; the API shows it only in the answer that creates the endpoint, and the admin
    never shows it.
    """

    class DisabledReason(models.TextChoices):
        NONE = "", "Not disabled"
        MANUAL = "manual", "Disabled by the account"
        FAILING = "failing", "Disabled after repeated failed deliveries"
        GONE = "gone", "Disabled: the receiver answered 410 Gone"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    secret = EncryptedTextField()
    events = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(
        max_length=16, choices=DisabledReason.choices, default="", blank=True
    )
    disabled_at = models.DateTimeField(null=True, blank=True)
    # The failing streak: when the first failed attempt since the last success
    # happened, and how many deliveries gave up in a row.
    failing_since = models.DateTimeField(null=True, blank=True)
    consecutive_failed_deliveries = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return event_type in self.events


class WebhookSigningSecret(models.Model):
    """The account-level secret that signs deliveries to one-off receivers
    (``extra_urls``, X-on's per-request ``filesUpdateWebhookUrl``), which have no
    endpoint and so no secret of their own."""

    account = models.OneToOneField(
        "accounts.Account", on_delete=models.CASCADE, related_name="webhook_signing_secret"
    )
    secret = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Signing secret of {self.account}"


class Delivery(models.Model):
    """One event to one receiver: an endpoint, or a one-off URL of the event."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    # The one-off receiver's URL; for an endpoint, its URL when the event fanned out
    # (attempts go to the endpoint's current URL, so a corrected URL gets the retries).
    url = models.URLField(max_length=2000)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    # Index into the retry schedule of the next attempt; a redelivery starts it again.
    retry_step = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "endpoint"],
                condition=Q(endpoint__isnull=False),
                name="delivery_one_per_event_and_endpoint",
            ),
            models.UniqueConstraint(
                fields=["event", "url"],
                condition=Q(endpoint__isnull=True),
                name="delivery_one_per_event_and_extra_url",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_pending_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.target_url}"

    @property
    def target_url(self) -> str:
        return self.endpoint.url if self.endpoint_id else self.url


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery, and what came back (or why nothing did)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    url = models.URLField(max_length=2000)
    started_at = models.DateTimeField(default=timezone.now)
    # Null until the attempt ends; an attempt whose worker died stays open until
    # the next attempt of its delivery closes it as lost.
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="delivery_attempt_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
