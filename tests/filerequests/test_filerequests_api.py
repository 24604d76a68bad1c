"""The X-on file-requests API (seed 004): create, read, list, cancel, resend."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from filerequests.models import FileRequest, Notification
from portal.accounts.models import Staff
from portal.audit.models import AuditEvent
from portal.patients.models import Patient
from portal.webhooks.models import Event
from tests.factories import FileRequestFactory, PatientFactory, StaffFactory

pytestmark = pytest.mark.django_db

SEED_RESPONSE_FIELDS = {
    "id",
    "accountId",
    "createdAt",
    "files",
    "patientId",
    "prompt",
    "shortLinkExpiresAt",
    "shortLinkId",
    "staffId",
    "staffName",
    "type",
}


def seed_body(account, **overrides) -> dict:
    """Seed 004's example request, for ``account``."""
    body = {
        "prompt": "Please take a close-up photo of the rash on the back of your right hand.",
        "type": "photo",
        "accountUserId": "42",
        "accountId": str(account.id),
        "staffName": "Dr Rachel Williams",
        "patientMobile": "+447777123456",
        "patientDateOfBirth": "1980-06-17",
        "patientFirstName": "John",
        "patientLastName": "Smith",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


def create(api, account, **overrides):
    return api.post("/api/v1/file-requests", seed_body(account, **overrides), format="json")


# --- Create -----------------------------------------------------------------------------


def test_create_answers_seed_fields_and_makes_shell_patient_and_staff(api, account):
    """GIVEN a clinic with no patients or staff
    WHEN it sends seed 004's example request
    THEN it gets 200 with every seed field, a shell patient and a shell staff member
    exist, and the request is 'sent' with a queued text message."""
    response = create(api, account)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= SEED_RESPONSE_FIELDS
    assert body["accountId"] == str(account.id)
    assert body["files"] == []
    assert body["staffName"] == "Dr Rachel Williams"
    assert body["type"] == "photo"
    assert body["status"] == "sent"
    assert body["notification"]["status"] == "queued"
    patient = Patient.objects.get(pk=body["patientId"])
    assert (patient.account, patient.is_shell) == (account, True)
    assert (patient.first_name, patient.last_name) == ("John", "Smith")
    assert patient.mobile.as_e164 == "+447777123456"
    assert patient.date_of_birth == datetime.date(1980, 6, 17)
    staff = Staff.objects.get(pk=body["staffId"])
    assert (staff.account, staff.is_shell, staff.user) == (account, True, None)
    assert (staff.account_user_id, staff.display_name) == ("42", "Dr Rachel Williams")


def test_short_link_is_128_random_bits_url_safe_and_sms_sized(api, account, settings):
    """GIVEN the public base URL setting
    WHEN two requests are created
    THEN each short link id is 22 URL-safe characters (128 bits), they differ, and the
    link is built from the setting."""
    settings.PORTAL_PUBLIC_BASE_URL = "https://photos.clinic.example/"
    first = create(api, account).json()
    second = create(api, account).json()

    for body in (first, second):
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", body["shortLinkId"])
        assert body["shortLinkUrl"] == f"https://photos.clinic.example/r/{body['shortLinkId']}"
    assert first["shortLinkId"] != second["shortLinkId"]


def test_short_link_expiry_defaults_to_setting_and_may_be_none(api, account, settings):
    """GIVEN a default link lifetime of one day
    WHEN requests are made without an expiry, with null, with a time, and with a past time
    THEN they expire in a day, never, at that time, and the past time is refused."""
    settings.FILE_REQUEST_SHORT_LINK_TTL_SECONDS = 24 * 60 * 60
    before = timezone.now()
    default = create(api, account).json()
    never = create(api, account, shortLinkExpiresAt=None).json()
    chosen_time = (timezone.now() + datetime.timedelta(hours=3)).replace(microsecond=0)
    chosen = create(api, account, shortLinkExpiresAt=chosen_time.isoformat()).json()
    past = create(api, account, shortLinkExpiresAt="2020-01-01T00:00:00Z")

    expires = datetime.datetime.fromisoformat(default["shortLinkExpiresAt"])
    assert before + datetime.timedelta(hours=23, minutes=59) < expires
    assert expires <= timezone.now() + datetime.timedelta(days=1)
    assert never["shortLinkExpiresAt"] is None
    assert datetime.datetime.fromisoformat(chosen["shortLinkExpiresAt"]) == chosen_time
    assert past.status_code == 400
    assert "shortLinkExpiresAt" in past.json()["fields"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"type": ...}, "type", "required"),
        ({"type": "video"}, "type", '"photo"'),
        ({"patientMobile": "07777123456"}, "patientMobile", "E.164"),
        ({"patientMobile": "+44777712"}, "patientMobile", "not a valid"),
        ({"patientMobile": "+442079460000"}, "patientMobile", "landline"),
        ({"patientMobile": ...}, "patientMobile", "required"),
        ({"patientDateOfBirth": "17/06/1980"}, "patientDateOfBirth", "format"),
        ({"patientDateOfBirth": "2999-01-01"}, "patientDateOfBirth", "future"),
        ({"patientDateOfBirth": ...}, "patientDateOfBirth", "required"),
        ({"staffName": ...}, "staffName", "required"),
        ({"accountUserId": ...}, "accountUserId", "Either staffId or accountUserId"),
        ({"accountUserId": ""}, "accountUserId", "Either staffId or accountUserId"),
        ({"staffId": "not-a-uuid"}, "staffId", "UUID"),
        ({"colour": "blue"}, "colour", "Unknown field"),
        ({"filesUpdateWebhookUrl": "not a url"}, "filesUpdateWebhookUrl", "valid URL"),
    ],
)
def test_invalid_input_is_refused_with_a_field_message(api, account, overrides, field, message):
    """GIVEN seed 004's request with one rule broken
    WHEN it is sent
    THEN the answer is 400 naming the field and the rule, and nothing is created."""
    response = create(api, account, **overrides)

    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body["fields"], body
    assert message in " ".join(body["fields"][field]), body
    assert body["error"]
    assert not FileRequest.objects.exists()


def test_plain_http_webhook_url_is_refused_outside_private_networks(api, account, settings):
    """GIVEN a deployment that does not allow private-network webhooks
    WHEN a request names an http:// filesUpdateWebhookUrl
    THEN it is refused; an https:// one is kept and returned."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    refused = create(api, account, filesUpdateWebhookUrl="http://receiver.example/hook")
    kept = create(api, account, filesUpdateWebhookUrl="https://receiver.example/hook")

    assert refused.status_code == 400
    assert kept.status_code == 200
    assert kept.json()["filesUpdateWebhookUrl"] == "https://receiver.example/hook"
    file_request = FileRequest.objects.get(pk=kept.json()["id"])
    assert file_request.files_update_webhook_url == "https://receiver.example/hook"


# Seed 004's example request exactly as the document prints it: a client written against
# the document sends these bytes, with only its base URL changed.
SEED_004_EXAMPLE_REQUEST = """\
{
  "prompt": "Please take a close-up photo of the rash on the back of your right hand.",
  "type": "photo",
  "accountUserId": "42",
  "accountId": "12",
  "staffName": "Dr Rachel Williams",
  "patientMobile": "+447777123456",
  "patientDateOfBirth": "1980-06-17",
  "patientFirstName": "John",
  "patientLastName": "Smith"
}
"""


def test_seed_example_request_verbatim_is_created_and_echoes_its_account_id(api, account):
    """GIVEN a clinic's key
    WHEN it sends seed 004's example request byte for byte ("accountId": "12", the id of
    the sender's own account in the sending system)
    THEN the request is created in the key's clinic (200, as X-on answers), and "12" is
    stored and answered as sent: on create, read, list and in the files.update event."""
    from filerequests.services import file_request_publish_files_update
    from tests.filerequests.test_filerequests_page import photo_for

    response = api.post(
        "/api/v1/file-requests", SEED_004_EXAMPLE_REQUEST, content_type="application/json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accountId"] == "12"
    file_request = FileRequest.objects.get(pk=body["id"])
    assert file_request.account == account
    assert file_request.sender_account_id == "12"
    assert api.get(f"/api/v1/file-requests/{body['id']}").json()["accountId"] == "12"
    assert [r["accountId"] for r in api.get("/api/v1/file-requests").json()["results"]] == ["12"]
    photo_for(file_request)
    event = file_request_publish_files_update(file_request=file_request)
    assert event.payload["event"]["fileRequest"]["accountId"] == "12"


def test_a_follow_up_answers_the_account_id_its_first_request_was_sent_with(api, account):
    """GIVEN a request sent with seed 004's "accountId": "12"
    WHEN a clinician asks the patient for more from the dashboard
    THEN the follow-up answers "12" too, so the sending system files it under its account."""
    from filerequests.staff_actions import file_request_follow_up_create
    from portal.audit.services import Actor

    first = FileRequest.objects.get(pk=create(api, account, accountId="12").json()["id"])
    clinician = StaffFactory(account=account)
    follow_up = file_request_follow_up_create(
        file_request=first,
        staff=clinician,
        actor=Actor.for_staff(clinician),
        prompt="One more, from further away please.",
        short_link_expires_at=timezone.now() + datetime.timedelta(days=1),
    )

    assert api.get(f"/api/v1/file-requests/{follow_up.id}").json()["accountId"] == "12"


@pytest.mark.parametrize(
    ("sent", "answered"),
    [
        ("other clinic's id", "other clinic's id"),
        ("other clinic's id, upper case", "other clinic's id, upper case"),
        ("own clinic's id", "own clinic's id"),
        ("12", "12"),
        (12, "12"),
        ("EMIS-0042", "EMIS-0042"),
        (" 12 ", " 12 "),
        pytest.param("x" * 100, "x" * 100, id="100 characters"),
    ],
)
def test_account_id_never_chooses_the_clinic(
    api, other_api, account, other_account, sent, answered
):
    """GIVEN clinic B with a patient of the same mobile and date of birth and a staff member
    of the same accountUserId
    WHEN clinic A's key sends an accountId (B's own id among them)
    THEN the request, its patient, staff member and events are all A's, B's people and
    name appear nowhere in the answer, B's key cannot see the request, and accountId is
    answered as sent (a number as its string)."""
    ids = {
        "other clinic's id": str(other_account.id),
        "other clinic's id, upper case": str(other_account.id).upper(),
        "own clinic's id": str(account.id),
    }
    theirs = PatientFactory(
        account=other_account,
        mobile="+447777123456",
        date_of_birth=datetime.date(1980, 6, 17),
        first_name="Hidden",
        last_name="Patient",
    )
    their_staff = StaffFactory(
        account=other_account, account_user_id="42", display_name="Dr Hidden"
    )

    response = create(api, account, accountId=ids.get(sent, sent))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accountId"] == ids.get(answered, answered)
    file_request = FileRequest.objects.get(pk=body["id"])
    assert file_request.account == account
    assert file_request.patient.account == account and file_request.patient != theirs
    assert file_request.staff.account == account and file_request.staff != their_staff
    text = response.content.decode()
    for secret in (str(theirs.id), str(their_staff.id), "Hidden", other_account.name):
        assert secret not in text
    assert set(Event.objects.values_list("account", flat=True)) == {account.pk}
    assert not FileRequest.objects.filter(account=other_account).exists()
    assert other_api.get(f"/api/v1/file-requests/{body['id']}").status_code == 404
    assert other_api.get("/api/v1/file-requests").json()["results"] == []
    assert Patient.objects.filter(account=other_account).count() == 1


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        (..., "required"),
        (None, "null"),
        ("", "blank"),
        ("   ", "blank"),
        ("12\x00", "Null characters"),
        ("12\x01", "control"),
        ("12\n", "control"),
        ("12\u202e", "control"),
        pytest.param("x" * 101, "100 characters", id="101 characters"),
        (True, "valid string"),
        (["12"], "valid string"),
        ({"id": "12"}, "valid string"),
    ],
)
def test_account_id_that_is_no_id_is_refused(api, account, sent, message):
    """GIVEN seed 004's request
    WHEN its accountId is missing, empty, not text, holds a control character or is
    longer than an id
    THEN the answer is 400 naming accountId, and nothing is created."""
    response = create(api, account, accountId=sent)

    assert response.status_code == 400, response.content
    fields = response.json()["fields"]
    assert message in " ".join(fields["accountId"]), fields
    assert not FileRequest.objects.exists()
    assert not Patient.objects.exists()


def test_another_accounts_staff_id_is_never_used(api, account, other_account):
    """GIVEN a staff member of clinic B
    WHEN clinic A names that staffId, without and with an accountUserId
    THEN each request goes to a shell staff member of A (never B's staff member, whose
    name and id stay out of the answer), the same one each time it is named again."""
    foreign = StaffFactory(account=other_account, display_name="Dr Hidden")
    first = create(api, account, staffId=str(foreign.id), accountUserId=..., staffName="Dr A")
    again = create(api, account, staffId=str(foreign.id), accountUserId=..., staffName="Dr A")
    with_user_id = create(api, account, staffId=str(foreign.id), accountUserId="77")

    assert first.status_code == again.status_code == with_user_id.status_code == 200
    shell = Staff.objects.get(pk=first.json()["staffId"])
    assert shell.account == account and shell.is_shell and shell.pk != foreign.pk
    assert again.json()["staffId"] == str(shell.pk)
    assert "Dr Hidden" not in first.content.decode()
    other = Staff.objects.get(pk=with_user_id.json()["staffId"])
    assert other.account == account and other.account_user_id == "77"
    assert Staff.objects.filter(account=other_account).count() == 1


def test_unknown_staff_id_creates_a_shell_with_that_id(api, account):
    """GIVEN seed 004's staffId, unknown to the clinic, and no accountUserId
    WHEN the file request is created, twice
    THEN one shell staff member is created with that very id (seed 004: "If no staff user
    is found with the provided ID, a new 'shell' user is created"), answered as sent."""
    staff_id = "c46c3407-9c79-498f-a713-07b7d8f1fabf"
    first = create(api, account, staffId=staff_id, accountUserId=...)
    second = create(api, account, staffId=staff_id, accountUserId=...)

    assert first.status_code == second.status_code == 200, first.content
    assert first.json()["staffId"] == second.json()["staffId"] == staff_id
    shell = Staff.objects.get(pk=staff_id)
    assert shell.account == account and shell.is_shell
    assert shell.display_name == "Dr Rachel Williams"
    assert Staff.objects.filter(account=account).count() == 1
    assert AuditEvent.objects.filter(action="staff.create_shell", target_id=staff_id).count() == 1


def test_staff_found_by_staff_id_then_account_user_id(api, account):
    """GIVEN a signed-in staff member and a shell staff member known by accountUserId 42
    WHEN requests name the first by staffId and the second by accountUserId
    THEN both are found and no new staff is created."""
    member = StaffFactory(account=account)
    shell = Staff.objects.create(account=account, account_user_id="42", is_shell=True)

    by_id = create(api, account, staffId=str(member.id), accountUserId=...)
    by_user_id = create(api, account)

    assert by_id.json()["staffId"] == str(member.id)
    assert by_user_id.json()["staffId"] == str(shell.id)
    assert Staff.objects.filter(account=account).count() == 2


def test_shared_mobile_family_members_are_different_patients(api, account):
    """GIVEN a patient with mobile +447777123456 born 1980-06-17
    WHEN a request names the same mobile with the child's date of birth, and another
    names the same mobile and date of birth with other names
    THEN the first makes a new shell patient (the parent is not overwritten) and the
    second goes to the existing patient, whose names stay as they were."""
    parent = PatientFactory(
        account=account,
        mobile="+447777123456",
        date_of_birth=datetime.date(1980, 6, 17),
        first_name="John",
        last_name="Smith",
    )

    child = create(
        api, account, patientDateOfBirth="2015-02-03", patientFirstName="Amy", patientLastName=...
    ).json()
    again = create(api, account, patientFirstName="Johnny", patientLastName="Smyth").json()

    assert child["patientId"] != str(parent.id)
    child_patient = Patient.objects.get(pk=child["patientId"])
    assert (child_patient.first_name, child_patient.date_of_birth, child_patient.is_shell) == (
        "Amy",
        datetime.date(2015, 2, 3),
        True,
    )
    assert again["patientId"] == str(parent.id)
    parent.refresh_from_db()
    assert (parent.first_name, parent.last_name, parent.date_of_birth) == (
        "John",
        "Smith",
        datetime.date(1980, 6, 17),
    )


def test_same_mobile_in_another_clinic_is_another_patient(api, account, other_account):
    """GIVEN clinic B's patient with the same mobile and date of birth
    WHEN clinic A asks that number for photos
    THEN A gets its own shell patient; B's patient is untouched."""
    theirs = PatientFactory(
        account=other_account, mobile="+447777123456", date_of_birth=datetime.date(1980, 6, 17)
    )
    body = create(api, account).json()

    assert body["patientId"] != str(theirs.id)
    assert Patient.objects.get(pk=body["patientId"]).account == account


def test_create_records_audit_event_and_created_event(api, account, api_key):
    """GIVEN a key
    WHEN it creates a request
    THEN an audit event names the key, and a thin file-request.created event holds ids only."""
    body = create(api, account).json()

    audit = AuditEvent.objects.get(action="file_request.create")
    assert (audit.actor_kind, audit.target_id) == ("api_key", body["id"])
    event = Event.objects.get(type="file-request.created")
    assert event.account == account
    assert event.payload["data"] == {
        "fileRequestId": body["id"],
        "patientId": body["patientId"],
        "staffId": body["staffId"],
        "status": "sent",
    }
    assert "John" not in str(event.payload)
    assert "+447777123456" not in str(event.payload)


def test_create_queues_the_text_message_after_commit(
    api, account, django_capture_on_commit_callbacks
):
    """GIVEN a request being created
    WHEN its transaction commits
    THEN exactly one send of that notification is queued for after the commit, and the
    notification is 'queued'."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        body = create(api, account).json()

    notification = Notification.objects.get(file_request_id=body["id"])
    sends = [
        callback
        for callback in callbacks
        if getattr(callback, "func", None) is not None
        and getattr(callback.func, "__self__", None) is not None
        and callback.func.__self__.name == "filerequests.send_notification"
    ]
    assert [send.args for send in sends] == [(str(notification.id),)]
    assert notification.status == "queued"


def test_staff_session_can_create_for_its_own_account(account, staff):
    """GIVEN a signed-in staff member
    WHEN they create a request through the API with their session
    THEN it is created and the audit event names them."""
    from rest_framework.test import APIClient

    from tests.support.sessions import sign_in

    client = sign_in(APIClient(), staff.user)
    response = client.post("/api/v1/file-requests", seed_body(account), format="json")

    assert response.status_code == 200, response.content
    assert AuditEvent.objects.get(action="file_request.create").actor_id == str(staff.id)


# --- Read and list -------------------------------------------------------------------------


def test_get_returns_own_request_and_404_for_others(api, other_api, account):
    """GIVEN clinic A's request
    WHEN A, B and a malformed id ask for it
    THEN A gets it, B and the malformed id get 404."""
    body = create(api, account).json()

    assert api.get(f"/api/v1/file-requests/{body['id']}").json()["id"] == body["id"]
    assert other_api.get(f"/api/v1/file-requests/{body['id']}").status_code == 404
    assert api.get("/api/v1/file-requests/not-a-uuid").status_code == 404


def test_list_filters_by_status_patient_and_created_range(api, other_api, account, other_account):
    """GIVEN requests of two patients at different times and statuses, and one of clinic B
    WHEN A lists with each filter
    THEN each answer holds exactly the matching requests of A."""
    now = timezone.now()
    alice = PatientFactory(account=account)
    bob = PatientFactory(account=account)
    old = FileRequestFactory(
        account=account, patient=alice, created_at=now - datetime.timedelta(days=10)
    )
    cancelled = FileRequestFactory(
        account=account,
        patient=alice,
        status="cancelled",
        created_at=now - datetime.timedelta(days=2),
    )
    recent = FileRequestFactory(account=account, patient=bob, created_at=now)
    foreign = FileRequestFactory(account=other_account)

    def ids(query: str) -> set[str]:
        response = api.get(f"/api/v1/file-requests{query}")
        assert response.status_code == 200, response.content
        return {item["id"] for item in response.json()["results"]}

    assert ids("") == {str(old.id), str(cancelled.id), str(recent.id)}
    assert ids("?status=cancelled") == {str(cancelled.id)}
    assert ids("?status=sent,cancelled") == {str(old.id), str(cancelled.id), str(recent.id)}
    assert ids(f"?patientId={alice.id}") == {str(old.id), str(cancelled.id)}
    since = (now - datetime.timedelta(days=3)).isoformat().replace("+00:00", "Z")
    assert ids(f"?createdAfter={since}") == {str(cancelled.id), str(recent.id)}
    assert ids(f"?createdBefore={since}") == {str(old.id)}
    assert {item["id"] for item in other_api.get("/api/v1/file-requests").json()["results"]} == {
        str(foreign.id)
    }


def test_list_is_paginated_newest_first(api, account):
    """GIVEN three requests
    WHEN listed two a page
    THEN page 1 has the two newest and a next link, page 2 the oldest."""
    now = timezone.now()
    made = [
        FileRequestFactory(account=account, created_at=now - datetime.timedelta(minutes=m))
        for m in (3, 2, 1)
    ]
    first = api.get("/api/v1/file-requests?per_page=2").json()
    second = api.get("/api/v1/file-requests?per_page=2&page=2").json()

    assert first["count"] == 3
    assert [item["id"] for item in first["results"]] == [str(made[2].id), str(made[1].id)]
    assert first["next"]
    assert [item["id"] for item in second["results"]] == [str(made[0].id)]


@pytest.mark.parametrize("query", ["?status=lost", "?patientId=nope", "?createdAfter=yesterday"])
def test_list_refuses_bad_filters(api, query):
    """GIVEN a malformed filter
    WHEN the list is asked for
    THEN the answer is 400, not an unfiltered list."""
    assert api.get(f"/api/v1/file-requests{query}").status_code == 400


# --- Cancel and resend ----------------------------------------------------------------------


def test_cancel_closes_the_request_and_is_idempotent(api, account, client):
    """GIVEN a sent request
    WHEN it is cancelled twice
    THEN both answers are 200 with status 'cancelled', one audit event is written, and
    the patient's link answers 410."""
    body = create(api, account).json()

    first = api.post(f"/api/v1/file-requests/{body['id']}/cancel")
    second = api.post(f"/api/v1/file-requests/{body['id']}/cancel")

    assert first.status_code == second.status_code == 200
    assert second.json()["status"] == "cancelled"
    assert second.json()["cancelledAt"]
    assert AuditEvent.objects.filter(action="file_request.cancel").count() == 1
    assert client.get(f"/r/{body['shortLinkId']}").status_code == 410


def test_cancel_of_expired_request_conflicts(api, account):
    """GIVEN an expired request
    WHEN it is cancelled
    THEN the answer is 409 and it stays expired."""
    file_request = FileRequestFactory(account=account, status="expired")
    response = api.post(f"/api/v1/file-requests/{file_request.id}/cancel")

    assert response.status_code == 409
    file_request.refresh_from_db()
    assert file_request.status == "expired"


def test_resend_queues_a_new_message_and_refuses_closed_requests(api, account):
    """GIVEN a request texted more than a minute ago and a cancelled one
    WHEN both are resent
    THEN the first has a second queued notification; the cancelled one answers 409."""
    body = create(api, account).json()
    Notification.objects.filter(file_request_id=body["id"]).update(
        created_at=timezone.now() - datetime.timedelta(minutes=2)
    )
    closed = FileRequestFactory(account=account, status="cancelled")

    response = api.post(f"/api/v1/file-requests/{body['id']}/resend")
    refused = api.post(f"/api/v1/file-requests/{closed.id}/resend")

    assert response.status_code == 200
    assert Notification.objects.filter(file_request_id=body["id"]).count() == 2
    assert refused.status_code == 409
    assert AuditEvent.objects.filter(action="file_request.resend").count() == 1


def test_listed_files_always_have_a_string_mime_type_and_refused_files_are_left_out(
    api, account, storage_mode, django_capture_on_commit_callbacks
):
    """GIVEN a request answered with a photo still processing (its type not declared, as
    the patient page sends it), a photo processed, and a GIF the pipeline refuses
    WHEN the request is read THEN files[x].mimeType is a string for each (seed 004 types
    it String; it was null while processing, exactly when files.update fires), judged
    from the bytes; the refused GIF is not among the files the clinic holds."""
    import io

    from PIL import Image

    from files.models import File
    from files.pipeline.processing import file_process
    from files.services import file_create_from_stream
    from portal.audit.services import Actor
    from tests.files import samples

    def process(file):
        with django_capture_on_commit_callbacks(execute=True):
            file_process(file_id=file.pk)
        return File.objects.get(pk=file.pk)

    file_request = FileRequestFactory(account=account)

    def answer(data: bytes, name: str):
        return file_create_from_stream(
            account=account,
            patient=file_request.patient,
            purpose="photo",
            original_name=name,
            declared_type="",
            stream=io.BytesIO(data),
            uploaded_by=Actor.for_patient_link(file_request.pk),
            file_request=file_request,
        )

    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, format="GIF")
    processed = process(answer(samples.png((40, 30)), "a.png"))
    refused = process(answer(gif.getvalue(), "b.gif"))
    waiting = answer(samples.jpeg(), "c.jpg")
    assert refused.state == "rejected" and waiting.state == "pending"

    files = api.get(f"/api/v1/file-requests/{file_request.pk}").json()["files"]
    by_id = {f["id"]: f for f in files}
    assert set(by_id) == {str(processed.pk), str(waiting.pk)}
    assert by_id[str(processed.pk)]["mimeType"] == "image/png"
    assert by_id[str(waiting.pk)]["mimeType"] == "image/jpeg"
    assert all(isinstance(f["mimeType"], str) for f in files)


@pytest.mark.parametrize(
    "size,listed",
    [((1600, 1200), (427, 320)), ((1200, 1600), (320, 427)), ((3001, 397), (2419, 320))],
)
def test_listed_thumbnail_size_is_what_its_url_answers(
    api, account, django_capture_on_commit_callbacks, settings, size, listed
):
    """GIVEN a request answered with a photo WHEN the request is read THEN the thumbnail's
    width and height are the exact aspect fill of the box its URL asks for (seed 001's
    imageSize, one side equal to the box), and the image that URL answers is that size."""
    import io

    from PIL import Image

    from config.celery import app as celery_app
    from files.models import File
    from files.pipeline.processing import file_process
    from files.services import file_create_from_stream
    from portal.audit.services import Actor
    from tests.files import samples

    file_request = FileRequestFactory(account=account)
    file = file_create_from_stream(
        account=account,
        patient=file_request.patient,
        purpose="photo",
        original_name="a.jpg",
        declared_type="image/jpeg",
        stream=io.BytesIO(samples.jpeg(size)),
        uploaded_by=Actor.for_patient_link(file_request.pk),
        file_request=file_request,
    )
    with django_capture_on_commit_callbacks(execute=True):
        file_process(file_id=file.pk)
    assert File.objects.get(pk=file.pk).state == "ready"

    (listed_file,) = api.get(f"/api/v1/file-requests/{file_request.pk}").json()["files"]
    thumbnail = listed_file["thumbnail"]
    assert (thumbnail["width"], thumbnail["height"]) == listed
    assert thumbnail["url"] == f"/api/v1/files/{file.pk}?imageSize=320x320"

    # The URL's answer, once the worker (run here, as Celery's eager mode runs it) made it.
    settings.FILES_RENDITION_WAIT_SECONDS = 0
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            api.get(thumbnail["url"])
    finally:
        celery_app.conf.task_always_eager = saved
    response = api.get(thumbnail["url"])
    assert response.status_code == 200
    image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert image.size == listed
