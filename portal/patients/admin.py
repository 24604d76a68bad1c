"""Admin for patients. Edits go through ``patient_update``, as in the dashboard and the
API, so the account's audit log records who changed a patient's details."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from portal.audit.services import Actor
from portal.patients.models import Patient
from portal.patients.nhs_number import nhs_number_clean
from portal.patients.phone import MobileNumberError, mobile_help, parse_typed_mobile
from portal.patients.services import NhsNumberTaken, nhs_number_holder, patient_update


class TypedMobileField(forms.CharField):
    """Changed only when the number is: ``07911 123456`` is ``+44 7911 123456``."""

    def has_changed(self, initial, data) -> bool:
        def normalised(text):
            try:
                return parse_typed_mobile(str(text or "")).as_e164
            except MobileNumberError:
                return str(text or "").strip()

        return normalised(initial) != normalised(data)


class PatientAdminForm(forms.ModelForm):
    """The mobile as people type it (national or international), checked to be a mobile."""

    nhs_number = forms.CharField(
        label="NHS number",
        required=False,
        max_length=40,
        help_text="10 digits, with or without spaces.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    mobile = TypedMobileField(
        label="Mobile number",
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )

    class Meta:
        model = Patient
        fields = ["first_name", "last_name", "date_of_birth", "mobile", "nhs_number"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mobile"].help_text = mobile_help()
        if self.instance.mobile:
            self.initial["mobile"] = self.instance.mobile.as_international
        self.initial["nhs_number"] = self.instance.nhs_number_display

    def clean_nhs_number(self):
        digits = nhs_number_clean(self.cleaned_data["nhs_number"])
        if not digits:
            return ""
        # The form leaves out the account, so Django does not check the constraint on
        # (account, NHS number) itself: asked here, before patient_update refuses it.
        holder = nhs_number_holder(
            account=self.instance.account, nhs_number=digits, other_than=self.instance
        )
        if holder is not None:
            raise forms.ValidationError(
                str(NhsNumberTaken(nhs_number=digits, holder=holder))
                + f" It is recorded for {holder.name_family_first} ({holder.pk})."
            )
        return digits

    def clean_mobile(self):
        text = self.cleaned_data["mobile"].strip()
        if not text:
            return ""
        try:
            return parse_typed_mobile(text)
        except MobileNumberError as exc:
            raise forms.ValidationError(str(exc)) from exc


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    form = PatientAdminForm
    list_display = [
        "__str__",
        "account",
        "date_of_birth",
        "nhs_number_shown",
        "mobile",
        "is_shell",
        "created_at",
    ]
    list_filter = ["is_shell", "account", "created_at"]
    search_fields = ["first_name", "last_name", "mobile", "nhs_number", "id"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"
    fields = [
        "id",
        "account",
        "first_name",
        "last_name",
        "date_of_birth",
        "nhs_number",
        "mobile",
        "is_shell",
        "created_at",
        "updated_at",
    ]
    readonly_fields = ["id", "account", "is_shell", "created_at", "updated_at"]

    @admin.display(description="NHS number", ordering="nhs_number")
    def nhs_number_shown(self, patient: Patient) -> str:
        return patient.nhs_number_display

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
