"""Patients: search and list, add, the patient's page, edit."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render

from dashboard import selectors
from dashboard.access import staff_required
from dashboard.forms.patients import PatientForm
from dashboard.lookups import get_patient_or_404
from dashboard.pagination import paginate, query_without_page
from dashboard.search import parse_patient_query
from dashboard.views.record import record_context
from portal.audit.services import Actor
from portal.patients import selectors as patient_selectors
from portal.patients import services


@staff_required
def patient_list(request):
    text = request.GET.get("q", "").strip()
    query = parse_patient_query(text)
    page = paginate(request, selectors.patient_search(account=request.account, query=query))
    context = {"q": text, "query": query, "page": page, "page_query": query_without_page(request)}
    if request.htmx and request.htmx.target == "patient-results":
        # The live search swaps only a 2xx answer (htmx's default), so a search that
        # cannot be run is answered 200 here, with the reason where the results go.
        return render(request, "dashboard/patients/_results.html", context)
    status = 400 if query.problem else 200
    return render(request, "dashboard/patients/list.html", context, status=status)


@staff_required
def patient_create(request):
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_create(
                account=request.account, actor=Actor.for_staff(request.staff), **form.cleaned_data
            )
        except services.NhsNumberTaken as exc:
            form.nhs_number_taken(exc)
        else:
            messages.success(request, f"{patient} has been added.")
            return redirect("dashboard:patient-detail", patient_id=patient.id)
    status = 400 if form.errors else 200
    return render(request, "dashboard/patients/form.html", {"form": form}, status=status)


@staff_required
def patient_detail(request, patient_id):
    patient = get_patient_or_404(request, patient_id)
    file_requests = selectors.patient_file_requests(account=request.account, patient=patient)
    return render(
        request,
        "dashboard/patients/detail.html",
        {
            **record_context(request, patient),
            "similar_patients": patient_selectors.patients_with_similar_names(patient=patient),
            "file_requests": file_requests[:10],
            "max_upload_bytes": settings.FILES_MAX_UPLOAD_BYTES,
        },
    )


@staff_required
def patient_edit(request, patient_id):
    patient = get_patient_or_404(request, patient_id)
    form = PatientForm(request.POST or None, initial=PatientForm.initial_for(patient))
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_update(
                patient=patient, actor=Actor.for_staff(request.staff), **form.cleaned_data
            )
        except services.NhsNumberTaken as exc:
            patient.refresh_from_db()  # the page shows what is stored, not what was refused
            form.nhs_number_taken(exc)
        else:
            messages.success(request, "The patient's details have been saved.")
            return redirect("dashboard:patient-detail", patient_id=patient.id)
    status = 400 if form.errors else 200
    return render(
        request, "dashboard/patients/form.html", {"form": form, "patient": patient}, status=status
    )


@staff_required
def patient_file_requests(request, patient_id):
    """The File requests section's body, for htmx to refresh."""
    patient = get_patient_or_404(request, patient_id)
    file_requests = selectors.patient_file_requests(account=request.account, patient=patient)
    return render(
        request,
        "dashboard/patients/sections/file_requests.html",
        {"patient": patient, "file_requests": file_requests[:10]},
    )
