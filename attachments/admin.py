"""Admin for patient attachments and patient photos, with the file's thumbnail in the
list and on the change page (served through the files admin's audited view)."""

from __future__ import annotations

from django.contrib import admin, messages

from attachments.models import PatientAttachment, PatientPhoto
from attachments.services import attachment_archive
from files.admin import file_thumbnail
from portal.admin_filters import set_or_not_filter
from portal.audit.services import Actor


@admin.register(PatientAttachment)
class PatientAttachmentAdmin(admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "file_name",
        "patient",
        "account",
        "door",
        "file_state",
        "created_at",
        "archived_at",
    ]
    list_display_links = ["thumbnail", "file_name"]
    list_filter = [
        "file__source",
        "file__state",
        set_or_not_filter(
            "archived_at", title="archived", when_set="Archived", when_not="In the gallery"
        ),
        "account",
    ]
    search_fields = [
        "id",
        "description",
        "file__id",
        "file__original_name",
        "patient__id",
        "patient__first_name",
        "patient__last_name",
    ]
    list_select_related = ["account", "patient", "file"]
    date_hierarchy = "created_at"
    # The attachment's patient and file are fixed when it is made; archive with the
    # action, so the audit log records it.
    fields = [
        "preview",
        "id",
        "account",
        "patient",
        "file",
        "door",
        "description",
        "creator_kind",
        "creator_id",
        "creator_label",
        "created_at",
        "updated_at",
        "archived_at",
    ]
    readonly_fields = [name for name in fields if name != "description"]
    actions = ["archive"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Archive instead: nothing in a patient's record is deleted.
        return False

    @admin.display(description="Thumbnail")
    def thumbnail(self, attachment: PatientAttachment):
        return file_thumbnail(attachment.file)

    @admin.display(description="Preview")
    def preview(self, attachment: PatientAttachment):
        return file_thumbnail(attachment.file, large=True)

    @admin.display(description="file name", ordering="file__original_name")
    def file_name(self, attachment: PatientAttachment) -> str:
        return attachment.file.display_name or str(attachment)

    @admin.display(description="door", ordering="file__source")
    def door(self, attachment: PatientAttachment) -> str:
        return attachment.file.get_source_display()

    @admin.display(description="file state", ordering="file__state")
    def file_state(self, attachment: PatientAttachment) -> str:
        return attachment.file.get_state_display()

    @admin.action(description="Archive the selected attachments (hidden, kept)")
    def archive(self, request, queryset):
        """As the dashboard's Archive: out of the gallery and lists, still stored."""
        current = list(queryset.filter(archived_at__isnull=True).select_related("account"))
        for attachment in current:
            attachment_archive(attachment=attachment, actor=Actor.for_admin(request.user))
        self.message_user(request, f"{len(current)} attachment(s) archived.", messages.SUCCESS)


@admin.register(PatientPhoto)
class PatientPhotoAdmin(admin.ModelAdmin):
    list_display = ["thumbnail", "patient", "account", "filename", "upload_state", "updated_at"]
    list_display_links = ["thumbnail", "patient"]
    list_filter = [
        set_or_not_filter("file", title="uploaded", when_set="Has a file", when_not="Waiting"),
        "account",
    ]
    search_fields = ["patient__id", "patient__first_name", "patient__last_name", "filename"]
    list_select_related = ["account", "patient", "file", "upload_ticket"]
    fields = [
        "preview",
        "id",
        "account",
        "patient",
        "filename",
        "content_type",
        "file",
        "upload_ticket",
        "collect_failure",
        "creator_kind",
        "creator_id",
        "creator_label",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Written through the API's two-stage upload only.
        return False

    @admin.display(description="Thumbnail")
    def thumbnail(self, photo: PatientPhoto):
        return file_thumbnail(photo.file)

    @admin.display(description="Preview")
    def preview(self, photo: PatientPhoto):
        return file_thumbnail(photo.file, large=True)

    @admin.display(description="upload")
    def upload_state(self, photo: PatientPhoto) -> str:
        if photo.file_id:
            return photo.file.get_state_display()
        if photo.collect_failure:
            return "Could not be collected"
        return "Waiting for the bytes" if photo.upload_ticket_id else "—"
