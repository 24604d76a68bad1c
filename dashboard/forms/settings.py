from django import forms

from dashboard.audit_log import ACTOR_KIND_WORDS, action_label
from portal.accounts.models import Account, Staff, time_zone_names
from portal.audit.models import AuditEvent


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Key name",
        help_text="Say which system uses it, e.g. “Practice management sync”.",
        error_messages={"required": "Give the key a name, so you can tell keys apart."},
    )


class StaffInviteForm(forms.Form):
    """Who to invite. There is no temporary-password option: an admin never knows a
    colleague's password, and the answer must not depend on whether the address
    already has a sign-in (an existing user's password is theirs alone)."""

    email = forms.EmailField(
        label="E-mail address",
        error_messages={"required": "Enter their e-mail address."},
    )
    display_name = forms.CharField(
        max_length=200, label="Name", help_text="As colleagues and patients see it."
    )
    role = forms.ChoiceField(choices=Staff.Role.choices, initial=Staff.Role.CLINICIAN)


class StaffRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Staff.Role.choices)


class AuditFilterForm(forms.Form):
    """Who, which patient, what, when. ``who`` is ``staff:<id>`` for a person or
    ``kind:<actor kind>`` for API keys, patient links, the portal itself."""

    who = forms.ChoiceField(label="Who", required=False)
    patient = forms.CharField(
        label="Patient",
        required=False,
        max_length=100,
        help_text="A name, or the patient id from their page.",
    )
    action = forms.ChoiceField(label="What happened", required=False)
    occurred_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    occurred_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    target_id = forms.CharField(
        label="About (id)", required=False, max_length=64, widget=forms.HiddenInput
    )

    def __init__(self, *args, actions: list[str], people: list[Staff], **kwargs):
        super().__init__(*args, **kwargs)
        labelled = sorted(((code, action_label(code)) for code in actions), key=lambda a: a[1])
        self.fields["action"].choices = [("", "Anything"), *labelled]
        self.fields["who"].choices = [
            ("", "Anyone"),
            ("People", [(f"staff:{member.pk}", str(member)) for member in people]),
            (
                "Others",
                [
                    (f"kind:{kind}", words)
                    for kind, words in ACTOR_KIND_WORDS.items()
                    if kind != AuditEvent.ActorKind.STAFF
                ],
            ),
        ]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("occurred_from"), cleaned.get("occurred_to")
        if start and end and start > end:
            self.add_error("occurred_to", "The end date is before the start date.")
        return cleaned


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(time_zone_names())]


class ClinicSettingsForm(forms.ModelForm):
    """What patients see of the clinic on the photo request pages: whom to ring and the
    safety line. The phone number is read in the portal's region (``0117 496 0000``).
    And the clinic's time zone, in which staff read every time."""

    class Meta:
        model = Account
        fields = ["name", "phone_number", "patient_safety_line", "time_zone"]
        labels = {"name": "Clinic name"}
        error_messages = {
            "phone_number": {"invalid": "Enter a phone number, like 0117 496 0000."},
        }
        widgets = {"time_zone": forms.Select(choices=time_zone_choices)}

    def __init__(self, data=None, *args, **kwargs):
        instance = kwargs.get("instance")
        if data is not None and "time_zone" not in data and instance is not None:
            # Left out of a post (a form of before, still open in a tab): it stays as it is.
            data = data.copy()
            data["time_zone"] = instance.time_zone
        super().__init__(data, *args, **kwargs)
