"""Mark reviewed asks for the outcome (a note needed for Other) and can text the patient a
reply from the clinic's reply texts (Settings) through the request text's own send path;
Save to record files the request's PDF and says who saved it, wherever the request is."""

from __future__ import annotations

import pytest

from filerequests import services
from filerequests.models import FileRequest, Notification, Outcome, RecordReport, ReplyTemplate
from filerequests.replies import DEFAULT_TEMPLATES
from filerequests.sms import file_outbox_messages
from files.models import File
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from tests.dashboard.conftest import signed_in_client
from tests.factories import AccountFactory, FileRequestFactory, PatientFactory, StaffFactory
from tests.filerequests.reports import make_report, pdf_text, photo_sent

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(settings, tmp_path):
    settings.SMS_BACKEND = "filerequests.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms" / "outbox.jsonl")
    return settings.SMS_FILE_PATH


@pytest.fixture
def answered(account, clinician, django_capture_on_commit_callbacks):
    patient = PatientFactory(
        account=account, first_name="Nadia", last_name="Rahman", mobile="+447700900123"
    )
    file_request = FileRequestFactory(
        account=account, patient=patient, staff=clinician, prompt="The rash on your arm."
    )
    photo_sent(file_request, django_capture_on_commit_callbacks, name="arm.jpg", note="Itchy")
    file_request.status = FileRequest.Status.ANSWERED
    file_request.save()
    return file_request


def review_url(file_request) -> str:
    return f"/file-requests/{file_request.id}/review/"


def nothing_changed(file_request):
    file_request.refresh_from_db()
    assert file_request.review_outcome == ""
    assert not File.objects.filter(file_request=file_request, reviewed_at__isnull=False)
    assert not Notification.objects.filter(file_request=file_request).exists()
    assert not AuditEvent.objects.filter(
        action__in=["file_request.review", "file_request.outcome", "file_request.reply"]
    ).exists()


def test_mark_reviewed_asks_the_outcome_and_offers_the_clinics_replies(
    clinician_client, answered, account
):
    """GIVEN an answered request WHEN Mark reviewed is opened THEN it offers the four
    outcomes and each of the clinic's reply texts in the patient's words (their first
    name and the clinic's name filled in), and says where the reply goes."""
    assert (
        f'href="/file-requests/{answered.id}/review/"'
        in clinician_client.get(f"/file-requests/{answered.id}/").content.decode()
    )
    html = clinician_client.get(review_url(answered)).content.decode()
    for label in ("No action needed", "Appointment needed", "Referred", "Other"):
        assert label in html
    assert f"{account.name}: thank you for sending your photos, Nadia." in html
    assert "{first_name}" not in html and "{clinic}" not in html
    assert "Sent to +44 7700 900123, as a text." in html
    assert "RAHMAN, Nadia" in html  # the patient banner


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({}, "Choose an outcome."),
        ({"outcome": ""}, "Choose an outcome."),
        ({"outcome": "OTHER"}, "Select a valid choice."),
        ({"outcome": "delete"}, "Select a valid choice."),
        ({"outcome": "x" * 5000}, "Select a valid choice."),
        ({"outcome": "other"}, "Write a note saying what happens next: the outcome is Other."),
        (
            {"outcome": "other", "note": "   \n\t "},
            "Write a note saying what happens next: the outcome is Other.",
        ),
        ({"outcome": "referred", "note": "x" * 2001}, "at most 2000 characters"),
        (
            {"outcome": "no_action", "reply": "own", "reply_text": "  "},
            "Write the text message, or choose a template.",
        ),
        (
            {"outcome": "no_action", "reply": "own", "reply_text": "x" * 613},
            "at most 612 characters",
        ),
        ({"outcome": "no_action", "reply": "999999"}, "Select a valid choice."),
    ],
    ids=[
        "no outcome",
        "blank outcome",
        "wrong case",
        "unknown outcome",
        "huge outcome",
        "other without note",
        "other with blank note",
        "note too long",
        "own words empty",
        "own words too long",
        "unknown template",
    ],
)
def test_a_review_the_form_refuses_changes_nothing(
    clinician_client, answered, outbox, data, field_message
):
    """GIVEN an answered request WHEN Mark reviewed is sent without an outcome, with one
    not on the list, Other without a note, or a reply that cannot be sent THEN 400 with
    the message beside the field, nothing reviewed, recorded, texted or audited."""
    response = clinician_client.post(review_url(answered), data)
    assert response.status_code == 400
    assert field_message in response.content.decode()
    nothing_changed(answered)
    assert file_outbox_messages(outbox) == []


def test_another_clinics_reply_text_cannot_be_sent(clinician_client, answered, outbox):
    """GIVEN another clinic's reply text WHEN its id is posted as the reply THEN refused
    as not a choice: a clinic texts only its own words."""
    foreign = ReplyTemplate.objects.filter(account=AccountFactory()).first()
    response = clinician_client.post(
        review_url(answered), {"outcome": "no_action", "reply": str(foreign.pk)}
    )
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    nothing_changed(answered)


def test_a_patient_without_a_mobile_cannot_be_texted(clinician_client, answered, outbox):
    answered.patient.mobile = ""
    answered.patient.save()
    template = answered.account.reply_templates.first()
    response = clinician_client.post(
        review_url(answered), {"outcome": "no_action", "reply": str(template.pk)}
    )
    assert response.status_code == 400
    assert "The patient has no mobile number to text a reply to." in response.content.decode()
    nothing_changed(answered)


def test_other_with_a_note_is_recorded_without_texting(
    clinician_client, clinician, answered, outbox
):
    """GIVEN Other with a note and no reply WHEN sent THEN the outcome and note are on the
    request page with who and when, the file is reviewed, nothing is texted."""
    response = clinician_client.post(
        review_url(answered),
        {"outcome": "other", "note": "Discussed with Dr Patel; review in clinic.", "reply": ""},
        follow=True,
    )
    html = response.content.decode()
    assert "Outcome recorded for Nadia Rahman: Other." in html
    assert "Discussed with Dr Patel; review in clinic." in html
    assert "Recorded by Dr Cal Clinician" in html
    answered.refresh_from_db()
    assert answered.review_outcome == Outcome.OTHER
    assert answered.review_outcome_by_id == clinician.id
    assert not Notification.objects.filter(file_request=answered).exists()
    event = AuditEvent.objects.get(action="file_request.outcome")
    assert event.detail == {"outcome": "other", "note": True}


def test_a_reply_is_texted_through_the_request_texts_path_and_audited(
    clinician_client, clinician, answered, outbox, django_capture_on_commit_callbacks
):
    """GIVEN Appointment needed and the clinic's "Please book an appointment" reply WHEN
    sent THEN a text message is queued on the request's own send task, sent by it to
    the patient's mobile in the template's words for her, audited, and shown on the
    request as a reply (not as a resent link)."""
    template = answered.account.reply_templates.get(name="Please book an appointment")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = clinician_client.post(
            review_url(answered),
            {"outcome": "appointment", "reply": str(template.pk)},
        )
    assert response.status_code == 302
    notification = Notification.objects.get(file_request=answered)
    assert len(queued) == 1  # the send task, once the review commits
    services.notification_send(notification_id=notification.id)
    (message,) = file_outbox_messages(outbox)
    assert message["to"] == "+447700900123"
    expected = (
        f"{answered.account.name}: thank you for your photos, Nadia. A clinician has "
        "looked at them and would like to see you. Please call us to book an appointment."
    )
    assert message["body"] == expected
    assert "/r/" not in message["body"]  # a reply carries no link
    event = AuditEvent.objects.get(action="file_request.reply")
    assert event.actor_id == str(clinician.id)
    assert event.detail["template"] == "Please book an appointment"
    assert AuditEvent.objects.filter(action="file_request.notification_sent").exists()
    html = clinician_client.get(f"/file-requests/{answered.id}/").content.decode()
    assert "Appointment needed" in html
    assert expected in html and "Reply after review" in html
    answered.refresh_from_db()
    assert answered.latest_notification is None  # the link text is still the request's own


def test_a_reply_in_own_words_is_sent_as_written(
    clinician_client, answered, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        clinician_client.post(
            review_url(answered),
            {
                "outcome": "referred",
                "reply": "own",
                "reply_text": " Dermatology will ring you this week. ",
            },
        )
    services.notification_send(notification_id=Notification.objects.get().id)
    (message,) = file_outbox_messages(outbox)
    assert message["body"] == "Dermatology will ring you this week."
    assert AuditEvent.objects.get(action="file_request.reply").detail["template"] == ""


def test_save_to_record_makes_the_pdf_and_says_who_saved_it_everywhere(
    clinician_client, clinician, answered, django_capture_on_commit_callbacks
):
    """GIVEN a reviewed request WHEN Save to record is pressed THEN the request page says
    the PDF is being made, then "Saved to record by <name> at <time>" with a download of
    a PDF holding the outcome; the inbox and the request list say it too; audited."""
    clinician_client.post(review_url(answered), {"outcome": "no_action"})
    with django_capture_on_commit_callbacks(execute=False):
        response = clinician_client.post(
            f"/file-requests/{answered.id}/save-to-record/", follow=True
        )
    html = response.content.decode()
    assert "The PDF is being made" in html
    assert "Saved to record by Dr Cal Clinician at" in html
    report = RecordReport.objects.get()
    make_report(report, django_capture_on_commit_callbacks, Actor.for_staff(clinician))
    html = clinician_client.get(f"/file-requests/{answered.id}/").content.decode()
    assert "Download the PDF" in html
    download = clinician_client.get(f"/file-requests/{answered.id}/report/")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    text = pdf_text(b"".join(download.streaming_content))
    assert "RAHMAN, Nadia" in text and "No action needed" in text
    listing = clinician_client.get("/file-requests/").content.decode()
    assert "Saved to record" in listing and "Outcome: No action needed" in listing
    record = clinician_client.get(f"/patients/{answered.patient_id}/").content.decode()
    assert "Outcome: No action needed · Saved to record by Dr Cal Clinician at" in record
    assert AuditEvent.objects.filter(
        action="file_request.save_to_record", actor_id=str(clinician.id)
    ).exists()
    # Pressed again with nothing changed: the PDF at once, no second copy in the record.
    again = clinician_client.post(f"/file-requests/{answered.id}/save-to-record/")
    assert again["Location"] == f"/file-requests/{answered.id}/report/"
    assert RecordReport.objects.count() == 1


def test_save_to_record_of_a_request_nothing_answered_says_why(clinician_client, account):
    waiting = FileRequestFactory(account=account)
    response = clinician_client.post(f"/file-requests/{waiting.id}/save-to-record/", follow=True)
    assert "Nothing to save yet: no photos have arrived for this request." in (
        response.content.decode()
    )
    assert not RecordReport.objects.exists()
    page = clinician_client.get(f"/file-requests/{waiting.id}/report/", follow=True)
    assert "This request has not been saved to the record yet." in page.content.decode()


def test_every_clinic_starts_with_the_default_replies_and_edits_them(admin_client, account):
    """GIVEN a new clinic THEN it has the default reply texts; WHEN its admin adds,
    edits and deletes one THEN the list says so, each change audited; a name the
    clinic already uses, or an empty text, is refused in words."""
    names = [name for name, _ in DEFAULT_TEMPLATES]
    assert list(account.reply_templates.values_list("name", flat=True)) == names
    html = admin_client.get("/settings/reply-texts/").content.decode()
    assert all(name in html for name in names)

    added = admin_client.post(
        "/settings/reply-texts/",
        {"name": "Cream", "body": "{clinic}: please use the cream twice a day, {first_name}."},
        follow=True,
    )
    assert "Added the reply text “Cream”." in added.content.decode()
    template = account.reply_templates.get(name="Cream")
    taken = admin_client.post(
        f"/settings/reply-texts/{template.pk}/", {"name": "Referred", "body": "x"}
    )
    assert taken.status_code == 400
    assert "The clinic already has a template called “Referred”." in taken.content.decode()
    empty = admin_client.post("/settings/reply-texts/", {"name": "Empty", "body": " "})
    assert empty.status_code == 400
    assert "Write the words of the text message." in empty.content.decode()
    admin_client.post(
        f"/settings/reply-texts/{template.pk}/", {"name": "Cream", "body": "Use the cream."}
    )
    template.refresh_from_db()
    assert template.body == "Use the cream."
    admin_client.post(f"/settings/reply-texts/{template.pk}/delete/")
    assert not account.reply_templates.filter(name="Cream").exists()
    actions = list(
        AuditEvent.objects.filter(action__startswith="reply_template.")
        .order_by("occurred_at")
        .values_list("action", flat=True)
    )
    assert actions == ["reply_template.create", "reply_template.change", "reply_template.delete"]


def test_another_clinics_reply_text_is_not_found_in_settings(admin_client):
    foreign = ReplyTemplate.objects.filter(account=AccountFactory()).first()
    for method, url in (
        ("get", f"/settings/reply-texts/{foreign.pk}/"),
        ("post", f"/settings/reply-texts/{foreign.pk}/"),
        ("post", f"/settings/reply-texts/{foreign.pk}/delete/"),
        ("get", "/settings/reply-texts/not-a-number/"),
    ):
        assert getattr(admin_client, method)(url, {"name": "Mine", "body": "x"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.name == DEFAULT_TEMPLATES[0][0]


def test_review_and_save_of_another_clinics_request_are_not_found(answered, outbox):
    """GIVEN clinic A's answered request WHEN clinic B's staff open or post Mark reviewed,
    Save to record or the report THEN 404, nothing recorded, made or texted."""
    other = signed_in_client(StaffFactory(account=AccountFactory()))
    template = answered.account.reply_templates.first()
    for method, url, data in (
        ("get", review_url(answered), {}),
        ("post", review_url(answered), {"outcome": "no_action", "reply": str(template.pk)}),
        ("post", f"/file-requests/{answered.id}/save-to-record/", {}),
        ("get", f"/file-requests/{answered.id}/report/", {}),
    ):
        assert getattr(other, method)(url, data).status_code == 404, url
    nothing_changed(answered)
    assert not RecordReport.objects.exists()


def test_the_inbox_asks_the_outcome_and_saves_to_record(
    clinician_client, clinician, answered, django_capture_on_commit_callbacks
):
    """GIVEN an answered request in the inbox WHEN its row is read THEN Mark reviewed
    leads to the outcome form (and back to the inbox), and Save to record saves it from
    there, back to the inbox, whose row then says who saved it and when."""
    html = clinician_client.get("/inbox/").content.decode()
    assert f'href="/file-requests/{answered.id}/review/?next=inbox"' in html
    form = clinician_client.get(f"/file-requests/{answered.id}/review/?next=inbox")
    assert '<input type="hidden" name="next" value="inbox">' in form.content.decode()
    assert f'action="/file-requests/{answered.id}/save-to-record/"' in html
    with django_capture_on_commit_callbacks(execute=False):
        saved = clinician_client.post(
            f"/file-requests/{answered.id}/save-to-record/", {"next": "inbox"}, follow=True
        )
    assert saved.redirect_chain[-1][0] == "/inbox/"
    html = saved.content.decode()
    assert "record. The PDF is being made" in html
    assert "Saved to record by Dr Cal Clinician at" in html
    reviewed = clinician_client.post(
        f"/file-requests/{answered.id}/review/", {"outcome": "no_action", "next": "inbox"}
    )
    assert reviewed["Location"] == "/inbox/"
