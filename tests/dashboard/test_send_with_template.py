"""The dashboard's send-request form: a template picked (its message prefilled and
editable, its photo slots copied), and the body site picked from the searchable list."""

from __future__ import annotations

import pytest

from filerequests.models import FileRequest, RequestTemplate
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NEW = "/file-requests/new/"


@pytest.fixture
def patient(account):
    return PatientFactory(account=account, mobile="+447911123456")


def send(client, patient, **data):
    return client.post(NEW, {"patient": patient.id, "expires_in_days": "7", **data})


def test_the_form_offers_the_clinics_templates_and_the_body_sites(clinician_client, account):
    html = clinician_client.get(NEW).content.decode()
    for name in ("Mole or skin lesion", "Rash", "Wound", "General photo"):
        assert f">{name}</option>" in html
    assert 'list="body-site-list"' in html
    assert '<option value="Left forearm">' in html
    assert '<option value="Scalp">' in html
    assert "Close-up with a coin beside it for size." in html  # the script's data


def test_a_template_with_its_message_left_empty_sends_its_message_and_slots(
    clinician_client, account, patient
):
    mole = RequestTemplate.objects.get(account=account, default_key="mole")
    answer = send(
        clinician_client, patient, template=str(mole.pk), prompt="", body_site="left forearm"
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    sent = FileRequest.objects.get(patient=patient)
    assert sent.prompt == mole.message
    assert [s["label"] for s in sent.slots] == [
        "Where it is",
        "Close-up",
        "With a coin",
        "From the side",
    ]
    assert (sent.body_site_code, sent.body_site_side) == ("14975008", "left")
    assert "Left forearm" in clinician_client.get(answer["Location"]).content.decode()


def test_the_message_edited_for_one_request_is_sent_as_written(clinician_client, account, patient):
    rash = RequestTemplate.objects.get(account=account, default_key="rash")
    send(clinician_client, patient, template=str(rash.pk), prompt="The rash on your back.")
    sent = FileRequest.objects.get(patient=patient)
    assert sent.prompt == "The rash on your back." and len(sent.slots) == 3


def test_without_a_template_or_words_the_form_asks_for_words(clinician_client, patient):
    answer = send(clinician_client, patient, prompt="")
    assert answer.status_code == 400
    assert "Say what the patient should photograph." in answer.content.decode()


@pytest.mark.parametrize(
    ("body_site", "words"),
    [
        ("Left elbowpit", "Choose a body site from the list."),
        ("Left scalp", "Choose a body site from the list."),
        ("14975008", "Choose a body site from the list."),
        ("<script>alert(1)</script>", "Choose a body site from the list."),
        ("x" * 61, "Ensure this value has at most 60 characters"),
    ],
)
def test_a_body_site_not_in_the_list_is_refused(clinician_client, patient, body_site, words):
    answer = send(clinician_client, patient, prompt="Photos please.", body_site=body_site)
    assert answer.status_code == 400
    assert words in answer.content.decode()
    assert not FileRequest.objects.filter(patient=patient).exists()


@pytest.mark.parametrize("template", ["another clinic's", "not-an-id"])
def test_another_clinics_template_is_refused(clinician_client, other_account, patient, template):
    if template == "another clinic's":
        template = str(RequestTemplate.objects.filter(account=other_account).first().pk)
    answer = send(clinician_client, patient, template=template, prompt="Photos please.")
    assert answer.status_code == 400
    assert "Select a valid choice." in answer.content.decode()
    assert not FileRequest.objects.filter(patient=patient).exists()
