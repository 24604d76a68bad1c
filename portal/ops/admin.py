"""Admin for what operators watch: when each Celery worker last checked in."""

from __future__ import annotations

from django.contrib import admin

from portal.ops.models import BeatLease, WorkerHeartbeat


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


@admin.register(BeatLease)
class BeatLeaseAdmin(admin.ModelAdmin):
    """Which beat process sends the periodic tasks and when it last ticked; written by
    the beats themselves (portal.ops.beat), read-only here. A tick older than a minute
    means no beat is sending: sweeps and dead-worker recovery have stopped."""

    list_display = ["name", "holder", "taken_at", "ticked_at"]
    search_fields = ["name", "holder"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
