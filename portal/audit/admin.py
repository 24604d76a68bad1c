from django.contrib import admin

from portal.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only, for admins as for everyone."""

    list_display = [
        "occurred_at",
        "account",
        "actor_kind",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "ip_address",
    ]
    list_filter = ["actor_kind", "action", "occurred_at"]
    search_fields = ["target_id", "actor_id", "actor_label", "action"]
    date_hierarchy = "occurred_at"
    list_select_related = ["account"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
