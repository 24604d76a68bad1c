"""``/api/v1/webhooks``: an account's webhook endpoints, their deliveries and attempts,
redelivery, and the account's signing secret for one-off receivers.

Account settings: API keys and staff admins only (``IsAccountAdmin``).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.errors import Conflict
from portal.api.pagination import PortalPagination, paginated_schema
from portal.api.permissions import IsAccountAdmin
from portal.api.serializers import StrictSerializer
from portal.webhooks import selectors, services
from portal.webhooks.events import ALL_EVENT_TYPES
from portal.webhooks.models import Delivery
from portal.webhooks.services import WebhookConflict

EVENT_TYPE_FIELD = serializers.ChoiceField(choices=ALL_EVENT_TYPES)


class WebhookEndpointOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.CharField())
    active = serializers.BooleanField(source="is_active")
    disabled_reason = serializers.CharField(
        help_text="Empty while active; `manual`, `failing` (after "
        "WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES deliveries in a row failed) or `gone` (410)."
    )
    disabled_at = serializers.DateTimeField(allow_null=True)
    failing_since = serializers.DateTimeField(
        allow_null=True, help_text="First failed attempt since the last success, if any."
    )
    consecutive_failed_deliveries = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookEndpointCreatedSerializer(WebhookEndpointOutputSerializer):
    secret = serializers.CharField(
        help_text="`whsec_` + base64 of 32 random bytes. Shown only in this answer."
    )


class WebhookEndpointCreateSerializer(StrictSerializer):
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(child=serializers.ChoiceField(choices=ALL_EVENT_TYPES))
    active = serializers.BooleanField(default=True)

    def validate_url(self, value):
        return validate_webhook_url(value)


class WebhookEndpointUpdateSerializer(StrictSerializer):
    url = serializers.URLField(max_length=2000, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=ALL_EVENT_TYPES), required=False
    )
    active = serializers.BooleanField(required=False)

    def validate_url(self, value):
        return validate_webhook_url(value)


def validate_webhook_url(value: str) -> str:
    scheme = value.split(":", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise serializers.ValidationError("Use an http or https URL.")
    if "@" in value.split("/", 3)[2]:
        raise serializers.ValidationError("Put no user name or password in the URL.")
    return value


class DeliveryAttemptOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    url = serializers.URLField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    status_code = serializers.IntegerField(allow_null=True)
    response_excerpt = serializers.CharField(help_text="The first 1024 bytes of the answer.")
    error = serializers.CharField()
    succeeded = serializers.BooleanField()


class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    event_id = serializers.UUIDField()
    event_type = serializers.CharField(source="event.type")
    endpoint_id = serializers.UUIDField(allow_null=True)
    url = serializers.URLField(help_text="The receiver's URL when the event fanned out.")
    status = serializers.ChoiceField(choices=Delivery.Status.choices)
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    payload = serializers.JSONField(source="event.payload")
    attempts = DeliveryAttemptOutputSerializer(many=True)


class ConflictSerializer(serializers.Serializer):
    error = serializers.CharField()
    code = serializers.CharField()


class SigningSecretOutputSerializer(serializers.Serializer):
    created_at = serializers.DateTimeField(allow_null=True)


class SigningSecretRotatedSerializer(serializers.Serializer):
    secret = serializers.CharField()
    created_at = serializers.DateTimeField()


def get_endpoint_or_404(request, endpoint_id):
    endpoint = selectors.webhook_endpoint_get(account=request.auth.account, endpoint_id=endpoint_id)
    if endpoint is None:
        raise NotFound("No webhook endpoint with this id exists in your account.")
    return endpoint


def get_delivery_or_404(request, delivery_id):
    delivery = selectors.webhook_delivery_get(account=request.auth.account, delivery_id=delivery_id)
    if delivery is None:
        raise NotFound("No webhook delivery with this id exists in your account.")
    return delivery


def paginated_deliveries(view, request, deliveries):
    paginator = PortalPagination()
    page = paginator.paginate_queryset(deliveries, request, view=view)
    return paginator.get_paginated_response(DeliveryOutputSerializer(page, many=True).data)


def delivery_response(request, delivery, status_code=status.HTTP_200_OK):
    delivery = selectors.webhook_delivery_get(account=request.auth.account, delivery_id=delivery.id)
    return Response(DeliveryOutputSerializer(delivery).data, status=status_code)


# One component for both delivery lists (two inline serializers of one name clash).
PAGINATED_DELIVERIES = paginated_schema(DeliveryOutputSerializer)


def delivery_status_filter(request) -> str:
    """The ``status`` a delivery list is filtered by: one of the statuses, or none."""
    value = request.query_params.get("status", "")
    if value and value not in Delivery.Status.values:
        choices = ", ".join(Delivery.Status.values)
        raise ValidationError({"status": [f"Unknown status {value[:40]!r}: use {choices}."]})
    return value


DELIVERY_LIST_PARAMETERS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=[c for c, _ in Delivery.Status.choices]),
    OpenApiParameter("page", OpenApiTypes.INT),
    OpenApiParameter("per_page", OpenApiTypes.INT),
]


class WebhookEndpointListCreateApi(APIView):
    permission_classes = [IsAccountAdmin]

    @extend_schema(
        operation_id="webhooks_list",
        parameters=[
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("per_page", OpenApiTypes.INT),
        ],
        responses=paginated_schema(WebhookEndpointOutputSerializer),
    )
    def get(self, request):
        endpoints = selectors.webhook_endpoint_list(account=request.auth.account)
        paginator = PortalPagination()
        page = paginator.paginate_queryset(endpoints, request, view=self)
        return paginator.get_paginated_response(
            WebhookEndpointOutputSerializer(page, many=True).data
        )

    @extend_schema(
        operation_id="webhooks_create",
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointCreatedSerializer},
    )
    def post(self, request):
        serializer = WebhookEndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_create(
            account=request.auth.account, actor=request.auth.actor, **serializer.validated_data
        )
        return Response(
            WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )


class WebhookEndpointDetailApi(APIView):
    permission_classes = [IsAccountAdmin]

    @extend_schema(operation_id="webhooks_retrieve", responses=WebhookEndpointOutputSerializer)
    def get(self, request, endpoint_id):
        endpoint = get_endpoint_or_404(request, endpoint_id)
        return Response(WebhookEndpointOutputSerializer(endpoint).data)

    @extend_schema(
        operation_id="webhooks_update",
        request=WebhookEndpointUpdateSerializer,
        responses=WebhookEndpointOutputSerializer,
    )
    def patch(self, request, endpoint_id):
        endpoint = get_endpoint_or_404(request, endpoint_id)
        serializer = WebhookEndpointUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(
            endpoint=endpoint, actor=request.auth.actor, **serializer.validated_data
        )
        return Response(WebhookEndpointOutputSerializer(endpoint).data)

    @extend_schema(operation_id="webhooks_destroy", responses={204: None})
    def delete(self, request, endpoint_id):
        endpoint = get_endpoint_or_404(request, endpoint_id)
        services.webhook_endpoint_delete(endpoint=endpoint, actor=request.auth.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointPingApi(APIView):
    permission_classes = [IsAccountAdmin]

    @extend_schema(
        operation_id="webhooks_ping", request=None, responses={202: DeliveryOutputSerializer}
    )
    def post(self, request, endpoint_id):
        endpoint = get_endpoint_or_404(request, endpoint_id)
        delivery = services.webhook_endpoint_ping(endpoint=endpoint, actor=request.auth.actor)
        return delivery_response(request, delivery, status.HTTP_202_ACCEPTED)


class WebhookEndpointDeliveriesApi(APIView):
    permission_classes = [IsAccountAdmin]

    @extend_schema(
        operation_id="webhooks_deliveries_list",
        parameters=DELIVERY_LIST_PARAMETERS,
        responses=PAGINATED_DELIVERIES,
    )
    def get(self, request, endpoint_id):
        endpoint = get_endpoint_or_404(request, endpoint_id)
        deliveries = selectors.webhook_delivery_list(
            account=request.auth.account,
            endpoint=endpoint,
            status=delivery_status_filter(request),
        )
        return paginated_deliveries(self, request, deliveries)


class WebhookDeliveryListApi(APIView):
    """Every delivery of the account, one-off receivers (``extra_urls``) included."""

    permission_classes = [IsAccountAdmin]

    @extend_schema(
        operation_id="webhook_deliveries_list",
        parameters=DELIVERY_LIST_PARAMETERS,
        responses=PAGINATED_DELIVERIES,
    )
    def get(self, request):
        deliveries = selectors.webhook_delivery_list(
            account=request.auth.account, status=delivery_status_filter(request)
        )
        return paginated_deliveries(self, request, deliveries)


class WebhookDeliveryDetailApi(APIView):
    permission_classes = [IsAccountAdmin]

    @extend_schema(operation_id="webhook_deliveries_retrieve", responses=DeliveryOutputSerializer)
    def get(self, request, delivery_id):
        delivery = get_delivery_or_404(request, delivery_id)
        return Response(DeliveryOutputSerializer(delivery).data)


class WebhookDeliveryRedeliverApi(APIView):
    permission_classes = [IsAccountAdmin]

    @extend_schema(
        operation_id="webhook_deliveries_redeliver",
        request=None,
        responses={
            202: DeliveryOutputSerializer,
            409: OpenApiResponse(
                response=ConflictSerializer,
                description="Still pending, or the endpoint is disabled.",
            ),
        },
    )
    def post(self, request, delivery_id):
        delivery = get_delivery_or_404(request, delivery_id)
        try:
            delivery = services.delivery_redeliver(delivery=delivery, actor=request.auth.actor)
        except WebhookConflict as exc:
            raise Conflict(str(exc)) from exc
        return delivery_response(request, delivery, status.HTTP_202_ACCEPTED)


class WebhookSigningSecretApi(APIView):
    """The account's secret for deliveries to one-off receivers (``extra_urls``, such
    as X-on's ``filesUpdateWebhookUrl``). ``POST`` issues a new one and shows it once."""

    permission_classes = [IsAccountAdmin]

    @extend_schema(
        operation_id="webhook_signing_secret_retrieve", responses=SigningSecretOutputSerializer
    )
    def get(self, request):
        signing_secret = getattr(request.auth.account, "webhook_signing_secret", None)
        return Response(
            SigningSecretOutputSerializer(
                {"created_at": signing_secret.created_at if signing_secret else None}
            ).data
        )

    @extend_schema(
        operation_id="webhook_signing_secret_rotate",
        request=None,
        responses={201: SigningSecretRotatedSerializer},
    )
    def post(self, request):
        signing_secret = services.signing_secret_rotate(
            account=request.auth.account, actor=request.auth.actor
        )
        return Response(
            SigningSecretRotatedSerializer(signing_secret).data, status=status.HTTP_201_CREATED
        )
