from django import forms

from portal.webhooks.events import ALL_EVENT_TYPES

EVENT_LABELS = {
    "file-request.files.update": "A patient sent photos for a file request",
    "file-request.created": "A file request was created",
    "file-request.opened": "A patient opened their link",
    "file-request.expired": "A file request expired",
    "patient-attachment.processed": "A patient attachment finished processing",
    "file.ready": "A file is ready",
    "file.rejected": "A file was rejected",
    "file.expired": "A file expired and left the patient's record",
    "patient-attachment.archived": "A patient attachment was archived",
}


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        label="Endpoint URL",
        max_length=2000,
        assume_scheme="https",
        help_text="We POST signed JSON here. Use https in production.",
        error_messages={"required": "Enter the URL to send events to."},
        widget=forms.URLInput(attrs={"placeholder": "https://example.org/webhooks/portal"}),
    )
    events = forms.MultipleChoiceField(
        label="Events",
        widget=forms.CheckboxSelectMultiple,
        choices=[(name, EVENT_LABELS.get(name, name)) for name in ALL_EVENT_TYPES],
        error_messages={"required": "Choose at least one event type."},
    )
    active = forms.BooleanField(
        label="Active", required=False, initial=True, help_text="Send events to this endpoint."
    )

    @classmethod
    def initial_for(cls, endpoint) -> dict:
        return {"url": endpoint.url, "events": endpoint.events, "active": endpoint.is_active}

    def clean_url(self):
        url = self.cleaned_data["url"]
        scheme = url.split(":", 1)[0].lower()
        if scheme not in ("http", "https"):
            raise forms.ValidationError("Use an http or https URL.")
        if "@" in url.split("/", 3)[2]:
            raise forms.ValidationError("Put no user name or password in the URL.")
        return url
