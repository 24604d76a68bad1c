"""Admin for what operators watch: when each Celery worker last checked in."""

from __future__ import annotations

from django.contrib import admin

from portal.ops.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    """Written by the workers' heartbeat task; read-only. A worker missing from the top
    of the list is the first thing to look at when uploads stay 'pending'."""

    list_display = ["worker", "seen_at"]
    search_fields = ["worker"]
    ordering = ["-seen_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
