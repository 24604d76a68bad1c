from datetime import timedelta

from django import forms
from django.utils import timezone

from dashboard.forms.file_requests import EXPIRY_CHOICES, default_expiry_days
from filerequests.models import Outcome
from filerequests.replies import MAX_REPLY_LENGTH, reply_text_render
from filerequests.staff_actions import NOTE_MAX_LENGTH


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


OWN_WORDS = "own"
NO_REPLY = ""


class ReviewForm(forms.Form):
    """Mark reviewed: the outcome (a note required for Other), and optionally a reply
    texted to the patient, from one of the clinic's templates or in one's own words."""

    outcome = forms.ChoiceField(
        label="Outcome",
        choices=Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose an outcome."},
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed when the outcome is Other. Kept with the request and in the record "
        "report; never texted to the patient.",
    )
    reply = forms.ChoiceField(
        label="Text the patient a reply",
        required=False,
        widget=forms.RadioSelect,
    )
    reply_text = forms.CharField(
        label="Your own words",
        required=False,
        max_length=MAX_REPLY_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Used when you choose “In my own words”. Plain words: whoever holds the "
        "phone may read it.",
    )

    def __init__(self, *args, file_request, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.file_request = file_request
        self.templates = {str(t.pk): t for t in templates}
        choices = [(NO_REPLY, "Do not text the patient")]
        choices += [
            (key, f"{t.name}: “{reply_text_render(t.body, file_request=file_request)}”")
            for key, t in self.templates.items()
        ]
        choices.append((OWN_WORDS, "In my own words"))
        self.fields["reply"].choices = choices
        self.fields["reply"].initial = NO_REPLY
        if file_request.review_outcome and not self.is_bound:
            self.initial.update(outcome=file_request.review_outcome, note=file_request.review_note)
        mobile = file_request.patient.mobile
        if mobile:
            self.fields["reply"].help_text = f"Sent to {mobile.as_international}, as a text."
        else:
            self.fields["reply"].help_text = "The patient has no mobile number on record."

    def clean(self):
        data = super().clean()
        if data.get("reply") == OWN_WORDS and not (data.get("reply_text") or "").strip():
            self.add_error("reply_text", "Write the text message, or choose a template.")
        return data

    def reply_words(self) -> tuple[str, str]:
        """(the words to text, the template's name), or ("", "") for no reply."""
        choice = self.cleaned_data.get("reply") or NO_REPLY
        if choice == OWN_WORDS:
            return self.cleaned_data["reply_text"].strip(), ""
        template = self.templates.get(choice)
        if template is None:
            return "", ""
        return reply_text_render(template.body, file_request=self.file_request), template.name


class ReplyTemplateForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=80,
        error_messages={"required": "Give the template a name."},
    )
    body = forms.CharField(
        label="Text message",
        max_length=MAX_REPLY_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="{clinic} becomes the clinic's name, {first_name} the patient's first name. "
        f"At most {MAX_REPLY_LENGTH} characters (four texts).",
        error_messages={"required": "Write the words of the text message."},
    )
