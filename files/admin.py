"""Admin for files, facets and upload tickets, with thumbnails.

Thumbnails are served by an admin-only view through the same audited download
path as the API: the admin never gets a storage URL. ``file_thumbnail`` is shared
with the admins of the rows that point at files (attachments, patient photos, file
requests), so a file looks the same wherever an operator meets it.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from files.models import Facet, File, UploadTicket
from files.names import human_size
from files.serving import respond
from portal.audit.services import Actor


def file_thumbnail(file: File | None, *, large: bool = False) -> str:
    """An <img> of the file's thumbnail for admin pages, or a short word saying why
    there is none (sized by static/css/admin.css: the CSP forbids inline styles)."""
    if file is None:
        return "—"
    if file.is_expired:
        return format_html('<span class="admin-file-state">Expired</span>')
    if file.state != File.State.READY:
        return format_html(
            '<span class="admin-file-state admin-file-state-{}">{}</span>',
            file.state,
            file.get_state_display(),
        )
    if not file.is_image:
        return format_html(
            '<span class="admin-file-state">{}</span>', file.mime_type.split("/")[-1].upper()
        )
    url = reverse("admin:files_file_thumbnail", args=[file.pk])
    size_class = "admin-thumbnail-large" if large else "admin-thumbnail"
    return format_html(
        '<img class="{}" src="{}" alt="{}" loading="lazy">',
        size_class,
        url,
        file.display_name or "Thumbnail",
    )


def file_thumbnails(files) -> str:
    """A row of linked thumbnails, for a change page that shows several files."""
    files = list(files)
    if not files:
        return "—"
    return format_html(
        '<div class="admin-gallery">{}</div>',
        format_html_join(
            "",
            '<a class="admin-gallery-item" href="{}">{}<span>{}</span></a>',
            (
                (
                    reverse("admin:files_file_change", args=[file.pk]),
                    file_thumbnail(file, large=True),
                    file.display_name or str(file),
                )
                for file in files
            ),
        ),
    )


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
        "name",
        "account",
        "state",
        "source",
        "purpose",
        "details",
        "created_at",
        "expires_at",
    ]
    list_display_links = ["thumbnail", "name"]
    list_filter = ["state", "source", "purpose", "mime_type", "created_at", "account"]
    search_fields = [
        "id",
        "original_name",
        "sha256",
        "patient__id",
        "file_request__id",
        "account__name",
    ]
    list_select_related = ["account"]
    date_hierarchy = "created_at"
    inlines = [FacetInline]
    readonly_fields = [
        "preview",
        "id",
        "account",
        "patient",
        "file_request",
        "upload_ticket",
        "source",
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
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "preview",
                    "original_name",
                    "description",
                    "purpose",
                    "state",
                    "rejection_reason",
                    "id",
                ]
            },
        ),
        ("Belongs to", {"fields": ["account", "patient", "file_request", "upload_ticket"]}),
        (
            "Content",
            {
                "fields": [
                    "mime_type",
                    "declared_type",
                    "size",
                    "width",
                    "height",
                    "sha256",
                    "max_size",
                ]
            },
        ),
        (
            "Processing and retention",
            {
                "fields": [
                    "created_at",
                    "processed_at",
                    "processing_attempts",
                    "expires_at",
                    "purged_at",
                    "temp_key",
                ]
            },
        ),
        ("Uploaded by", {"fields": ["actor_kind", "actor_id", "actor_label"]}),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # A file leaves through expiry and the purge, which remove its stored bytes too.
        return False

    @admin.display(description="Thumbnail")
    def thumbnail(self, file: File):
        return file_thumbnail(file)

    @admin.display(description="Preview")
    def preview(self, file: File):
        return file_thumbnail(file, large=True)

    @admin.display(description="name", ordering="original_name")
    def name(self, file: File) -> str:
        return file.display_name or str(file)

    @admin.display(description="type, pixels and size", ordering="mime_type")
    def details(self, file: File) -> str:
        """One column for what a file is, so the list fits a laptop's width."""
        unchecked = file.state in (File.State.PENDING, File.State.PROCESSING)
        parts = [file.mime_type or ("not checked yet" if unchecked else "not recognised")]
        if file.width:
            parts.append(f"{file.width}\N{MULTIPLICATION SIGN}{file.height}")
        if file.size:
            parts.append(human_size(file.size))
        return " \N{MIDDLE DOT} ".join(parts)

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
        return respond.serve(
            request, file=file, actor=Actor.for_admin(request.user), facet_name=Facet.THUMBNAIL
        )


@admin.register(Facet)
class FacetAdmin(admin.ModelAdmin):
    """The stored forms of files (original, thumbnail, renditions): made by the
    pipeline only, so read-only; to find where a form's bytes are and how big."""

    list_display = ["name", "file", "state", "mime_type", "width", "height", "size", "created_at"]
    list_filter = ["state", "mime_type"]
    search_fields = ["file__id", "name", "sha256"]
    list_select_related = ["file"]
    ordering = ["-created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(UploadTicket)
class UploadTicketAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "purpose", "state", "filename", "created_at", "expires_at"]
    list_filter = ["state", "purpose", "created_at"]
    search_fields = ["id", "key_prefix", "filename", "account__name"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in UploadTicket._meta.fields]

    def has_add_permission(self, request):
        return False
