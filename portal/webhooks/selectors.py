"""Reads of webhook endpoints and deliveries, always within one account."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from portal.accounts.models import Account
from portal.ids import parse_uuid
from portal.webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint


def webhook_endpoint_list(*, account: Account) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(account=account).order_by("created_at")


def webhook_endpoint_get(*, account: Account, endpoint_id) -> WebhookEndpoint | None:
    """None for a missing, malformed *or foreign* id: callers answer 404 for all three."""
    endpoint_uuid = parse_uuid(endpoint_id)
    if endpoint_uuid is None:
        return None
    return WebhookEndpoint.objects.filter(account=account, pk=endpoint_uuid).first()


def webhook_endpoints_needing_attention(*, account: Account) -> QuerySet[WebhookEndpoint]:
    """Endpoints the account should hear about on its dashboard: those the portal
    disabled (``disabled_reason`` ``failing`` or ``gone``) and active ones whose
    latest attempts are failing (``failing_since`` set). Disabled ones first."""
    return (
        WebhookEndpoint.objects.filter(account=account)
        .filter(
            Q(
                is_active=False,
                disabled_reason__in=[
                    WebhookEndpoint.DisabledReason.FAILING,
                    WebhookEndpoint.DisabledReason.GONE,
                ],
            )
            | Q(is_active=True, failing_since__isnull=False)
        )
        .order_by("is_active", "failing_since", "created_at")
    )


def webhook_delivery_list(
    *, account: Account, endpoint: WebhookEndpoint | None = None, status: str = ""
) -> QuerySet[Delivery]:
    deliveries = (
        Delivery.objects.filter(account=account)
        .select_related("event")
        .prefetch_related(Prefetch("attempts", queryset=DeliveryAttempt.objects.order_by("number")))
        .order_by("-created_at", "id")
    )
    if endpoint is not None:
        deliveries = deliveries.filter(endpoint=endpoint)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries


def webhook_delivery_get(*, account: Account, delivery_id) -> Delivery | None:
    delivery_uuid = parse_uuid(delivery_id)
    if delivery_uuid is None:
        return None
    return webhook_delivery_list(account=account).filter(pk=delivery_uuid).first()
