from django.contrib import admin

from filerequests.models import AddressThrottle, FileRequest, Notification


class NotificationInline(admin.TabularInline):
    model = Notification
    extra = 0
    can_delete = False
    fields = ["created_at", "status", "attempts", "backend", "sent_at", "error"]
    readonly_fields = fields


@admin.register(FileRequest)
class FileRequestAdmin(admin.ModelAdmin):
    list_display = ["__str__", "account", "staff_name", "status", "created_at", "locked_until"]
    list_filter = ["status", "account", "created_at"]
    search_fields = ["id", "staff_name", "patient__id"]
    list_select_related = ["account"]
    raw_id_fields = ["patient", "staff"]
    # The short link is the patient's credential: never shown here.
    exclude = ["short_link_id"]
    readonly_fields = [
        "id",
        "created_at",
        "updated_at",
        "opened_at",
        "answered_at",
        "cancelled_at",
        "expired_at",
        "failed_attempts",
        "lockout_count",
        "announced_file_ids",
    ]
    inlines = [NotificationInline]


@admin.register(AddressThrottle)
class AddressThrottleAdmin(admin.ModelAdmin):
    list_display = ["address", "window_start", "failures"]
    readonly_fields = ["address", "window_start", "failures"]
