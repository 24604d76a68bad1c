from django.contrib import admin, messages

from portal.audit.services import Actor
from portal.webhooks.models import (
    Delivery,
    DeliveryAttempt,
    Event,
    WebhookEndpoint,
    WebhookSigningSecret,
)
from portal.webhooks.services import (
    WebhookConflict,
    delivery_redeliver,
    webhook_endpoint_disable,
    webhook_endpoint_update,
)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Endpoints are created through the API or dashboard, where the secret is shown
    once; the admin never shows it. Enable and disable through the actions."""

    list_display = [
        "url",
        "account",
        "is_active",
        "disabled_reason",
        "failing_since",
        "consecutive_failed_deliveries",
        "created_at",
    ]
    list_filter = ["is_active", "disabled_reason", "account"]
    search_fields = ["url", "id", "account__name"]
    list_select_related = ["account"]
    exclude = ["secret"]
    readonly_fields = [
        "account",
        "url",
        "events",
        "is_active",
        "disabled_reason",
        "disabled_at",
        "failing_since",
        "consecutive_failed_deliveries",
        "created_at",
        "updated_at",
    ]
    actions = ["enable", "disable"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Enable the selected endpoints")
    def enable(self, request, queryset):
        for endpoint in queryset:
            webhook_endpoint_update(
                endpoint=endpoint, actor=Actor.for_admin(request.user), active=True
            )
        self.message_user(request, f"{queryset.count()} endpoint(s) enabled.", messages.SUCCESS)

    @admin.action(description="Disable the selected endpoints")
    def disable(self, request, queryset):
        for endpoint in queryset:
            webhook_endpoint_disable(
                endpoint=endpoint,
                reason=WebhookEndpoint.DisabledReason.MANUAL,
                actor=Actor.for_admin(request.user),
            )
        self.message_user(request, f"{queryset.count()} endpoint(s) disabled.", messages.SUCCESS)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = [
        "number",
        "url",
        "started_at",
        "duration_ms",
        "status_code",
        "succeeded",
        "error",
        "response_excerpt",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "event_type",
        "url",
        "account",
        "status",
        "attempt_count",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event__type", "account"]
    search_fields = ["id", "event__id", "url", "account__name"]
    list_select_related = ["event", "account", "endpoint"]
    date_hierarchy = "created_at"
    inlines = [DeliveryAttemptInline]
    readonly_fields = [
        "account",
        "event",
        "endpoint",
        "url",
        "status",
        "retry_step",
        "next_attempt_at",
        "attempt_count",
        "last_status_code",
        "last_error",
        "created_at",
        "completed_at",
    ]
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="event", ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.type

    @admin.action(description="Redeliver the selected deliveries")
    def redeliver(self, request, queryset):
        sent, refused = 0, []
        for delivery in queryset:
            try:
                delivery_redeliver(delivery=delivery, actor=Actor.for_admin(request.user))
                sent += 1
            except WebhookConflict as exc:
                refused.append(f"{delivery.pk}: {exc}")
        if sent:
            self.message_user(request, f"{sent} delivery(ies) queued again.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The outbox, read-only."""

    list_display = ["type", "account", "created_at", "dispatched_at"]
    list_filter = ["type", "account"]
    search_fields = ["id", "type", "account__name"]
    date_hierarchy = "created_at"
    list_select_related = ["account"]
    readonly_fields = [
        "id",
        "account",
        "type",
        "payload",
        "extra_urls",
        "created_at",
        "dispatched_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    """Every HTTP request a delivery made, to find "all the 503s from that receiver
    yesterday" across deliveries. Written by the worker only: read-only here."""

    list_display = [
        "started_at",
        "url",
        "number",
        "status_code",
        "succeeded",
        "duration_ms",
        "error",
    ]
    list_filter = ["succeeded", "status_code", "started_at"]
    search_fields = ["url", "delivery__id", "error"]
    date_hierarchy = "started_at"
    list_select_related = ["delivery"]
    ordering = ["-started_at"]
    readonly_fields = [field.name for field in DeliveryAttempt._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookSigningSecret)
class WebhookSigningSecretAdmin(admin.ModelAdmin):
    """Which accounts have a signing secret for one-off receivers, and since when. The
    secret itself is never shown: it is rotated in Settings, where it is shown once."""

    list_display = ["account", "created_at"]
    search_fields = ["account__name"]
    list_select_related = ["account"]
    exclude = ["secret"]
    readonly_fields = ["account", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
