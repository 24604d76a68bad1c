"""Settings → Clinic: the clinic's name, the phone number patients are told to ring,
the safety line every patient page shows, and the time zone staff read times in
(account admins only)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from dashboard.access import admin_required
from dashboard.forms.settings import ClinicSettingsForm
from portal.accounts.services import account_clinic_settings_update


@never_cache
@admin_required
def clinic_settings(request):
    account = request.account
    if request.method != "POST":
        form = ClinicSettingsForm(instance=account)
        return render(request, "dashboard/settings/clinic.html", {"form": form})
    form = ClinicSettingsForm(request.POST, instance=account)
    if not form.is_valid():
        account.refresh_from_db()  # the form wrote its invalid values on the instance
        return render(request, "dashboard/settings/clinic.html", {"form": form}, status=400)
    account_clinic_settings_update(
        account=account,
        staff=request.staff,
        name=form.cleaned_data["name"],
        phone_number=form.cleaned_data["phone_number"],
        patient_safety_line=form.cleaned_data["patient_safety_line"],
        time_zone=form.cleaned_data["time_zone"],
    )
    messages.success(request, "Saved. Patients see the new details on their next page.")
    return redirect("dashboard:settings-clinic")
