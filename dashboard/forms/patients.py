from django import forms
from django.utils import timezone

from portal.patients.phone import MobileNumberError, parse_e164_mobile


class PatientForm(forms.Form):
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    date_of_birth = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Enter the date of birth.", "invalid": "Enter a real date."},
    )
    mobile = forms.CharField(
        label="Mobile number",
        required=False,
        help_text="International format, e.g. +447911123456.",
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )

    def clean_date_of_birth(self):
        value = self.cleaned_data["date_of_birth"]
        if value > timezone.localdate():
            raise forms.ValidationError("Date of birth cannot be in the future.")
        if value.year < 1900:
            raise forms.ValidationError("Date of birth must be after 1900.")
        return value

    def clean_mobile(self):
        text = self.cleaned_data["mobile"].strip()
        if not text:
            return None
        try:
            return parse_e164_mobile(text)
        except MobileNumberError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("first_name") or cleaned.get("last_name")):
            self.add_error("last_name", "Enter the patient's first or last name.")
        return cleaned

    @classmethod
    def initial_for(cls, patient) -> dict:
        return {
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "date_of_birth": patient.date_of_birth,
            "mobile": str(patient.mobile) if patient.mobile else "",
        }
