"""The request templates every clinic starts with, and how a clinic's are made.

Teledermatology guidance asks for at least two views of a lesion: one that shows
where it is, one close-up in focus, with a scale beside it, and from the side if it
is raised (British Association of Dermatologists, "Quality standards for
teledermatology"; Primary Care Dermatology Society photo guidance). The mole, rash
and wound templates follow it; the general one asks for one clear photo.
"""

from __future__ import annotations

DEFAULT_TEMPLATES = (
    {
        "key": "mole",
        "name": "Mole or skin lesion",
        "message": (
            "Please send photos of the mole or mark we talked about. Take them in good "
            "daylight, by a window if you can, and follow each step below."
        ),
        "slots": (
            (
                "Where it is",
                "Where it is: from about 30 cm away, so we can see the part of your body it is on.",
            ),
            ("Close-up", "Close-up, in focus: as near as your phone keeps it sharp."),
            ("With a coin", "Close-up with a coin beside it for size."),
            ("From the side", "From the side, if it is raised above the skin."),
        ),
    },
    {
        "key": "rash",
        "name": "Rash",
        "message": (
            "Please send photos of the rash. Take them in good daylight, by a window if "
            "you can, and follow each step below."
        ),
        "slots": (
            ("Whole area", "The whole area of the rash, from about 50 cm away."),
            ("Close-up", "Close-up of the rash, in focus."),
            (
                "Somewhere else",
                "If the rash is on another part of your body too, a photo of it there.",
            ),
        ),
    },
    {
        "key": "wound",
        "name": "Wound",
        "message": (
            "Please send photos of the wound. Wash your hands first, take the photos in "
            "good light, and follow each step below."
        ),
        "slots": (
            ("Whole wound", "The whole wound and the skin around it, from about 30 cm away."),
            ("Close-up", "Close-up of the wound, in focus."),
            ("With a coin", "Close-up with a coin or a ruler beside it for size."),
        ),
    },
    {
        "key": "general",
        "name": "General photo",
        "message": "Please send a photo of what we talked about, in good light.",
        "slots": (("Photo", "A clear photo, in focus, in good light."),),
    },
)


def default_templates_create(*, account, template_model, slot_model) -> int:
    """Give ``account`` the shipped templates it does not have yet (by ``default_key``,
    and never over a template of the same name); how many were made. Takes the models,
    so the data migration can pass its historical ones."""
    existing = template_model.objects.filter(account=account)
    keys = set(existing.values_list("default_key", flat=True))
    names = set(existing.values_list("name", flat=True))
    made = 0
    for position, spec in enumerate(DEFAULT_TEMPLATES):
        if spec["key"] in keys or spec["name"] in names:
            continue
        template = template_model.objects.create(
            account=account,
            name=spec["name"],
            message=spec["message"],
            default_key=spec["key"],
            position=position,
        )
        slot_model.objects.bulk_create(
            slot_model(template=template, label=label, instruction=instruction, position=index)
            for index, (label, instruction) in enumerate(spec["slots"])
        )
        made += 1
    return made


def clinic_created(sender, instance, created, raw=False, **kwargs):
    """A new clinic starts with the shipped templates (connected in ``apps.ready``)."""
    if not created or raw:
        return
    from filerequests.models import RequestTemplate, TemplateSlot

    default_templates_create(
        account=instance, template_model=RequestTemplate, slot_model=TemplateSlot
    )
