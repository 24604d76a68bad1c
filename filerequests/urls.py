"""API routes of this app, included under /api/v1/ by config/urls.py."""

from django.urls import path

from filerequests.api import (
    FileRequestCancelApi,
    FileRequestDetailApi,
    FileRequestListCreateApi,
    FileRequestResendApi,
)
from filerequests.report_api import (
    FileRequestReportApi,
    RecordReportDetailApi,
    RecordReportListApi,
)
from filerequests.xon_files_api import FileListApi

urlpatterns: list = [
    # X-on's upload door (seed 001): here, not in files, as it can answer a file request.
    path("files", FileListApi.as_view(), name="file-list"),
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
        "file-requests/<str:file_request_id>/report",
        FileRequestReportApi.as_view(),
        name="file-request-report",
    ),
    path("record-reports", RecordReportListApi.as_view(), name="record-report-list"),
    path(
        "record-reports/<str:report_id>",
        RecordReportDetailApi.as_view(),
        name="record-report-detail",
    ),
    path(
        "file-requests/<str:file_request_id>/resend",
        FileRequestResendApi.as_view(),
        name="file-request-resend",
    ),
]
