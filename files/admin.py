"""Admin for files, facets and upload tickets, with thumbnails.

Thumbnails are served by an admin-only view through the same audited download
path as the API: the admin never gets a storage URL.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html

from files.downloads import file_response
from files.models import Facet, File, UploadTicket
from portal.audit.services import Actor


class FacetInline(admin.TabularInline):
    model = Facet
    extra = 0
    can_delete = False
    fields = ["name", "state", "mime_type", "width", "height", "size", "sha256", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "id",
        "account",
        "state",
        "purpose",
        "mime_type",
        "width",
        "height",
        "size",
        "created_at",
        "expires_at",
    ]
    list_filter = ["state", "purpose", "mime_type", "created_at"]
    search_fields = ["id", "sha256", "patient__id", "file_request__id", "account__name"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"
    inlines = [FacetInline]
    readonly_fields = [
        "thumbnail",
        "id",
        "account",
        "patient",
        "file_request",
        "upload_ticket",
        "original_name",
        "declared_type",
        "mime_type",
        "size",
        "sha256",
        "width",
        "height",
        "state",
        "rejection_reason",
        "max_size",
        "temp_key",
        "processing_attempts",
        "actor_kind",
        "actor_id",
        "actor_label",
        "created_at",
        "processed_at",
        "purged_at",
    ]
    fields = [*readonly_fields, "purpose", "description", "expires_at"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Thumbnail")
    def thumbnail(self, file: File):
        if file.state != File.State.READY or not file.is_image or file.is_expired:
            return "—"
        url = reverse("admin:files_file_thumbnail", args=[file.pk])
        return format_html('<img src="{}" alt="" style="max-height:80px;max-width:120px">', url)

    def get_urls(self):
        return [
            path(
                "<uuid:file_id>/thumbnail",
                self.admin_site.admin_view(self.thumbnail_view),
                name="files_file_thumbnail",
            ),
            *super().get_urls(),
        ]

    def thumbnail_view(self, request, file_id):
        file = File.objects.filter(pk=file_id).first()
        if file is None or not self.has_view_permission(request, file):
            raise Http404
        request.portal_actor = Actor("staff", str(request.user.pk), f"admin {request.user}"[:200])
        return file_response(request, file=file, facet_name=Facet.THUMBNAIL)


@admin.register(UploadTicket)
class UploadTicketAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "purpose", "state", "created_at", "expires_at"]
    list_filter = ["state", "purpose"]
    search_fields = ["id", "key_prefix", "account__name"]
    list_select_related = ["account"]
    readonly_fields = [field.name for field in UploadTicket._meta.fields]

    def has_add_permission(self, request):
        return False
