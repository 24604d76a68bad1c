"""API routes of this app, included under /api/v1/ by portal/urls.py."""

from django.urls import path

from files.api import FileDetailApi, FileListApi, FileMetadataApi

urlpatterns = [
    path("files", FileListApi.as_view(), name="file-list"),
    path("files/<str:file_id>", FileDetailApi.as_view(), name="file-detail"),
    path("files/<str:file_id>/metadata", FileMetadataApi.as_view(), name="file-metadata"),
]
