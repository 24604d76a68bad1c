"""Settings → Request templates: a template's name, message and photo slots."""

from __future__ import annotations

from django import forms

from filerequests.request_templates import MAX_SLOTS


class RequestTemplateForm(forms.Form):
    """The name and message, then one row per photo slot: a short name staff read in
    lists and the instruction the patient reads. Empty rows are left out; a few spare
    rows are offered below the ones in use."""

    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What staff pick when sending, for example “Mole or skin lesion”.",
        error_messages={"required": "Give the template a name."},
    )
    message = forms.CharField(
        label="Message to the patient",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown after the patient confirms their date of birth; staff can change "
        "it for one request when sending.",
        error_messages={"required": "Write the message the patient reads."},
    )

    def __init__(self, *args, slots=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Bound: read every row the page can send. Unbound: the rows in use and a spare.
        rows = MAX_SLOTS if self.is_bound else min(MAX_SLOTS, max(len(slots) + 1, 3))
        self.slot_rows = []
        for index in range(rows):
            label, instruction = slots[index] if index < len(slots) else ("", "")
            number = index + 1
            self.fields[f"slot_label_{number}"] = forms.CharField(
                label=f"Photo {number}: short name",
                required=False,
                max_length=60,
                initial=label,
                widget=forms.TextInput(attrs={"placeholder": "Close-up"} if number == 1 else {}),
            )
            self.fields[f"slot_instruction_{number}"] = forms.CharField(
                label=f"Photo {number}: what the patient is asked",
                required=False,
                max_length=300,
                initial=instruction,
                widget=forms.TextInput(
                    attrs={"placeholder": "Close-up, in focus."} if number == 1 else {}
                ),
            )
            self.slot_rows.append(
                (number, self[f"slot_label_{number}"], self[f"slot_instruction_{number}"])
            )

    def slots(self) -> list[tuple[str, str]]:
        data = self.cleaned_data
        return [
            (data.get(f"slot_label_{n}", ""), data.get(f"slot_instruction_{n}", ""))
            for n, _label, _instruction in self.slot_rows
        ]
