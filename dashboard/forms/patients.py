from django import forms
from django.utils import timezone

from portal.patients.phone import MobileNumberError, mobile_help, parse_typed_mobile


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
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "mobile" in self.fields:
            self.fields["mobile"].help_text = mobile_help()

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
            number = parse_typed_mobile(text)
        except MobileNumberError as exc:
            raise forms.ValidationError(str(exc)) from exc
        # Shown back normalised (+44 7911 123456) if another field sends the form back.
        self.data = self.data.copy()
        self.data[self.add_prefix("mobile")] = number.as_international
        return number

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
            "mobile": patient.mobile.as_international if patient.mobile else "",
        }
