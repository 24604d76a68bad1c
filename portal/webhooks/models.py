"""Events (the outbox) and, later, the webhook endpoints and deliveries they feed."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


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

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"
