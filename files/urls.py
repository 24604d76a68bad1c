"""API routes of this app, included under /api/v1/ by config/urls.py."""

from django.urls import path

from files.api import FileDetailApi, FileMetadataApi
from files.serving.lean_download import lean_download_view

# POST /api/v1/files (X-on's upload door) is routed by filerequests/urls.py.
urlpatterns = [
    # The common download (a ready file's kept facet, an API key) skips DRF's dispatch;
    # everything else is answered by FileDetailApi (files.serving.lean_download says why).
    path("files/<str:file_id>", lean_download_view(FileDetailApi.as_view()), name="file-detail"),
    path("files/<str:file_id>/metadata", FileMetadataApi.as_view(), name="file-metadata"),
]
