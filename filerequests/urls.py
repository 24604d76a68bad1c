"""API routes of this app, included under /api/v1/ by portal/urls.py."""

from django.urls import path

from filerequests.api import (
    FileRequestCancelApi,
    FileRequestDetailApi,
    FileRequestListCreateApi,
    FileRequestResendApi,
)

urlpatterns: list = [
    path("file-requests", FileRequestListCreateApi.as_view(), name="file-request-list"),
    path(
        "file-requests/<str:file_request_id>",
        FileRequestDetailApi.as_view(),
        name="file-request-detail",
    ),
    path(
        "file-requests/<str:file_request_id>/cancel",
        FileRequestCancelApi.as_view(),
        name="file-request-cancel",
    ),
    path(
        "file-requests/<str:file_request_id>/resend",
        FileRequestResendApi.as_view(),
        name="file-request-resend",
    ),
]
