"""API routes of this app, included under /api/v1/ by config/urls.py."""

from django.urls import path

from portal.webhooks import api

urlpatterns = [
    path("webhooks", api.WebhookEndpointListCreateApi.as_view(), name="webhook-endpoint-list"),
    path(
        "webhooks/<str:endpoint_id>",
        api.WebhookEndpointDetailApi.as_view(),
        name="webhook-endpoint-detail",
    ),
    path(
        "webhooks/<str:endpoint_id>/ping",
        api.WebhookEndpointPingApi.as_view(),
        name="webhook-endpoint-ping",
    ),
    path(
        "webhooks/<str:endpoint_id>/deliveries",
        api.WebhookEndpointDeliveriesApi.as_view(),
        name="webhook-endpoint-deliveries",
    ),
    path("webhook-deliveries", api.WebhookDeliveryListApi.as_view(), name="webhook-delivery-list"),
    path(
        "webhook-deliveries/<str:delivery_id>",
        api.WebhookDeliveryDetailApi.as_view(),
        name="webhook-delivery-detail",
    ),
    path(
        "webhook-deliveries/<str:delivery_id>/redeliver",
        api.WebhookDeliveryRedeliverApi.as_view(),
        name="webhook-delivery-redeliver",
    ),
    path(
        "webhook-signing-secret",
        api.WebhookSigningSecretApi.as_view(),
        name="webhook-signing-secret",
    ),
]
