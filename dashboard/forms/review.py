from datetime import timedelta

from django import forms
from django.utils import timezone

from dashboard.forms.file_requests import EXPIRY_CHOICES, default_expiry_days


class FollowUpForm(forms.Form):
    """Ask the same patient for more: the prompt starts as the first request's."""

    prompt = forms.CharField(
        label="What else do you need?",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The patient reads this after confirming their date of birth.",
        error_messages={"required": "Say what the patient should photograph."},
    )
    expires_in_days = forms.ChoiceField(label="The link works for", choices=EXPIRY_CHOICES)

    def __init__(self, *args, first_request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expires_in_days"].initial = default_expiry_days()
        if first_request is not None and not self.is_bound:
            self.initial["prompt"] = first_request.prompt

    def expires_at(self):
        return timezone.now() + timedelta(days=int(self.cleaned_data["expires_in_days"]))


class NotificationSettingsForm(forms.Form):
    notify_photos_by_email = forms.BooleanField(
        label="E-mail me when a patient sends photos for a request I sent",
        required=False,
        help_text="The e-mail says only that photos arrived, with a link; it names no patient.",
    )
