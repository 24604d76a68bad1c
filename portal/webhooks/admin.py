from django.contrib import admin, messages

from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from portal.webhooks.services import (
    WebhookConflict,
    delivery_redeliver,
    webhook_endpoint_disable,
    webhook_endpoint_update,
)


def admin_actor(request) -> Actor:
    """The signed-in Django admin (a user, who need not be a member of the account)."""
    return Actor(AuditEvent.ActorKind.STAFF, str(request.user.pk), f"admin {request.user}"[:200])


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
    search_fields = ["url", "id"]
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
            webhook_endpoint_update(endpoint=endpoint, actor=admin_actor(request), active=True)
        self.message_user(request, f"{queryset.count()} endpoint(s) enabled.", messages.SUCCESS)

    @admin.action(description="Disable the selected endpoints")
    def disable(self, request, queryset):
        for endpoint in queryset:
            webhook_endpoint_disable(
                endpoint=endpoint,
                reason=WebhookEndpoint.DisabledReason.MANUAL,
                actor=admin_actor(request),
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
    search_fields = ["id", "event__id", "url"]
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
                delivery_redeliver(delivery=delivery, actor=admin_actor(request))
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
    search_fields = ["id"]
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
