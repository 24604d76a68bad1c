from django.contrib import admin

from attachments.models import PatientAttachment, PatientPhoto


@admin.register(PatientAttachment)
class PatientAttachmentAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "account",
        "patient",
        "source",
        "file_name",
        "file_state",
        "created_at",
        "archived_at",
    ]
    list_filter = ["source", "file__state", ("archived_at", admin.EmptyFieldListFilter), "account"]
    search_fields = ["id", "description", "file__original_name", "patient__last_name"]
    list_select_related = ["account", "patient", "file"]
    raw_id_fields = ["patient", "file"]
    readonly_fields = [
        "id",
        "account",
        "source",
        "creator_kind",
        "creator_id",
        "creator_label",
        "created_at",
        "updated_at",
    ]
    date_hierarchy = "created_at"

    @admin.display(description="file name", ordering="file__original_name")
    def file_name(self, attachment: PatientAttachment) -> str:
        return attachment.file.original_name

    @admin.display(description="file state", ordering="file__state")
    def file_state(self, attachment: PatientAttachment) -> str:
        return attachment.file.get_state_display()


@admin.register(PatientPhoto)
class PatientPhotoAdmin(admin.ModelAdmin):
    list_display = ["patient", "account", "filename", "file", "upload_ticket", "updated_at"]
    list_filter = ["account"]
    search_fields = ["patient__last_name", "filename"]
    list_select_related = ["account", "patient", "file", "upload_ticket"]
    raw_id_fields = ["patient", "file", "upload_ticket"]
    readonly_fields = [
        "id",
        "account",
        "creator_kind",
        "creator_id",
        "creator_label",
        "collect_failure",
        "created_at",
        "updated_at",
    ]
