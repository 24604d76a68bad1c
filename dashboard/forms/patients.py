from django import forms
from django.utils import timezone

from portal.patients.birth_dates import date_of_birth_problem
from portal.patients.nhs_number import nhs_number_clean, nhs_number_format
from portal.patients.phone import MobileNumberError, mobile_help, parse_typed_mobile


class PatientForm(forms.Form):
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    date_of_birth = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Enter the date of birth.", "invalid": "Enter a real date."},
    )
    nhs_number = forms.CharField(
        label="NHS number",
        required=False,
        max_length=40,
        help_text="10 digits, with or without spaces, such as 943 476 5919.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
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
        # The dashboard runs in the clinic's time zone (dashboard/access.py).
        problem = date_of_birth_problem(value, today=timezone.localdate())
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_nhs_number(self):
        digits = nhs_number_clean(self.cleaned_data["nhs_number"])
        if not digits:
            return ""
        # Shown back grouped (943 476 5919) if another field sends the form back.
        self.data = self.data.copy()
        self.data[self.add_prefix("nhs_number")] = nhs_number_format(digits)
        return digits

    def nhs_number_taken(self, exc) -> None:
        """The service found the number on another patient of the clinic: say whom, so
        staff can go to them rather than make a second record."""
        holder = exc.holder
        whose = (
            f" It is recorded for {holder.name_family_first}, born {holder.date_of_birth.year}."
            if holder is not None
            else ""
        )
        self.add_error("nhs_number", f"{exc}{whose}")

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
            "nhs_number": patient.nhs_number_display,
            "mobile": patient.mobile.as_international if patient.mobile else "",
        }
