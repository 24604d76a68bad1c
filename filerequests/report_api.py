"""``GET /api/v1/file-requests/{id}/report``: the request's record report, as a PDF.

A record system files it in the patient's record as the practice's clinicians would by
"Save to record". It is made on the first ask, as an image size is (the worker makes
it; meanwhile 409 with ``Retry-After``), then served like any file: streamed, audited.
A report still true of the request is reused; once the request changes (a photo
arrives, a review), the next ask makes a new one.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.views import APIView

from filerequests import record_reports
from filerequests.api import file_request_or_404
from files.api import AnyAcceptNegotiation
from files.downloads import error_response, file_response


class FileRequestReportApi(APIView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="file_requests_report",
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No such request in your account"),
            409: OpenApiResponse(
                description="Being made (Retry-After, in seconds), or nothing to report "
                "yet (no photos have arrived)"
            ),
        },
        description=(
            "The request's report for the patient's record, as one PDF: the patient "
            "banner (name, date of birth, NHS number), the clinic, who asked for what and "
            "when, each photo with its note, arrival time and SHA-256, the review and its "
            "outcome. Made on the first ask: 409 with Retry-After while the portal makes "
            "it, then 200 with the PDF."
        ),
    )
    def get(self, request, file_request_id):
        file_request = file_request_or_404(request, file_request_id)
        try:
            report = record_reports.record_report_request(
                account=request.auth.account, actor=request.auth.actor, file_request=file_request
            )
        except record_reports.ReportRefused as exc:
            return error_response(str(exc), "nothing_to_report", 409)
        progress = record_reports.report_progress(report)
        if progress.state == record_reports.MAKING:
            return error_response(
                "The report is being made; try again shortly.",
                "not_ready",
                409,
                Retry_After=str(record_reports.RETRY_AFTER_SECONDS),
            )
        if progress.state == record_reports.FAILED:
            return error_response(progress.reason, "report_failed", 409)
        return file_response(request, file=report.file)
