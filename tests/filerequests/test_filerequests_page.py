"""The patient's short-link page: what it shows before the check, the date-of-birth
check, the atomic lockout, the per-address limit, the session exchange, and the
pages for links that cannot be used."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.utils import timezone

from filerequests.models import FileRequest
from filerequests.services import dob_check, file_request_expire_due
from portal.audit.models import AuditEvent
from portal.webhooks.models import Event
from tests.factories import FileRequestFactory, PatientFactory

DOB = datetime.date(1980, 6, 17)
RIGHT = {"day": "17", "month": "6", "year": "1980"}
WRONG = {"day": "18", "month": "6", "year": "1980"}


@pytest.fixture
def file_request(account):
    patient = PatientFactory(
        account=account, first_name="Johnathan", last_name="Smithers", date_of_birth=DOB
    )
    return FileRequestFactory(account=account, patient=patient)


def link(file_request) -> str:
    return f"/r/{file_request.short_link_id}"


def assert_patient_headers(response):
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store, private"


@pytest.mark.django_db
def test_link_shows_clinic_and_staff_but_nothing_clinical_before_the_check(client, file_request):
    """GIVEN a sent request
    WHEN the link is opened
    THEN the page names the clinic and the staff member, asks for day, month and year,
    and shows neither the prompt nor the patient's name; no state changes."""
    response = client.get(link(file_request))

    assert response.status_code == 200
    assert_patient_headers(response)
    html = response.content.decode()
    assert "Riverside Clinic" in html
    assert "Dr Rachel Williams" in html
    for field in ('name="day"', 'name="month"', 'name="year"'):
        assert field in html
    assert "rash" not in html
    assert "Johnathan" not in html and "Smithers" not in html
    file_request.refresh_from_db()
    assert file_request.status == "sent"


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["AAAAAAAAAAAAAAAAAAAAAA", "short", "x" * 80])
def test_unknown_links_get_404_revealing_nothing(client, file_request, token):
    """GIVEN a link that is no request's (well-formed or not)
    WHEN it is opened
    THEN the answer is a 404 page that tells the visitor to call the clinic."""
    response = client.get(f"/r/{token}")

    assert response.status_code == 404
    assert_patient_headers(response)
    html = response.content.decode()
    assert "call the clinic" in html
    assert "Riverside Clinic" not in html


@pytest.mark.django_db
def test_wrong_date_of_birth_is_counted_and_audited(client, file_request):
    """GIVEN a sent request
    WHEN a wrong date of birth is entered
    THEN the page says it does not match and how many tries are left, the counter is
    1, and an audit event records the failure with the client's address."""
    response = client.post(link(file_request), WRONG)

    assert response.status_code == 200
    html = response.content.decode()
    assert "does not match" in html
    assert "4 more tries" in html
    file_request.refresh_from_db()
    assert file_request.failed_attempts == 1
    audit = AuditEvent.objects.get(action="file_request.dob_check_failed")
    assert (audit.actor_kind, audit.target_id, audit.ip_address) == (
        "patient_link",
        str(file_request.id),
        "127.0.0.1",
    )
    assert audit.detail == {"attempt": 1, "of": 5}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"day": "", "month": "", "year": ""}, "Enter your date of birth"),
        ({"day": "17", "month": "", "year": "1980"}, "must include a month"),
        ({"day": "31", "month": "2", "year": "1980"}, "real date"),
        ({"day": "1", "month": "2", "year": "80"}, "4 numbers"),
        ({"day": "aa", "month": "2", "year": "1980"}, "numbers only"),
    ],
)
def test_malformed_dates_are_explained_and_not_counted(client, file_request, form, message):
    """GIVEN a sent request
    WHEN a date that cannot be a date of birth is entered
    THEN the page explains the mistake and no attempt is used."""
    response = client.post(link(file_request), form)

    assert message in response.content.decode()
    file_request.refresh_from_db()
    assert file_request.failed_attempts == 0


@pytest.mark.django_db
def test_five_wrong_answers_lock_the_link_even_for_the_right_answer(client, file_request):
    """GIVEN a sent request
    WHEN five wrong dates are entered, then the right one
    THEN the fifth answer locks the link (429 with Retry-After, audit event), and the
    right date while locked does not open it."""
    for _ in range(4):
        assert client.post(link(file_request), WRONG).status_code == 200
    locked = client.post(link(file_request), WRONG)
    right_while_locked = client.post(link(file_request), RIGHT)
    page_while_locked = client.get(link(file_request))

    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 29 * 60
    assert "locked" in locked.content.decode()
    assert_patient_headers(locked)
    assert right_while_locked.status_code == 429
    assert page_while_locked.status_code == 429
    file_request.refresh_from_db()
    assert file_request.status == "sent"
    assert file_request.lockout_count == 1
    assert AuditEvent.objects.filter(action="file_request.dob_check_failed").count() == 5
    assert AuditEvent.objects.filter(action="file_request.link_locked").count() == 1


@pytest.mark.django_db
def test_lock_ends_after_its_period_and_the_next_lock_is_longer(client, file_request):
    """GIVEN a link locked once, whose lock has passed
    WHEN five more wrong dates are entered
    THEN the link locks again for twice as long; after that passes the right date opens it."""
    for _ in range(5):
        client.post(link(file_request), WRONG)
    FileRequest.objects.filter(pk=file_request.pk).update(
        locked_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    for _ in range(5):
        second = client.post(link(file_request), WRONG)
    assert int(second["Retry-After"]) > 59 * 60

    FileRequest.objects.filter(pk=file_request.pk).update(
        locked_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert client.post(link(file_request), RIGHT).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_cannot_exceed_the_limit(file_request, settings):
    """GIVEN a sent request on PostgreSQL
    WHEN twelve wrong guesses arrive at the same moment from twelve connections
    THEN exactly five are counted as failed checks and the link is locked once."""
    settings.FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR = 1000
    barrier = threading.Barrier(12)
    outcomes: list[str] = []

    def guess(index: int):
        request = RequestFactory().post("/r/x", REMOTE_ADDR=f"10.0.0.{index + 1}")
        barrier.wait()
        try:
            result = dob_check(
                short_link_id=file_request.short_link_id,
                date_of_birth=datetime.date(1990, 1, index + 1),
                request=request,
            )
            outcomes.append(result.outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes).count("wrong") == 4
    assert outcomes.count("locked") == 8
    assert AuditEvent.objects.filter(action="file_request.dob_check_failed").count() == 5
    file_request.refresh_from_db()
    assert file_request.lockout_count == 1


@pytest.mark.django_db
def test_one_address_is_limited_across_links(client, account, settings):
    """GIVEN a limit of three failed checks an hour per address, and two links
    WHEN one address fails twice on one link and once on the other, then tries again
    THEN the fourth wrong try is refused (429) and still counts on the link (the
    per-link lockout stays the brute-force control; tests/filerequests/test_patient_throttle.py
    shows a right answer is never refused by this count)."""
    settings.FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR = 3
    first = FileRequestFactory(account=account)
    second = FileRequestFactory(account=account)
    client.post(link(first), WRONG)
    client.post(link(first), WRONG)
    client.post(link(second), WRONG)

    refused = client.post(link(second), WRONG)

    assert refused.status_code == 429
    assert "Too many attempts" in refused.content.decode()
    second.refresh_from_db()
    assert second.failed_attempts == 2
    assert AuditEvent.objects.filter(action="file_request.dob_check_throttled").count() == 1


@pytest.mark.django_db
def test_right_date_rotates_the_session_and_leaves_the_token_behind(client, file_request):
    """GIVEN a visitor with a session on the link page
    WHEN the right date of birth is entered
    THEN the session id changes, the browser is sent to /r/upload (no token in the URL),
    the request is 'opened' with one file-request.opened event, and the prompt shows."""
    client.get(link(file_request))
    client.session.save()
    before = client.cookies["sessionid"].value if "sessionid" in client.cookies else None

    response = client.post(link(file_request), RIGHT)

    assert response.status_code == 302
    assert response["Location"] == "/r/upload"
    assert file_request.short_link_id not in response["Location"]
    assert_patient_headers(response)
    after = client.cookies["sessionid"].value
    assert after and after != before
    file_request.refresh_from_db()
    assert file_request.status == "opened"
    assert file_request.opened_at is not None
    page = client.get("/r/upload")
    assert page.status_code == 200
    assert_patient_headers(page)
    assert "rash on the back of your right hand" in page.content.decode()

    client.post(link(file_request), RIGHT)
    assert Event.objects.filter(type="file-request.opened").count() == 1
    assert AuditEvent.objects.filter(action="file_request.dob_check_passed").count() == 2


@pytest.mark.django_db
def test_upload_pages_need_a_verified_session(file_request):
    """GIVEN a browser that never passed the check
    WHEN it opens the upload page or asks for a ticket
    THEN it is refused (403) and told to open the link again."""
    browser = Client()
    page = browser.get("/r/upload")
    ticket = browser.post("/r/upload/ticket", "{}", content_type="application/json")

    assert page.status_code == 403
    assert "open the link" in page.content.decode().lower()
    assert ticket.status_code == 403


@pytest.mark.django_db
def test_expired_link_gets_410_and_the_request_expires_once(client, file_request):
    """GIVEN a request whose link expired a minute ago
    WHEN the link is opened twice and the sweep runs
    THEN the page answers 410 and says to call the clinic, and the request is 'expired'
    with one file-request.expired event."""
    FileRequest.objects.filter(pk=file_request.pk).update(
        short_link_expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )

    first = client.get(link(file_request))
    second = client.get(link(file_request))
    file_request_expire_due()

    assert first.status_code == second.status_code == 410
    html = first.content.decode()
    assert "expired" in html and "Riverside Clinic" in html
    assert "Johnathan" not in html
    file_request.refresh_from_db()
    assert file_request.status == "expired"
    assert Event.objects.filter(type="file-request.expired").count() == 1


@pytest.mark.django_db
def test_sweep_expires_due_requests_only(account):
    """GIVEN an overdue sent request, an overdue answered one and a current one
    WHEN the sweep runs
    THEN only the unanswered overdue request becomes 'expired'."""
    past = timezone.now() - datetime.timedelta(minutes=1)
    overdue = FileRequestFactory(account=account, short_link_expires_at=past)
    answered = FileRequestFactory(account=account, short_link_expires_at=past, status="answered")
    current = FileRequestFactory(account=account)

    assert file_request_expire_due() == 1

    statuses = {
        fr.pk: fr.status
        for fr in FileRequest.objects.filter(pk__in=[overdue.pk, answered.pk, current.pk])
    }
    assert statuses == {overdue.pk: "expired", answered.pk: "answered", current.pk: "sent"}


@pytest.mark.django_db
def test_session_ends_when_the_request_is_cancelled(client, file_request):
    """GIVEN a patient past the check
    WHEN the clinic cancels the request
    THEN the upload page answers 410 'withdrawn'."""
    client.post(link(file_request), RIGHT)
    FileRequest.objects.filter(pk=file_request.pk).update(status="cancelled")

    response = client.get("/r/upload")

    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()


def photo_for(file_request, name="IMG_1.JPG"):
    from files.services import file_create_from_stream

    return file_create_from_stream(
        account=file_request.account,
        patient=file_request.patient,
        purpose="photo",
        original_name=name,
        declared_type="image/jpeg",
        stream=[b"\xff\xd8\xff\xe0 not processed in this test"],
        uploaded_by=None,
        file_request=file_request,
    )


@pytest.mark.django_db
def test_one_files_update_event_per_batch(file_request, settings):
    """GIVEN a request with filesUpdateWebhookUrl and two photos confirmed
    WHEN the patient presses Send, presses it again, then sends a third photo
    THEN two events are published: the first names both photos, the second only the
    third, each in X-on's body and to the request's URL; the request is 'answered'."""
    from filerequests.services import file_request_publish_files_update

    FileRequest.objects.filter(pk=file_request.pk).update(
        files_update_webhook_url="https://receiver.example/hook"
    )
    first, second = photo_for(file_request), photo_for(file_request, "IMG_2.JPG")

    file_request_publish_files_update(file_request=file_request)
    assert file_request_publish_files_update(file_request=file_request) is None
    third = photo_for(file_request, "IMG_3.JPG")
    file_request_publish_files_update(file_request=file_request)

    events = list(Event.objects.filter(type="file-request.files.update").order_by("created_at"))
    assert [sorted(e.payload["event"]["addedFileIds"]) for e in events] == [
        sorted([str(first.id), str(second.id)]),
        [str(third.id)],
    ]
    assert all(e.extra_urls == ["https://receiver.example/hook"] for e in events)
    assert all(e.payload["event"]["id"] == str(e.id) for e in events)
    file_request.refresh_from_db()
    assert file_request.status == "answered"


@pytest.mark.django_db
def test_photos_left_without_send_are_announced_by_the_sweep(file_request, settings):
    """GIVEN a photo confirmed 31 minutes ago whose patient never pressed Send, and a
    photo of another request confirmed a minute ago
    WHEN the periodic sweep runs
    THEN the old one is announced (once), the recent one waits for its patient."""
    settings.FILE_REQUEST_ABANDONED_BATCH_SECONDS = 30 * 60
    old = photo_for(file_request)
    type(old).objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=31)
    )
    recent_request = FileRequestFactory(account=file_request.account)
    photo_for(recent_request)

    file_request_expire_due()
    file_request_expire_due()

    (event,) = Event.objects.filter(type="file-request.files.update")
    assert event.payload["event"]["addedFileIds"] == [str(old.id)]
    assert event.payload["event"]["fileRequest"]["id"] == str(file_request.id)


def fields_marked_wrong(html: str) -> list[str]:
    """The date fields the page marks in error (GOV.UK's red border), in page order."""
    import re

    return re.findall(r'class="input input--\d input--error" id="dob-(\w+)"', html)


TODAY = {"days_from_clinic_today": 0}
TOMORROW = {"days_from_clinic_today": 1}


def filled_in(form: dict, account) -> dict:
    """The form a patient types, with a date given as days from today where the clinic is
    worked out when the test runs (a date fixed when the module loads belongs to the
    collection's day, and to UTC's)."""
    if "days_from_clinic_today" not in form:
        return form
    offset = datetime.timedelta(days=form["days_from_clinic_today"])
    day = timezone.localdate(timezone=account.zone) + offset
    return {"day": str(day.day), "month": str(day.month), "year": str(day.year)}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("form", "message", "fields"),
    [
        ({"day": "", "month": "", "year": ""}, "Enter your date of birth", ["day"]),
        ({"day": " ", "month": "\t", "year": "  "}, "Enter your date of birth", ["day"]),
        (
            {"day": "", "month": "6", "year": "1980"},
            "Your date of birth must include a day",
            ["day"],
        ),
        (
            {"day": "17", "month": "", "year": "1980"},
            "Your date of birth must include a month",
            ["month"],
        ),
        (
            {"day": "17", "month": "6", "year": ""},
            "Your date of birth must include a year",
            ["year"],
        ),
        (
            {"day": "", "month": "", "year": "1980"},
            "Your date of birth must include a day and month",
            ["day", "month"],
        ),
        (
            {"day": "17", "month": "", "year": ""},
            "Your date of birth must include a month and year",
            ["month", "year"],
        ),
        (
            {"day": "aa", "month": "6", "year": "1980"},
            "Enter your date of birth using numbers only",
            ["day"],
        ),
        (
            {"day": "17", "month": "June", "year": "198O"},
            "Enter your date of birth using numbers only",
            ["month", "year"],
        ),
        (
            {"day": "-1", "month": "6", "year": "1980"},
            "Enter your date of birth using numbers only",
            ["day"],
        ),
        (
            {"day": "1\x00", "month": "6", "year": "1980"},
            "Enter your date of birth using numbers only",
            ["day"],
        ),
        (
            {"day": "17", "month": "\u00b2", "year": "1980"},
            "Enter your date of birth using numbers only",
            ["month"],
        ),
        (
            {"day": "17", "month": "6", "year": "80"},
            "Year must include 4 numbers, for example 1980",
            ["year"],
        ),
        (
            {"day": "17", "month": "6", "year": "980"},
            "Year must include 4 numbers, for example 1980",
            ["year"],
        ),
        (
            {"day": "17", "month": "6", "year": "19800"},
            "Year must include 4 numbers, for example 1980",
            ["year"],
        ),
        (
            {"day": "31", "month": "2", "year": "1980"},
            "Date of birth must be a real date",
            ["day", "month"],
        ),
        (
            {"day": "1", "month": "13", "year": "1980"},
            "Date of birth must be a real date",
            ["day", "month"],
        ),
        (
            {"day": "0", "month": "6", "year": "1980"},
            "Date of birth must be a real date",
            ["day", "month"],
        ),
        (
            {"day": "31", "month": "12", "year": "1899"},
            "Date of birth must be in the past",
            ["year"],
        ),
        (
            TOMORROW,
            "Date of birth must be in the past",
            ["year"],
        ),
    ],
)
def test_each_date_that_cannot_be_a_birth_date_is_explained_by_field(
    client, file_request, form, message, fields
):
    """GIVEN a sent request WHEN the date entered cannot be anyone's date of birth (a field
    missing, letters, a two-digit year, 31 February, before 1900, tomorrow)
    THEN the page says what is wrong, marks exactly the fields to fix, and no attempt is
    used."""
    response = client.post(link(file_request), filled_in(form, file_request.account))

    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert fields_marked_wrong(html) == fields
    file_request.refresh_from_db()
    assert file_request.failed_attempts == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "form",
    [
        {"day": "1", "month": "1", "year": "1900"},
        TODAY,
        {"day": "29", "month": "2", "year": "2000"},
    ],
    ids=["1-jan-1900", "today", "29-feb-2000"],
)
def test_the_oldest_and_newest_possible_dates_are_checked_as_answers(client, file_request, form):
    """GIVEN a sent request WHEN the date is a real one at the edge of the range (1 January
    1900, today, a leap day) THEN it is checked as an answer: wrong here, so it counts as
    one attempt and says it does not match."""
    response = client.post(link(file_request), filled_in(form, file_request.account))

    assert response.status_code == 200
    assert "does not match our records" in response.content.decode()
    file_request.refresh_from_db()
    assert file_request.failed_attempts == 1


# Half past midnight on 2 July in London, still 1 July in UTC and in New York.
LONDON_SUMMER_MIDNIGHT = datetime.datetime(2026, 7, 1, 23, 30, tzinfo=datetime.UTC)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("time_zone", "clinic_today"),
    [("Europe/London", datetime.date(2026, 7, 2)), ("America/New_York", datetime.date(2026, 7, 1))],
)
def test_today_and_tomorrow_are_the_clinics_days_not_utcs(
    client, clock, file_request, time_zone, clinic_today
):
    """GIVEN a clinic in London or New York and the hour after a London summer midnight
    WHEN the patient enters the clinic's today, then its tomorrow THEN today is checked as
    an answer (a baby born today is born) and tomorrow is refused as not yet past."""
    clock.now = LONDON_SUMMER_MIDNIGHT
    type(file_request.account).objects.filter(pk=file_request.account.pk).update(
        time_zone=time_zone
    )

    def typed(day: datetime.date) -> dict:
        return {"day": str(day.day), "month": str(day.month), "year": str(day.year)}

    today = client.post(link(file_request), typed(clinic_today)).content.decode()
    assert "does not match our records" in today
    tomorrow = client.post(
        link(file_request), typed(clinic_today + datetime.timedelta(days=1))
    ).content.decode()
    assert "Date of birth must be in the past" in tomorrow
    file_request.refresh_from_db()
    assert file_request.failed_attempts == 1


@pytest.mark.django_db
def test_the_right_date_with_spaces_and_leading_zeros_opens_the_link(client, file_request):
    """GIVEN a sent request WHEN the right date is typed with spaces around it and leading
    zeros THEN the link opens (302 to the upload page)."""
    response = client.post(link(file_request), {"day": " 17 ", "month": "06", "year": " 1980"})
    assert response.status_code == 302
