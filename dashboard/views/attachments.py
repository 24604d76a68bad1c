"""A patient's attachments: the gallery, their bytes, uploads, archive."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from attachments.services import attachment_archive
from dashboard import serving, uploads
from dashboard.access import staff_required
from dashboard.lookups import get_attachment_or_404, get_patient_or_404
from dashboard.views.record import record_context
from portal.audit.services import Actor


@staff_required
def patient_attachments(request, patient_id):
    """The record section's body, for htmx to refresh (and to poll while files process)."""
    patient = get_patient_or_404(request, patient_id)
    return render(
        request, "dashboard/patients/sections/attachments.html", record_context(request, patient)
    )


@staff_required
def attachment_thumbnail(request, patient_id, attachment_id):
    patient = get_patient_or_404(request, patient_id)
    attachment = get_attachment_or_404(request, patient, attachment_id)
    return serving.staff_file_response(request, file=attachment.file, variant=serving.THUMBNAIL)


@staff_required
def attachment_content(request, patient_id, attachment_id):
    patient = get_patient_or_404(request, patient_id)
    attachment = get_attachment_or_404(request, patient, attachment_id)
    return serving.staff_file_response(request, file=attachment.file, variant=serving.CONTENT)


@require_POST
@staff_required
def attachment_upload_ticket(request, patient_id):
    patient = get_patient_or_404(request, patient_id)
    return uploads.ticket_issue(request, patient)


@require_POST
@staff_required
def attachment_upload_confirm(request, patient_id):
    patient = get_patient_or_404(request, patient_id)
    return uploads.ticket_confirm(request, patient)


@require_POST
@staff_required
def attachment_archive_view(request, patient_id, attachment_id):
    patient = get_patient_or_404(request, patient_id)
    attachment = get_attachment_or_404(request, patient, attachment_id)
    attachment_archive(attachment=attachment, actor=Actor.for_staff(request.staff))
    if request.htmx:
        response = render(
            request,
            "dashboard/patients/sections/attachments.html",
            record_context(request, patient),
        )
        response["HX-Trigger"] = "attachment-archived"
        return response
    name = attachment.file.display_name or "The attachment"
    messages.success(request, f"{name} is archived. It stays in the record, out of the gallery.")
    return redirect("dashboard:patient-detail", patient_id=patient.id)
