from datetime import timedelta

from django import forms
from django.conf import settings
from django.utils import timezone

from dashboard.forms.patients import PatientForm
from filerequests.models import FileRequest
from filerequests.request_templates import request_template_list
from files.body_sites import BodySiteError, body_site_from_label, body_site_options

EXPIRY_CHOICES = [
    ("1", "1 day"),
    ("3", "3 days"),
    ("7", "7 days"),
    ("14", "14 days"),
    ("30", "30 days"),
]


def default_expiry_days() -> str:
    days = str(max(1, settings.FILE_REQUEST_SHORT_LINK_TTL_SECONDS // 86400))
    return days if days in dict(EXPIRY_CHOICES) else "7"


class FileRequestForm(PatientForm):
    """Ask a patient for photos: the patient's mobile and date of birth (and names, for
    someone new), what to photograph, and how long the link works.

    For a patient already chosen the view passes ``patient``; their details are used
    and the patient fields are not shown.
    """

    template = forms.ChoiceField(
        label="Template",
        required=False,
        help_text="Fills in the message and the photos to take, one step each; "
        "the message can still be changed.",
    )
    prompt = forms.CharField(
        label="What do you need photos of?",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The patient reads this after confirming their date of birth; "
        "the text message itself says only who is asking.",
        error_messages={"required": "Say what the patient should photograph."},
    )
    expires_in_days = forms.ChoiceField(
        label="The link works for",
        choices=EXPIRY_CHOICES,
        help_text="After this the link stops working and the request shows as expired.",
    )
    body_site = forms.CharField(
        label="Where on the body",
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"list": "body-site-list", "autocomplete": "off"}),
        help_text="Type to search, for example “forearm”. Shown on every photo, so photos "
        "of one place can be compared over time.",
    )
    full_resolution = forms.BooleanField(
        label="Full resolution",
        required=False,
        help_text="Photos arrive as taken. Otherwise the patient's phone shrinks larger "
        "photos to 2,048 pixels on the longest side, which sends much faster on a poor signal.",
    )

    def __init__(self, *args, patient=None, account=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.fields["mobile"].required = True
        self.fields["mobile"].error_messages["required"] = "Enter the mobile number to text."
        self.fields["mobile"].label = "Mobile number"
        self.fields["first_name"].label = "First name"
        self.fields["last_name"].label = "Last name"
        self.fields["expires_in_days"].initial = default_expiry_days()
        self.templates = list(request_template_list(account=account)) if account else []
        self.body_site_options = body_site_options()
        self.fields["template"].choices = [("", "None: write your own")] + [
            (str(t.pk), t.name) for t in self.templates
        ]
        if patient is not None:
            for name in ("first_name", "last_name", "date_of_birth", "mobile"):
                del self.fields[name]

    def clean_template(self):
        return self.cleaned_data.get("template") or ""

    def clean_prompt(self):
        prompt = (self.cleaned_data.get("prompt") or "").strip()
        if not prompt and not self.cleaned_data.get("template"):
            raise forms.ValidationError("Say what the patient should photograph.")
        return prompt

    def clean_body_site(self):
        try:
            return body_site_from_label(self.cleaned_data.get("body_site") or "")
        except BodySiteError as exc:
            raise forms.ValidationError(exc.message) from None

    def template_choices(self) -> list[dict]:
        """The clinic's templates as the page's script reads them (message, photos)."""
        return [
            {
                "id": str(t.pk),
                "message": t.message,
                "slots": [s.instruction for s in t.slots.all()],
            }
            for t in self.templates
        ]

    def clean(self):
        if self.patient is None:
            return super().clean()
        cleaned = forms.Form.clean(self)
        if not self.patient.mobile:
            raise forms.ValidationError(
                "This patient has no mobile number. Add one to their details first."
            )
        return cleaned

    def service_arguments(self) -> dict:
        """Keyword arguments for ``file_request_create`` about the patient and expiry."""
        data = self.cleaned_data
        days = int(data["expires_in_days"])
        if self.patient is not None:
            who = {
                "patient_mobile": self.patient.mobile,
                "patient_date_of_birth": self.patient.date_of_birth,
                "patient_first_name": self.patient.first_name,
                "patient_last_name": self.patient.last_name,
            }
        else:
            who = {
                "patient_mobile": data["mobile"],
                "patient_date_of_birth": data["date_of_birth"],
                "patient_first_name": data.get("first_name", ""),
                "patient_last_name": data.get("last_name", ""),
            }
        return {
            **who,
            "type": FileRequest.Type.PHOTO,
            "prompt": data["prompt"].strip(),
            "short_link_expires_at": timezone.now() + timedelta(days=days),
            "template_id": data.get("template") or None,
            "body_site_code": data["body_site"][0],
            "body_site_side": data["body_site"][1],
            "full_resolution": data["full_resolution"],
        }


class FileRequestFilterForm(forms.Form):
    q = forms.CharField(label="Patient", required=False, max_length=100)
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *FileRequest.Status.choices]
    )
