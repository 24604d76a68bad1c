"""``GET /api/v1/file-requests/{id}/report``: the request's record report, as a PDF; and
``POST /api/v1/record-reports`` with ``GET /api/v1/record-reports/{id}``: the same for
any set of one patient's files.

A record system files it in the patient's record as the practice's clinicians would by
"Save to record". It is made on the first ask, as an image size is (the worker makes
it; meanwhile 409 with ``Retry-After``), then served like any file: streamed, audited.
A report still true of the request is reused; once the request changes (a photo
arrives, a review), the next ask makes a new one.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from filerequests import record_reports
from filerequests.api import file_request_or_404
from filerequests.models import RecordReport
from files.api import AnyAcceptNegotiation
from files.models import File
from files.serving import respond
from files.serving.respond import error_response
from portal.api.serializers import StrictSerializer
from portal.ids import parse_uuid

# The most files one report holds.
MAX_REPORT_FILES = 50


def report_answer(request, report: RecordReport):
    """The report's PDF once made and checked; 409 with Retry-After while it is made."""
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
    return respond.serve(request, file=report.file, actor=request.auth.actor)


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
        return report_answer(request, report)


class RecordReportCreateSerializer(StrictSerializer):
    fileIds = serializers.ListField(
        child=serializers.CharField(max_length=64),
        min_length=1,
        max_length=MAX_REPORT_FILES,
        help_text=f"Ids of one patient's files, 1 to {MAX_REPORT_FILES}, in any order (the "
        "report shows them in the order they arrived).",
    )

    def validate_fileIds(self, value):
        ids = []
        for raw in value:
            parsed = parse_uuid(raw)
            if parsed is None:
                raise serializers.ValidationError(f"{raw[:64]!r} is not a file id.")
            if parsed not in ids:
                ids.append(parsed)
        return ids


class RecordReportOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    patientId = serializers.UUIDField(source="patient_id")
    fileIds = serializers.ListField(child=serializers.UUIDField(), source="file_ids")
    state = serializers.SerializerMethodField()
    fileId = serializers.UUIDField(source="file_id", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")

    def get_state(self, report) -> str:
        return record_reports.report_progress(report).state


class RecordReportListApi(APIView):
    @extend_schema(
        operation_id="record_reports_create",
        request=RecordReportCreateSerializer,
        responses={202: RecordReportOutputSerializer},
        description=(
            "Asks for one PDF of a set of one patient's files for their record (the patient "
            "banner, each photo with its note, arrival time and SHA-256, who reviewed it). "
            "Answers 202 with the report and its Location; GET it there. The same set asked "
            "again while nothing has changed answers the same report."
        ),
    )
    def post(self, request):
        serializer = RecordReportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        wanted = serializer.validated_data["fileIds"]
        account = request.auth.account
        files = list(File.objects.filter(account=account, pk__in=wanted))
        missing = sorted(str(i) for i in set(wanted) - {f.pk for f in files})
        if missing:
            # Another clinic's file reads as no file at all.
            raise ValidationError(
                {"fileIds": [f"No file with id {missing[0]} exists in your account."]}
            )
        try:
            report = record_reports.record_report_request(
                account=account, actor=request.auth.actor, files=files
            )
        except record_reports.ReportRefused as exc:
            raise ValidationError({"fileIds": [str(exc)]}) from exc
        response = Response(RecordReportOutputSerializer(report).data, status=202)
        response["Location"] = f"/api/v1/record-reports/{report.id}"
        return response


class RecordReportDetailApi(APIView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="record_reports_download",
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No such report in your account"),
            409: OpenApiResponse(description="Being made (Retry-After, in seconds)"),
        },
    )
    def get(self, request, report_id):
        parsed = parse_uuid(report_id)
        report = (
            RecordReport.objects.filter(account=request.auth.account, pk=parsed)
            .select_related("file")
            .first()
            if parsed is not None
            else None
        )
        if report is None:
            raise NotFound("No report with this id exists in your account.")
        return report_answer(request, report)
