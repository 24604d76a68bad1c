"""File requests: the list with filters, asking a patient for photos, a request's page
(photos appear as the patient sends them), resend the text message, cancel."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.decorators.http import require_POST

from dashboard import selectors, serving
from dashboard.access import staff_required
from dashboard.forms.file_requests import FileRequestFilterForm, FileRequestForm
from dashboard.lookups import (
    get_file_request_or_404,
    get_patient_or_404,
    get_request_file_or_404,
)
from dashboard.pagination import paginate, query_without_page
from filerequests import record_reports, services, staff_actions
from filerequests.models import FileRequest
from filerequests.selectors import file_request_files
from files.models import File
from portal.audit.services import Actor
from portal.patients import selectors as patient_selectors

# Seconds between looks for new photos while the page is live.
POLL_SECONDS = 3
UNFINISHED = (File.State.PENDING, File.State.PROCESSING)


@staff_required
def file_request_list(request):
    filters = FileRequestFilterForm(request.GET or None)
    status = patient_text = ""
    if filters.is_valid():
        status = filters.cleaned_data["status"]
        patient_text = filters.cleaned_data["q"].strip()
    page = paginate(
        request,
        selectors.file_request_list(
            account=request.account, status=status, patient_text=patient_text
        ),
    )
    return render(
        request,
        "dashboard/file_requests/list.html",
        {
            "page": page,
            "status": status,
            "q": patient_text,
            "statuses": FileRequest.Status.choices,
            "counts": selectors.file_request_status_counts(account=request.account),
            "dob_max_attempts": settings.FILE_REQUEST_DOB_MAX_ATTEMPTS,
            "page_query": query_without_page(request),
        },
    )


@staff_required
def file_request_create(request):
    patient_id = request.POST.get("patient") or request.GET.get("patient")
    patient = get_patient_or_404(request, patient_id) if patient_id else None
    form = FileRequestForm(request.POST or None, patient=patient, account=request.account)
    if request.method == "POST" and form.is_valid():
        staff = request.staff
        try:
            file_request = services.file_request_create(
                account=request.account,
                actor=Actor.for_staff(staff),
                staff_id=staff.id,
                staff_name=staff.display_name or str(staff),
                **form.service_arguments(),
            )
        except services.FileRequestInputError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"The request is on its way to {file_request.patient.mobile.as_international}. "
                "Photos appear here as they arrive.",
            )
            return redirect("dashboard:file-request-detail", file_request_id=file_request.id)
    status = 400 if form.errors else 200
    return render(
        request,
        "dashboard/file_requests/form.html",
        {
            "form": form,
            "patient": patient,
            "public_base_url": settings.PORTAL_PUBLIC_BASE_URL.rstrip("/"),
        },
        status=status,
    )


def live_context(file_request: FileRequest) -> dict:
    files = file_request_files(file_request=file_request)
    notifications = list(file_request.notifications.order_by("-created_at"))
    waiting_for_patient = (
        file_request.status in (FileRequest.Status.SENT, FileRequest.Status.OPENED)
        and not file_request.link_has_expired()
    )
    sms_pending = bool(notifications) and notifications[0].status == "queued"
    record = record_context(file_request)
    live = (
        waiting_for_patient
        or sms_pending
        or any(f.state in UNFINISHED for f in files)
        or record["report_state"] == record_reports.MAKING
    )
    return {
        **record,
        "version": live_version(file_request, files, notifications, record),
        "file_request": file_request,
        "files": files,
        "notifications": notifications,
        "latest_notification": notifications[0] if notifications else None,
        "live": live,
        "poll_seconds": POLL_SECONDS,
        "locked": file_request.is_locked() and file_request.accepts_answers(),
        "to_review": sum(1 for f in files if f.reviewed_at is None and f.state not in UNFINISHED),
        "reviewed": reviewed_summary(files),
        "development_sms": development_sms_text(file_request),
        "dob_max_attempts": settings.FILE_REQUEST_DOB_MAX_ATTEMPTS,
        "now_ymd": timezone.localdate().strftime("%Y%m%d"),
    }


def development_sms_text(file_request: FileRequest) -> str | None:
    """The text message the patient gets, link and all, for a first run on a developer's
    machine, where texts go to the console or a file rather than a phone. Never in
    production, nor with a backend that really sends: the link is the credential."""
    if settings.IS_PRODUCTION or not file_request.accepts_answers():
        return None
    if getattr(import_string(settings.SMS_BACKEND), "name", "") not in ("console", "file"):
        return None
    return services.sms_text(file_request)


def reviewed_summary(files) -> dict | None:
    """Who reviewed the request's files last, and when; None while any is unreviewed."""
    if not files or any(f.reviewed_at is None for f in files):
        return None
    last = max(files, key=lambda f: f.reviewed_at)
    return {"by": last.reviewed_by, "at": last.reviewed_at}


def record_context(file_request: FileRequest) -> dict:
    """The review's outcome, the replies texted to the patient, and the report saved to
    the record (who saved it, when, and whether its PDF is ready)."""
    saved = record_reports.latest_saved(file_request)
    return {
        "replies": record_reports.replies_of(file_request),
        "saved_report": saved,
        "report_state": record_reports.report_progress(saved).state if saved else "",
        "report_failure": record_reports.report_progress(saved).reason if saved else "",
    }


def live_version(file_request: FileRequest, files, notifications, record=None) -> str:
    """A short fingerprint of what the live part shows; unchanged means nothing to redraw."""
    parts = [file_request.status, str(file_request.updated_at.timestamp())]
    if record is not None:
        parts.append(f"report:{record['saved_report'] and record['saved_report'].pk}:")
        parts.append(record["report_state"])
    parts += [f"{file.id}:{file.state}:{file.reviewed_at}" for file in files]
    parts += [f"{n.id}:{n.status}:{n.attempts}:{n.delivery}" for n in notifications]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


@staff_required
def file_request_detail(request, file_request_id):
    file_request = get_file_request_or_404(request, file_request_id)
    similar = patient_selectors.patients_with_similar_names(patient=file_request.patient)
    return render(
        request,
        "dashboard/file_requests/detail.html",
        {**live_context(file_request), "similar_patients": similar},
    )


@staff_required
def file_request_live(request, file_request_id):
    """The request's status, text messages and photos, polled by the page while live.
    The answer without ``hx-trigger`` (answered, expired, cancelled) stops the polling."""
    file_request = get_file_request_or_404(request, file_request_id)
    context = live_context(file_request)
    if request.GET.get("v") == context["version"]:
        return HttpResponse(status=204)  # htmx swaps nothing and keeps polling
    # The header's actions change with the status (answered: review, ask for more).
    return render(request, "dashboard/file_requests/_live.html", {**context, "oob_actions": True})


@require_POST
@staff_required
def file_request_resend(request, file_request_id):
    file_request = get_file_request_or_404(request, file_request_id)
    try:
        services.file_request_resend(
            file_request=file_request, actor=Actor.for_staff(request.staff)
        )
    except (services.FileRequestStateError, services.TextLimitReached) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The text message is being sent again, with the same link.")
    return redirect("dashboard:file-request-detail", file_request_id=file_request.id)


@require_POST
@staff_required
def file_request_unlock(request, file_request_id):
    """Unlock a link five wrong dates of birth closed, and text the patient a new one.
    From the patient's record (``next=record``) it returns there."""
    file_request = get_file_request_or_404(request, file_request_id)
    try:
        file_request = staff_actions.file_request_unlock_and_resend(
            file_request=file_request, actor=Actor.for_staff(request.staff)
        )
    except services.FileRequestStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Unlocked. A new link is being texted to "
            f"{file_request.patient.mobile.as_international}; the old link no longer works.",
        )
    if request.POST.get("next") == "record":
        return redirect(
            reverse("dashboard:patient-detail", args=[file_request.patient_id]) + "#file-requests"
        )
    return redirect("dashboard:file-request-detail", file_request_id=file_request.id)


@require_POST
@staff_required
def file_request_cancel(request, file_request_id):
    file_request = get_file_request_or_404(request, file_request_id)
    try:
        services.file_request_cancel(
            file_request=file_request, actor=Actor.for_staff(request.staff)
        )
    except services.FileRequestStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The request is cancelled. Its link no longer works.")
    return redirect("dashboard:file-request-detail", file_request_id=file_request.id)


@staff_required
def file_request_file_thumbnail(request, file_request_id, file_id):
    file_request = get_file_request_or_404(request, file_request_id)
    file = get_request_file_or_404(request, file_request, file_id)
    return serving.staff_file_response(request, file=file, variant=serving.THUMBNAIL)


@staff_required
def file_request_file_content(request, file_request_id, file_id):
    file_request = get_file_request_or_404(request, file_request_id)
    file = get_request_file_or_404(request, file_request, file_id)
    return serving.staff_file_response(request, file=file, variant=serving.CONTENT)
