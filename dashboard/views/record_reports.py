"""Save to record, from a request's page or the inbox: the request's PDF report is made
by the worker and filed as a document of the patient; the page says who saved it and
when, and downloads it once ready."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from dashboard import serving
from dashboard.access import staff_required
from dashboard.lookups import get_file_request_or_404
from filerequests import record_reports
from portal.audit.services import Actor


@require_POST
@staff_required
def file_request_save_to_record(request, file_request_id):
    file_request = get_file_request_or_404(request, file_request_id)
    back_to_inbox = request.POST.get("next") == "inbox"
    try:
        report = record_reports.file_request_save_to_record(
            file_request=file_request, staff=request.staff, actor=Actor.for_staff(request.staff)
        )
    except record_reports.ReportRefused as exc:
        messages.error(request, str(exc))
    else:
        progress = record_reports.report_progress(report)
        if progress.state == record_reports.READY:
            return redirect("dashboard:file-request-report", file_request_id=file_request.id)
        if progress.state == record_reports.FAILED:
            messages.error(request, progress.reason)
        else:
            messages.success(
                request,
                f"Saved to {file_request.patient}'s record. The PDF is being made; it is "
                "listed in their record and can be downloaded from the request in a moment.",
            )
    if back_to_inbox:
        return redirect("dashboard:review-inbox")
    return redirect("dashboard:file-request-detail", file_request_id=file_request.id)


@staff_required
def file_request_report(request, file_request_id):
    """The PDF last saved to the record for this request, as an audited download; back
    to the request's page, saying why, while there is none or it is being made."""
    file_request = get_file_request_or_404(request, file_request_id)
    report = record_reports.latest_saved(file_request)
    if report is None:
        messages.info(request, "This request has not been saved to the record yet.")
    else:
        progress = record_reports.report_progress(report)
        if progress.state == record_reports.READY:
            return serving.staff_file_response(request, file=report.file, variant=serving.CONTENT)
        if progress.state == record_reports.MAKING:
            messages.info(request, "The PDF is still being made; it is ready in a moment.")
        else:
            messages.error(request, progress.reason)
    return redirect("dashboard:file-request-detail", file_request_id=file_request.id)
