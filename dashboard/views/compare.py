"""Compare over time: two to four of one patient's photos side by side at equal size,
zoomed and panned in step (static/js/compare.js); and correcting a photo's body site."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dashboard.access import staff_required
from dashboard.compare import MAX_PHOTOS, comparison_for
from dashboard.lookups import get_patient_or_404
from dashboard.views.record import get_record_file_or_404
from files.body_sites import BodySiteError, body_site_from_label
from files.services import file_body_site_set
from portal.audit.services import Actor


@staff_required
def patient_compare(request, patient_id):
    patient = get_patient_or_404(request, patient_id)
    comparison = comparison_for(
        account=request.account,
        patient=patient,
        file_ids=request.GET.getlist("files"),
        around_id=request.GET.get("around", ""),
    )
    photos = comparison.photos
    adding = request.GET.get("add") == "1" and len(photos) < MAX_PHOTOS
    return render(
        request,
        "dashboard/patients/compare.html",
        {
            "patient": patient,
            "photos": photos,
            "choices": comparison.choices,
            "adding": adding,
            "can_add": len(photos) < min(MAX_PHOTOS, len(comparison.choices)),
            "columns": len(photos),
        },
    )


def back_to(request, patient) -> str:
    """Where a form on the record or the comparison came from (this site only)."""
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return reverse("dashboard:patient-detail", args=[patient.id])


@require_POST
@staff_required
def record_file_body_site(request, patient_id, file_id):
    """Correct where on the body a photo was taken (audited in the service)."""
    patient = get_patient_or_404(request, patient_id)
    file = get_record_file_or_404(request, patient, file_id)
    try:
        code, side = body_site_from_label(request.POST.get("body_site", ""))
        file_body_site_set(file=file, actor=Actor.for_staff(request.staff), code=code, side=side)
    except BodySiteError as exc:
        messages.error(request, f"The body site was not changed: {exc.message}")
    else:
        label = file.body_site_label or "no body site"
        messages.success(request, f"The photo's body site is now {label}.")
    return redirect(back_to(request, patient))
