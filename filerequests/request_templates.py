"""The request templates every clinic starts with, and how a clinic's are made.

Teledermatology guidance asks for at least two views of a lesion: one that shows
where it is, one close-up in focus, with a scale beside it, and from the side if it
is raised (British Association of Dermatologists, "Quality standards for
teledermatology"; Primary Care Dermatology Society photo guidance). The mole, rash
and wound templates follow it; the general one asks for one clear photo.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from filerequests.models import RequestTemplate, TemplateSlot
from portal.accounts.models import Account
from portal.audit.services import Actor, audit_record
from portal.ids import parse_uuid

# A template asks for at most this many photos; a patient can always add more.
MAX_SLOTS = 8

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


def default_templates_create(*, account, template_model, slot_model, new: bool = False) -> int:
    """Give ``account`` the shipped templates it does not have yet (by ``default_key``,
    and never over a template of the same name); how many were made. Takes the models,
    so the data migration can pass its historical ones. ``new``: the clinic was just made (its
    ``post_save``), so it has no templates to look up."""
    existing = (
        []
        if new
        else list(template_model.objects.filter(account=account).values_list("default_key", "name"))
    )
    keys = {key for key, _ in existing}
    names = {name for _, name in existing}
    wanted = [
        (position, spec)
        for position, spec in enumerate(DEFAULT_TEMPLATES)
        if spec["key"] not in keys and spec["name"] not in names
    ]
    # Two inserts in all (the templates, then every slot), not one per template: every
    # new clinic makes these.
    templates = template_model.objects.bulk_create(
        template_model(
            account=account,
            name=spec["name"],
            message=spec["message"],
            default_key=spec["key"],
            position=position,
        )
        for position, spec in wanted
    )
    slot_model.objects.bulk_create(
        slot_model(template=template, label=label, instruction=instruction, position=index)
        for template, (_, spec) in zip(templates, wanted, strict=True)
        for index, (label, instruction) in enumerate(spec["slots"])
    )
    return len(templates)


def clinic_created(sender, instance, created, raw=False, **kwargs):
    """A new clinic starts with the shipped templates (connected in ``apps.ready``)."""
    if not created or raw:
        return

    default_templates_create(
        account=instance, template_model=RequestTemplate, slot_model=TemplateSlot, new=True
    )


class TemplateInputError(ValueError):
    """What a template cannot be; ``field`` names the culprit (``name``, ``slots``...)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def request_template_list(*, account: Account) -> QuerySet:
    return RequestTemplate.objects.filter(account=account).prefetch_related("slots")


def request_template_get(*, account: Account, template_id):
    """The clinic's template with this id; None for a missing, malformed *or another
    clinic's* id (all answer alike)."""
    template_uuid = parse_uuid(template_id) if template_id else None
    if template_uuid is None:
        return None
    return request_template_list(account=account).filter(pk=template_uuid).first()


def slots_clean(slots) -> list[tuple[str, str]]:
    """``[(label, instruction)]`` stripped, empty rows dropped; a label or instruction
    missing, or too many slots, refused."""
    cleaned = []
    for number, (label, instruction) in enumerate(slots, 1):
        label, instruction = (label or "").strip(), (instruction or "").strip()
        if not label and not instruction:
            continue
        if not label or not instruction:
            raise TemplateInputError(
                "slots", f"Photo {number} needs both a short name and an instruction."
            )
        if len(label) > 60 or len(instruction) > 300:
            raise TemplateInputError(
                "slots",
                f"Photo {number}: at most 60 letters for its name, 300 for its instruction.",
            )
        cleaned.append((label, instruction))
    if len(cleaned) > MAX_SLOTS:
        raise TemplateInputError("slots", f"A template asks for at most {MAX_SLOTS} photos.")
    return cleaned


@transaction.atomic
def request_template_save(
    *, account: Account, actor: Actor, name: str, message: str, slots, template=None
):
    """Create a template (``template`` None) or change one, slots and all. Requests
    already sent keep the slots they were sent with."""
    name, message = (name or "").strip(), (message or "").strip()
    if not name:
        raise TemplateInputError("name", "Give the template a name.")
    if not message:
        raise TemplateInputError("message", "Write the message the patient reads.")
    slots = slots_clean(slots)
    taken = RequestTemplate.objects.filter(account=account, name__iexact=name)
    if template is not None:
        taken = taken.exclude(pk=template.pk)
    if taken.exists():
        raise TemplateInputError("name", f"The clinic already has a template called {name}.")
    creating = template is None
    if creating:
        last = RequestTemplate.objects.filter(account=account).order_by("-position").first()
        template = RequestTemplate(account=account, position=(last.position + 1) if last else 0)
    template.name, template.message = name, message
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:
        raise TemplateInputError(
            "name", f"The clinic already has a template called {name}."
        ) from None
    kept = list(template.slots.all()) if not creating else []
    # Slots keep their ids where they stay (by position), so a slot's id means one step.
    for index, (label, instruction) in enumerate(slots):
        if index < len(kept):
            slot = kept[index]
            slot.label, slot.instruction, slot.position = label, instruction, index
            slot.save()
        else:
            TemplateSlot.objects.create(
                template=template, label=label, instruction=instruction, position=index
            )
    for slot in kept[len(slots) :]:
        slot.delete()
    audit_record(
        account=account,
        actor=actor,
        action="request_template.create" if creating else "request_template.update",
        target=template,
        detail={"name": name, "slots": len(slots)},
    )
    return template


@transaction.atomic
def request_template_delete(*, template, actor: Actor) -> None:
    """Delete a template; requests sent from it keep their message and slots."""
    audit_record(
        account=template.account,
        actor=actor,
        action="request_template.delete",
        target=template,
        detail={"name": template.name},
    )
    template.delete()


class UnknownSlot(ValueError):
    """A slot id that is not one of the request's."""


def slot_id_check(*, file_request, slot_id) -> str:
    """The slot id a patient's photo names, checked against the request's own slots: ""
    for none (an extra photo, or a request without slots); ``UnknownSlot`` otherwise."""
    if slot_id in (None, ""):
        return ""
    if not isinstance(slot_id, str) or file_request.slot(slot_id) is None:
        raise UnknownSlot(slot_id)
    return slot_id


def file_slot_record(*, file, file_request, slot_id: str):
    """Record on a file the slot it was sent for, with the slot's label as it was (a
    confirmation repeated with the same photo changes nothing)."""
    slot = file_request.slot(slot_id) if slot_id else None
    if slot is None or file.slot_id == slot_id:
        return file
    file.slot_id, file.slot_label = slot_id, slot["label"][:60]
    file.save(update_fields=["slot_id", "slot_label"])
    return file
