"""Admin for patients. Edits go through ``patient_update``, as in the dashboard and the
API, so the account's audit log records who changed a patient's details."""

from __future__ import annotations

from django.contrib import admin

from portal.audit.services import Actor
from portal.patients.models import Patient
from portal.patients.services import patient_update


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["__str__", "account", "date_of_birth", "mobile", "is_shell", "created_at"]
    list_filter = ["is_shell", "account", "created_at"]
    search_fields = ["first_name", "last_name", "mobile", "id"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"
    fields = [
        "id",
        "account",
        "first_name",
        "last_name",
        "date_of_birth",
        "mobile",
        "is_shell",
        "created_at",
        "updated_at",
    ]
    readonly_fields = ["id", "account", "is_shell", "created_at", "updated_at"]

    def has_add_permission(self, request):
        # Patients are added in the dashboard or through the API, within an account.
        return False

    def save_model(self, request, obj, form, change):
        if form.changed_data:
            patient_update(
                patient=obj,
                actor=Actor.for_admin(request.user),
                **{name: form.cleaned_data[name] for name in form.changed_data},
            )
