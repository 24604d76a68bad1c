"""The review loop: the inbox of files patients sent (the clinic's and mine), its count
in the menu and the tab title, Mark reviewed, Ask for more, and the e-mail to the staff
member who asked (when they chose it)."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from filerequests import services
from filerequests.models import FileRequest, Notification
from filerequests.staff_notifications import photos_arrived_email_send
from files.models import File
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from tests.dashboard.conftest import signed_in_client
from tests.factories import FileFactory, FileRequestFactory, PatientFactory, StaffFactory

pytestmark = pytest.mark.django_db

# Mark reviewed asks for the outcome (tests/dashboard/test_review_outcome.py).
DONE = {"outcome": "no_action"}


def sent_file(file_request, *, name="arm.jpg", state=File.State.READY) -> File:
    made_as = {File.State.READY: {"ready": True}, File.State.REJECTED: {"rejected": True}}
    return FileFactory(
        file_request=file_request, original_name=name, state=state, **made_as.get(state, {})
    )


@pytest.fixture
def clinic(account, clinician, other_account):
    colleague = StaffFactory(account=account, display_name="Dr Col League")
    nadia = PatientFactory(account=account, first_name="Nadia", last_name="Rahman")
    omar = PatientFactory(account=account, first_name="Omar", last_name="Haddad")
    mine = FileRequestFactory(
        account=account, patient=nadia, staff=clinician, prompt="The mole on your shoulder."
    )
    theirs = FileRequestFactory(account=account, patient=omar, staff=colleague)
    for name in ("a.jpg", "b.jpg"):
        sent_file(mine, name=name)
    sent_file(mine, name="busy.jpg", state=File.State.PROCESSING)
    sent_file(theirs, name="c.jpg", state=File.State.REJECTED)
    for request in (mine, theirs):
        request.status = FileRequest.Status.ANSWERED
        request.save()
    foreign = FileRequestFactory(account=other_account)
    sent_file(foreign, name="foreign.jpg")
    return {"mine": mine, "theirs": theirs, "colleague": colleague}


def test_the_inbox_lists_what_waits_for_review(clinician_client, clinic):
    """GIVEN my request with 2 ready files (and 1 still processing), a colleague's with a
    rejected file, and another clinic's
    WHEN I open the inbox, then "Requests I sent"
    THEN the clinic view lists both requests (2 new, 1 new), mine only mine; the menu says
    3 and the tab title starts with (3); the other clinic's is nowhere."""
    html = clinician_client.get("/inbox/").content.decode()
    assert "Nadia Rahman" in html and "Omar Haddad" in html
    assert "2 new" in html and "1 new" in html
    assert "<title>(3) Inbox" in html
    assert 'data-review-count="clinic">3<' in html
    assert "foreign" not in html
    mine = clinician_client.get("/inbox/", {"view": "mine"}).content.decode()
    assert "Nadia Rahman" in mine and "Omar Haddad" not in mine
    assert 'data-review-count="mine">2<' in mine


def test_the_live_status_gives_counts_and_my_latest_arrivals(clinician_client, clinic):
    response = clinician_client.get("/inbox/status/")
    assert response["Cache-Control"] == "no-store, private"
    body = json.loads(response.content)
    assert (body["clinic"], body["mine"]) == (3, 2)
    assert [arrival["id"] for arrival in body["arrivals"]] == [str(clinic["mine"].id)]
    assert "Nadia" not in response.content.decode()


def test_every_page_shows_the_count_in_the_menu_and_title(clinician_client, clinic):
    html = clinician_client.get("/patients/").content.decode()
    assert "<title>(3) Patients" in html
    assert "(3 to review)" in html


def test_an_answered_request_offers_review_and_ask_for_more(clinician_client, clinic):
    """GIVEN an answered request WHEN its page is opened THEN it offers Mark reviewed and
    Ask for more, not Resend text and Cancel request; a request still waiting offers
    Resend and Cancel."""
    html = clinician_client.get(f"/file-requests/{clinic['mine'].id}/").content.decode()
    assert "Mark reviewed" in html and "Ask for more" in html
    assert "Resend text" not in html and "Cancel request" not in html
    waiting = FileRequestFactory(account=clinic["mine"].account)
    html = clinician_client.get(f"/file-requests/{waiting.id}/").content.decode()
    assert "Resend text" in html and "Cancel request" in html
    assert "Mark reviewed" not in html


def test_mark_reviewed_records_who_and_when_and_empties_the_inbox(
    clinician_client, clinician, clinic
):
    """GIVEN my request with 2 ready files and 1 processing WHEN I press Mark reviewed
    THEN the 2 are reviewed by me (audited with their ids), the processing one waits,
    the inbox no longer lists the request, and the page says who reviewed it; pressing
    again changes nothing."""
    request = clinic["mine"]
    response = clinician_client.post(f"/file-requests/{request.id}/review/", DONE, follow=True)
    html = response.content.decode()
    assert "Marked 2 files from Nadia Rahman as reviewed by you." in html
    assert "Reviewed by Dr Cal Clinician" not in html  # one file is still processing
    reviewed = File.objects.filter(file_request=request, reviewed_at__isnull=False)
    assert sorted(reviewed.values_list("original_name", flat=True)) == ["a.jpg", "b.jpg"]
    assert {f.reviewed_by_id for f in reviewed} == {clinician.id}
    event = AuditEvent.objects.get(action="file_request.review", target_id=str(request.id))
    assert event.actor_id == str(clinician.id) and len(event.detail["file_ids"]) == 2
    inbox = clinician_client.get("/inbox/").content.decode()
    assert "Nadia Rahman" not in inbox and "Omar Haddad" in inbox
    File.objects.filter(original_name="busy.jpg").update(state=File.State.READY)
    clinician_client.post(f"/file-requests/{request.id}/review/", DONE)
    html = clinician_client.get(f"/file-requests/{request.id}/").content.decode()
    assert "Reviewed by Dr Cal Clinician" in html
    again = clinician_client.post(f"/file-requests/{request.id}/review/", DONE, follow=True)
    assert "Nothing new to review" in again.content.decode()
    assert AuditEvent.objects.filter(action="file_request.review").count() == 2


def test_mark_reviewed_from_the_inbox_returns_to_the_inbox(clinician_client, clinic):
    response = clinician_client.post(
        f"/file-requests/{clinic['theirs'].id}/review/", {**DONE, "next": "inbox"}
    )
    assert response["Location"] == "/inbox/"
    response = clinician_client.post(
        f"/file-requests/{clinic['theirs'].id}/review/", {**DONE, "next": "https://evil.example/"}
    )
    assert response["Location"] == f"/file-requests/{clinic['theirs'].id}/"


def test_ask_for_more_sends_a_linked_follow_up_with_the_prompt_prefilled(
    clinician_client, clinician, clinic
):
    """GIVEN an answered request WHEN I choose Ask for more
    THEN the form starts with the first prompt; sent, it makes a new request for the same
    patient with its own link and text message, linked both ways, audited, and the
    first request's files count as reviewed by me."""
    first = clinic["mine"]
    form = clinician_client.get(f"/file-requests/{first.id}/follow-up/").content.decode()
    assert "The mole on your shoulder.</textarea>" in form
    response = clinician_client.post(
        f"/file-requests/{first.id}/follow-up/",
        {"prompt": "One more, from further away please.", "expires_in_days": "3"},
    )
    follow_up = FileRequest.objects.get(follow_up_of=first)
    assert response["Location"] == f"/file-requests/{follow_up.id}/"
    assert follow_up.patient_id == first.patient_id
    assert follow_up.prompt == "One more, from further away please."
    assert follow_up.short_link_id != first.short_link_id
    assert follow_up.staff_id == clinician.id
    assert Notification.objects.filter(file_request=follow_up).count() == 1
    assert AuditEvent.objects.filter(action="file_request.follow_up", target_id=str(first.id))
    assert not File.objects.filter(
        file_request=first, state=File.State.READY, reviewed_at__isnull=True
    ).exists()
    page = clinician_client.get(f"/file-requests/{follow_up.id}/").content.decode()
    assert f'href="/file-requests/{first.id}/"' in page and "Follows up" in page
    page = clinician_client.get(f"/file-requests/{first.id}/").content.decode()
    assert f'href="/file-requests/{follow_up.id}/"' in page and "Followed up by" in page


@pytest.mark.parametrize(
    "form",
    [
        {"prompt": "", "expires_in_days": "7"},
        {"prompt": "   ", "expires_in_days": "7"},
        {"prompt": "x" * 1001, "expires_in_days": "7"},
        {"prompt": "More", "expires_in_days": "365"},
        {"prompt": "More", "expires_in_days": "-1"},
    ],
)
def test_a_bad_follow_up_is_refused_and_nothing_is_sent(clinician_client, clinic, form):
    response = clinician_client.post(f"/file-requests/{clinic['mine'].id}/follow-up/", form)
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert not FileRequest.objects.filter(follow_up_of=clinic["mine"]).exists()


def test_the_e_mail_goes_once_to_who_asked_when_they_chose_it(clinic, clinician):
    """GIVEN my request answered with two files
    WHEN the e-mail step runs before I opt in, after I opt in, and again (a retried task)
    THEN nothing, then one e-mail to me naming no patient, then nothing more."""
    request = clinic["mine"]
    ids = [str(f.id) for f in request.files.all()]
    assert not photos_arrived_email_send(file_request_id=str(request.id), file_ids=ids)
    clinician.notify_photos_by_email = True
    clinician.save()
    assert photos_arrived_email_send(file_request_id=str(request.id), file_ids=ids)
    assert not photos_arrived_email_send(file_request_id=str(request.id), file_ids=ids[::-1])
    (message,) = mail.outbox
    assert message.to == [clinician.user.email]
    assert "3 new files" in message.subject
    assert f"/file-requests/{request.id}/" in message.body
    for private in ("Nadia", "Rahman", "mole", "shoulder"):
        assert private not in message.subject + message.body


def test_the_answer_queues_the_e_mail_after_commit(clinic, django_capture_on_commit_callbacks):
    """GIVEN a request with files not yet announced WHEN the patient presses Send
    (the answer is published) THEN the e-mail task is queued for after the commit."""
    request = FileRequestFactory(account=clinic["mine"].account)
    sent_file(request)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.file_request_publish_files_update(
            file_request=request, actor=Actor.for_patient_link(request.id)
        )
    assert any(
        "photos_arrived" in repr(getattr(cb, "__code__", cb))
        or "photos_arrived" in str(getattr(cb, "__qualname__", ""))
        for cb in callbacks
    )


def test_the_notifications_page_saves_the_choice(clinician_client, clinician):
    page = clinician_client.get("/account/notifications/").content.decode()
    assert "E-mail me when a patient sends photos" in page
    assert "Turn on browser notifications" in page
    clinician_client.post("/account/notifications/", {"notify_photos_by_email": "on"})
    clinician.refresh_from_db()
    assert clinician.notify_photos_by_email
    clinician_client.post("/account/notifications/", {})
    clinician.refresh_from_db()
    assert not clinician.notify_photos_by_email


QUERIES: dict[int, int] = {}


@pytest.mark.parametrize("count", [2, 7])
def test_the_inbox_costs_the_same_for_2_requests_as_for_7(account, clinician, count):
    client = signed_in_client(clinician)
    for _ in range(count):
        request = FileRequestFactory(account=account, staff=clinician)
        sent_file(request)
        sent_file(request, name="b.jpg")
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/inbox/").status_code == 200
    QUERIES[count] = len(captured.captured_queries)
    if len(QUERIES) == 2:
        assert QUERIES[2] == QUERIES[7], QUERIES
