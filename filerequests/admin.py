"""Admin for file requests and their text messages.

A request changes only through its services (cancel here, as in the API and the
dashboard), so the audit log and events are the same whoever acts: the change page
shows a request and its photos, and edits nothing.
"""

from __future__ import annotations

from django.contrib import admin, messages

from filerequests.models import (
    AddressThrottle,
    FileRequest,
    Notification,
    RecordReport,
    ReplacedShortLink,
    ReplyTemplate,
    ReplyText,
    RequestTemplate,
    TemplateSlot,
)
from filerequests.services import FileRequestStateError, file_request_cancel
from files.admin import file_thumbnails
from portal.audit.services import Actor


class NotificationInline(admin.TabularInline):
    model = Notification
    extra = 0
    can_delete = False
    fields = ["created_at", "status", "attempts", "backend", "sent_at", "error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(FileRequest)
class FileRequestAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "patient",
        "account",
        "staff_name",
        "status",
        "photo_count",
        "created_at",
        "short_link_expires_at",
    ]
    list_filter = ["status", "account", "created_at", "short_link_expires_at"]
    search_fields = [
        "id",
        "staff_name",
        "patient__id",
        "patient__first_name",
        "patient__last_name",
        "patient__mobile",
        "account__name",
    ]
    list_select_related = ["account", "patient"]
    date_hierarchy = "created_at"
    # The short link is the patient's credential: never shown here.
    fields = [
        "id",
        "account",
        "sender_account_id",
        "patient",
        "staff",
        "staff_name",
        "created_by_label",
        "type",
        "prompt",
        "photos",
        "status",
        "short_link_expires_at",
        "files_update_webhook_url",
        "created_at",
        "updated_at",
        "opened_at",
        "answered_at",
        "cancelled_at",
        "expired_at",
        "failed_attempts",
        "lockout_count",
        "locked_until",
        "announced_file_ids",
    ]
    readonly_fields = fields
    inlines = [NotificationInline]
    actions = ["cancel"]

    def has_add_permission(self, request):
        # Made through the API or the dashboard, which text the patient the link.
        return False

    def has_change_permission(self, request, obj=None):
        # Shown, never edited: changes go through the actions, and so the services.
        return False

    def has_delete_permission(self, request, obj=None):
        # Cancel instead: the request, its photos and its log stay.
        return False

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm("filerequests.change_filerequest")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("files")

    @admin.display(description="photos")
    def photo_count(self, file_request: FileRequest) -> int:
        return len(file_request.files.all())

    @admin.display(description="Photos")
    def photos(self, file_request: FileRequest) -> str:
        return file_thumbnails(file_request.files.order_by("created_at"))

    @admin.action(
        description="Cancel the selected requests (their links stop working)",
        permissions=["cancel"],
    )
    def cancel(self, request, queryset):
        """Through ``file_request_cancel``, as the API's cancel: the link closes at once
        and the audit log names the admin. Expired requests are reported, not changed."""
        cancelled, refused = 0, []
        for file_request in queryset:
            if file_request.status == FileRequest.Status.CANCELLED:
                continue
            try:
                file_request_cancel(file_request=file_request, actor=Actor.for_admin(request.user))
            except FileRequestStateError as exc:
                refused.append(f"{file_request}: {exc}")
            else:
                cancelled += 1
        self.message_user(request, f"{cancelled} request(s) cancelled.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Every text message sent for a request, to answer "did the patient get the text?".
    The message body is never stored (it carries the link), so nothing here reveals it."""

    list_display = [
        "created_at",
        "file_request",
        "channel",
        "status",
        "attempts",
        "backend",
        "sent_at",
        "error",
    ]
    list_filter = ["status", "channel", "backend", "created_at"]
    search_fields = ["file_request__id", "provider_message_id", "error"]
    list_select_related = ["file_request"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TemplateSlotInline(admin.StackedInline):
    """Stacked, not tabular: each field keeps its own label (a table's inputs have only
    the column heading, which screen readers do not announce as their label)."""

    model = TemplateSlot
    extra = 0
    fields = ["position", "label", "instruction"]


@admin.register(RequestTemplate)
class RequestTemplateAdmin(admin.ModelAdmin):
    """A clinic's request templates (its admins keep them under Settings); requests
    already sent keep a copy of their slots, so changes here alter no sent request."""

    list_display = ["name", "account", "default_key", "position", "updated_at"]
    list_filter = ["account", "default_key"]
    search_fields = ["name", "message", "account__name"]
    list_select_related = ["account"]
    inlines = [TemplateSlotInline]


@admin.register(TemplateSlot)
class TemplateSlotAdmin(admin.ModelAdmin):
    list_display = ["label", "template", "position"]
    search_fields = ["label", "instruction", "template__name"]
    list_select_related = ["template"]


@admin.register(AddressThrottle)
class AddressThrottleAdmin(admin.ModelAdmin):
    """Failed date-of-birth checks per client address and window. Deleting a row lets
    an address that was shut out (a clinic's shared Wi-Fi, say) try again at once."""

    list_display = ["address", "kind", "window_start", "failures"]
    list_filter = ["kind", "window_start"]
    search_fields = ["address"]
    ordering = ["-window_start"]
    readonly_fields = ["address", "kind", "window_start", "failures"]

    def has_add_permission(self, request):
        return False


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "position", "updated_at"]
    list_filter = ["account"]
    search_fields = ["name", "body", "account__name"]
    list_select_related = ["account"]
    ordering = ["account", "position", "name"]


@admin.register(ReplyText)
class ReplyTextAdmin(admin.ModelAdmin):
    """Replies texted after review: read only, as the text has gone."""

    list_display = ["notification", "template_name", "staff_name"]
    search_fields = ["notification__file_request__id", "template_name", "staff_name"]
    list_select_related = ["notification"]
    readonly_fields = ["notification", "body", "template_name", "staff_name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RecordReport)
class RecordReportAdmin(admin.ModelAdmin):
    """Reports saved to the record: made by the worker, read only here."""

    list_display = ["__str__", "patient", "account", "state", "saved_by_name", "saved_at"]
    list_filter = ["state", "account", "created_at"]
    search_fields = ["id", "file_request__id", "patient__first_name", "patient__last_name"]
    list_select_related = ["patient", "account"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "id",
        "account",
        "patient",
        "file_request",
        "file",
        "file_ids",
        "fingerprint",
        "state",
        "failure_reason",
        "requested_by_label",
        "created_at",
        "made_at",
        "saved_at",
        "saved_by",
        "saved_by_name",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReplacedShortLink)
class ReplacedShortLinkAdmin(admin.ModelAdmin):
    """Links a newer text replaced: opening one tells the patient to use the newer text.
    Read-only, and the old link is shown by its first characters only: it grants nothing
    now, but it was a patient's credential."""

    list_display = ["link_start", "file_request", "replaced_at"]
    search_fields = ["file_request__id"]
    ordering = ["-replaced_at"]
    fields = ["link_start", "file_request", "replaced_at"]
    readonly_fields = fields
    list_select_related = ["file_request"]

    @admin.display(description="old link")
    def link_start(self, obj) -> str:
        return f"{obj.short_link_id[:4]}\N{HORIZONTAL ELLIPSIS}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
