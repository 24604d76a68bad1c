"""Request templates: the shipped defaults, a clinic's own edits, ``templateId`` on the
file-requests API (another clinic's template refused), and the body site on a request."""

from __future__ import annotations

import importlib
import uuid

import pytest
from django.apps import apps as global_apps

from filerequests import request_templates
from filerequests.models import FileRequest, RequestTemplate
from filerequests.request_templates import (
    TemplateInputError,
    request_template_delete,
    request_template_save,
)
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from tests.filerequests.test_filerequests_api import create

pytestmark = pytest.mark.django_db

DEFAULT_NAMES = ["Mole or skin lesion", "Rash", "Wound", "General photo"]


def templates_of(account) -> list[RequestTemplate]:
    return list(RequestTemplate.objects.filter(account=account).prefetch_related("slots"))


# --- The shipped defaults ---------------------------------------------------------------


def test_a_new_clinic_starts_with_the_four_shipped_templates(account):
    templates = templates_of(account)
    assert [t.name for t in templates] == DEFAULT_NAMES
    mole = templates[0]
    assert [s.label for s in mole.slots.all()] == [
        "Where it is",
        "Close-up",
        "With a coin",
        "From the side",
    ]
    instructions = [s.instruction for s in mole.slots.all()]
    assert instructions[0].startswith("Where it is: from about 30 cm")
    assert instructions[1].startswith("Close-up, in focus")
    assert instructions[2] == "Close-up with a coin beside it for size."
    assert instructions[3] == "From the side, if it is raised above the skin."
    assert all(t.message for t in templates)
    assert [len(t.slots.all()) for t in templates] == [4, 3, 3, 1]


def test_the_data_migration_gives_existing_clinics_the_defaults_once(account, other_account):
    """GIVEN clinics that existed before templates (their templates gone) and one that had
    renamed nothing WHEN the migration's step runs twice THEN each clinic has the four
    defaults exactly once."""
    RequestTemplate.objects.filter(account=account).delete()
    migration = importlib.import_module("filerequests.migrations.0009_request_templates_body_site")
    migration.defaults_for_every_clinic(global_apps, None)
    migration.defaults_for_every_clinic(global_apps, None)
    for clinic in (account, other_account):
        assert [t.name for t in templates_of(clinic)] == DEFAULT_NAMES


def test_defaults_never_overwrite_a_clinics_own_template_of_the_same_name(account):
    RequestTemplate.objects.filter(account=account, default_key="rash").update(
        default_key="", message="Our own rash words."
    )
    request_templates.default_templates_create(
        account=account, template_model=RequestTemplate, slot_model=request_templates_slot()
    )
    rash = RequestTemplate.objects.get(account=account, name="Rash")
    assert rash.message == "Our own rash words."
    assert RequestTemplate.objects.filter(account=account).count() == 4


def request_templates_slot():
    from filerequests.models import TemplateSlot

    return TemplateSlot


# --- A clinic's own edits ---------------------------------------------------------------


def test_a_clinic_adds_edits_and_deletes_its_own_template(account, staff):
    actor = Actor.for_staff(staff)
    made = request_template_save(
        account=account,
        actor=actor,
        name="Eczema review",
        message="Please send photos of your eczema.",
        slots=[("Worst area", "The worst area, close up."), ("", ""), ("Hands", "Both hands.")],
    )
    assert [(s.label, s.instruction) for s in made.slots.all()] == [
        ("Worst area", "The worst area, close up."),
        ("Hands", "Both hands."),
    ]
    first_slot_id = made.slots.all()[0].id
    request_template_save(
        account=account,
        actor=actor,
        template=made,
        name="Eczema check",
        message="Please send photos.",
        slots=[("Worst area", "The worst area, in focus.")],
    )
    made.refresh_from_db()
    assert made.name == "Eczema check"
    assert [(s.id, s.instruction) for s in made.slots.all()] == [
        (first_slot_id, "The worst area, in focus.")
    ]
    made_id = made.pk
    request_template_delete(template=made, actor=actor)
    assert not RequestTemplate.objects.filter(pk=made_id).exists()
    actions = list(
        AuditEvent.objects.filter(target_id=str(made_id))
        .order_by("occurred_at")
        .values_list("action", flat=True)
    )
    assert actions == [
        "request_template.create",
        "request_template.update",
        "request_template.delete",
    ]


@pytest.mark.parametrize(
    ("name", "message", "slots", "field", "words"),
    [
        ("", "Message", [], "name", "Give the template a name."),
        ("   ", "Message", [], "name", "Give the template a name."),
        ("Name", "", [], "message", "Write the message the patient reads."),
        ("Name", "Message", [("Label", "")], "slots", "Photo 1 needs both"),
        ("Name", "Message", [("", "Instruction")], "slots", "Photo 1 needs both"),
        ("Name", "Message", [("L" * 61, "I")], "slots", "at most 60 letters"),
        ("Name", "Message", [("L", "I" * 301)], "slots", "300 for its instruction"),
        ("Name", "Message", [("L", "I")] * 9, "slots", "at most 8 photos"),
        ("rash", "Message", [], "name", "already has a template called rash"),
    ],
)
def test_a_template_that_cannot_be_is_refused_naming_the_field(
    account, staff, name, message, slots, field, words
):
    with pytest.raises(TemplateInputError) as refused:
        request_template_save(
            account=account, actor=Actor.for_staff(staff), name=name, message=message, slots=slots
        )
    assert refused.value.field == field
    assert words in refused.value.message


def test_a_name_another_clinic_uses_is_free_here(account, other_account, staff):
    request_template_save(
        account=other_account,
        actor=Actor.system(),
        name="Acne",
        message="Photos of the acne, please.",
        slots=[],
    )
    mine = request_template_save(
        account=account, actor=Actor.for_staff(staff), name="Acne", message="M", slots=[]
    )
    assert mine.account == account


def test_editing_a_template_leaves_requests_already_sent_as_they_were(api, account):
    mole = RequestTemplate.objects.get(account=account, default_key="mole")
    sent = create(api, account, prompt="", templateId=str(mole.id)).json()
    request_template_save(
        account=account,
        actor=Actor.system(),
        template=mole,
        name="Mole",
        message="New words",
        slots=[("Only one", "Just one photo.")],
    )
    request_template_delete(template=mole, actor=Actor.system())
    again = api.get(f"/api/v1/file-requests/{sent['id']}").json()
    assert [s["label"] for s in again["slots"]] == [
        "Where it is",
        "Close-up",
        "With a coin",
        "From the side",
    ]
    assert again["prompt"].startswith("Please send photos of the mole")
    assert again["templateId"] is None  # the template is gone; its copy stays


# --- templateId on the API -------------------------------------------------------------


def test_api_template_id_copies_the_slots_and_prefills_an_empty_prompt(api, account):
    mole = RequestTemplate.objects.get(account=account, default_key="mole")
    answer = create(api, account, prompt=..., templateId=str(mole.id))
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["templateId"] == str(mole.id)
    assert body["prompt"] == mole.message
    assert [(s["id"], s["label"], s["instruction"]) for s in body["slots"]] == [
        (str(s.id), s.label, s.instruction) for s in mole.slots.all()
    ]
    stored = FileRequest.objects.get(pk=body["id"])
    assert stored.template == mole and len(stored.slots) == 4


def test_api_prompt_sent_with_a_template_is_kept_as_written(api, account):
    rash = RequestTemplate.objects.get(account=account, default_key="rash")
    body = create(api, account, prompt="Your rash on the left arm.", templateId=str(rash.id))
    assert body.json()["prompt"] == "Your rash on the left arm."
    assert len(body.json()["slots"]) == 3


def test_api_without_a_template_is_as_before(api, account):
    body = create(api, account).json()
    assert body["templateId"] is None and body["slots"] == [] and body["bodySite"] is None


@pytest.mark.parametrize(
    "template_id",
    [
        "another clinic's",
        str(uuid.uuid4()),
        "not-a-uuid",
        "' OR 1=1 --",
        "0" * 64,
        str(uuid.uuid4()).upper(),
    ],
)
def test_api_template_id_of_another_clinic_or_none_is_refused_naming_the_field(
    api, account, other_account, template_id
):
    if template_id == "another clinic's":
        template_id = str(RequestTemplate.objects.filter(account=other_account).first().id)
    answer = create(api, account, templateId=template_id)
    assert answer.status_code == 400
    assert answer.json()["fields"]["templateId"] == [
        "No request template with this id in your clinic."
    ]
    assert not FileRequest.objects.filter(account=account).exists()


@pytest.mark.parametrize("template_id", [123, ["x"], {"id": "x"}, "x" * 65])
def test_api_template_id_of_the_wrong_shape_is_refused(api, account, template_id):
    answer = create(api, account, templateId=template_id)
    assert answer.status_code == 400 and "templateId" in answer.json()["fields"]


def test_api_template_id_null_or_empty_means_none(api, account):
    for value in (None, ""):
        answer = create(api, account, templateId=value)
        assert answer.status_code == 200 and answer.json()["templateId"] is None


# --- Body site on the request -------------------------------------------------------------


def test_api_body_site_is_stored_and_answered_with_its_snomed_code(api, account):
    answer = create(api, account, bodySite={"code": "14975008", "laterality": "left"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["bodySite"] == {
        "system": "http://snomed.info/sct",
        "code": "14975008",
        "display": "Forearm",
        "label": "Left forearm",
        "laterality": "left",
    }
    stored = FileRequest.objects.get(pk=answer.json()["id"])
    assert (stored.body_site_code, stored.body_site_side) == ("14975008", "left")


@pytest.mark.parametrize(
    "body_site",
    [
        {"code": "123456"},  # not in the list
        {"code": "14975008 "},  # trimmed by the API: the forearm, as meant (below)
        {"code": "7771000"},  # the laterality qualifier is no site
        {"code": "43067004", "laterality": "left"},  # the scalp has no side
        {"code": "14975008", "laterality": "middle"},
        {"code": "14975008", "laterality": "LEFT"},
        {"code": "'; DROP TABLE files_file; --"},
        {"code": "\uff11\uff14\uff19\uff17\uff15\uff10\uff10\uff18"},  # full-width digits
        {"code": ""},
        {"laterality": "left"},
        {"code": "14975008", "extra": "x"},
        "14975008",
    ],
)
def test_api_body_site_not_in_the_shipped_list_is_refused(api, account, body_site):
    answer = create(api, account, bodySite=body_site)
    if body_site == {"code": "14975008 "}:
        # DRF trims the string: the forearm, as meant.
        assert answer.status_code == 200
        return
    assert answer.status_code == 400, answer.content
    fields = answer.json()["fields"]
    assert [name for name in fields if name.split(".")[0] == "bodySite"], fields
    assert not FileRequest.objects.filter(account=account).exists()
