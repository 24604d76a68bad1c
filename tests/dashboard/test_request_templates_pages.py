"""Settings → Request templates: a clinic's admins list, add, edit and delete the
templates staff pick when sending; another clinic's template is a 404 on every page."""

from __future__ import annotations

import pytest

from filerequests.models import RequestTemplate

pytestmark = pytest.mark.django_db

LIST = "/settings/request-templates/"


def form_data(**overrides) -> dict:
    data = {
        "name": "Eczema review",
        "message": "Please send photos of your eczema.",
        "slot_label_1": "Worst area",
        "slot_instruction_1": "The worst area, close up and in focus.",
        "slot_label_2": "",
        "slot_instruction_2": "",
        "slot_label_3": "Hands",
        "slot_instruction_3": "Both hands, backs up.",
    }
    data.update(overrides)
    return data


def test_the_list_shows_the_shipped_templates_with_their_photos(admin_client, account):
    page = admin_client.get(LIST)
    assert page.status_code == 200
    html = page.content.decode()
    for name in ("Mole or skin lesion", "Rash", "Wound", "General photo"):
        assert name in html
    assert "Close-up with a coin beside it for size." in html
    assert "4 templates" in html
    mole = RequestTemplate.objects.get(account=account, default_key="mole")
    assert f'<code class="id">{mole.pk}</code>' in html  # the id the API's templateId takes


def test_an_admin_adds_a_template_with_its_photo_slots(admin_client, account):
    answer = admin_client.post(LIST, form_data())
    assert answer.status_code == 302
    made = RequestTemplate.objects.get(account=account, name="Eczema review")
    assert [(s.label, s.instruction) for s in made.slots.all()] == [
        ("Worst area", "The worst area, close up and in focus."),
        ("Hands", "Both hands, backs up."),
    ]
    assert "Added the request template “Eczema review”." in admin_client.get(LIST).content.decode()


def test_an_admin_edits_a_shipped_template(admin_client, account):
    mole = RequestTemplate.objects.get(account=account, default_key="mole")
    page = admin_client.get(f"{LIST}{mole.pk}/")
    assert page.status_code == 200
    assert 'value="Close-up with a coin beside it for size."' in page.content.decode()
    answer = admin_client.post(
        f"{LIST}{mole.pk}/",
        form_data(name="Mole", message="Photos of the mole, please."),
    )
    assert answer.status_code == 302
    mole.refresh_from_db()
    assert mole.name == "Mole" and mole.message == "Photos of the mole, please."
    assert [s.label for s in mole.slots.all()] == ["Worst area", "Hands"]


def test_an_admin_deletes_a_template(admin_client, account):
    rash = RequestTemplate.objects.get(account=account, default_key="rash")
    assert admin_client.post(f"{LIST}{rash.pk}/delete/").status_code == 302
    assert not RequestTemplate.objects.filter(pk=rash.pk).exists()


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"name": ""}, "Give the template a name."),
        ({"message": ""}, "Write the message the patient reads."),
        ({"slot_instruction_1": ""}, "Photo 1 needs both a short name and an instruction."),
        ({"name": "Rash"}, "The clinic already has a template called Rash."),
        ({"slot_label_1": "x" * 61}, "Ensure this value has at most 60 characters"),
    ],
)
def test_a_template_that_cannot_be_is_refused_in_words(admin_client, account, overrides, words):
    answer = admin_client.post(LIST, form_data(**overrides))
    assert answer.status_code == 400
    assert words in answer.content.decode()
    assert RequestTemplate.objects.filter(account=account).count() == 4


def test_clinicians_cannot_change_templates(clinician_client, account):
    mole = RequestTemplate.objects.get(account=account, default_key="mole")
    assert clinician_client.get(LIST).status_code == 403
    assert clinician_client.post(LIST, form_data()).status_code == 403
    assert clinician_client.post(f"{LIST}{mole.pk}/delete/").status_code == 403
    assert RequestTemplate.objects.filter(account=account).count() == 4


@pytest.mark.parametrize("suffix", ["", "delete/"])
@pytest.mark.parametrize(
    "template_id",
    ["another clinic's", "00000000-0000-0000-0000-000000000000", "not-an-id", "1"],
)
def test_another_clinics_template_is_not_found(admin_client, other_account, template_id, suffix):
    if template_id == "another clinic's":
        template_id = RequestTemplate.objects.filter(account=other_account).first().pk
    url = f"{LIST}{template_id}/{suffix}"
    if suffix:
        assert admin_client.post(url).status_code == 404
    else:
        assert admin_client.get(url).status_code == 404
        assert admin_client.post(url, form_data()).status_code == 404
    assert RequestTemplate.objects.filter(account=other_account).count() == 4
    assert RequestTemplate.objects.filter(account=other_account, name="Eczema review").count() == 0
