"""The embedded storage's S3-style POST endpoint (mounted at /storage/ by config/urls.py)."""

from django.urls import path

from files.tickets.receiving import storage_upload

urlpatterns = [
    path("upload", storage_upload, name="storage-upload"),
    path("upload/<path:key>", storage_upload, name="storage-upload-key"),
]
