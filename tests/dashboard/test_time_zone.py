"""Times are the clinic's: a clinic setting (Europe/London unless changed), every staff
page shows its times in it and says which ("14:05 BST"), across the clock changes of
the last Sundays of March and October."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from portal.accounts.models import Account, Staff
from portal.audit.models import AuditEvent
from tests.dashboard.conftest import signed_in_client
from tests.factories import FileRequestFactory, PatientFactory, StaffFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def at(*parts) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def sent_times(client) -> list[str]:
    """The Sent column of the file requests list, top to bottom (newest first)."""
    html = client.get("/file-requests/").content.decode()
    return re.findall(r'<td class="nowrap muted">([^<]+)</td>', html)


def requests_at(account, *moments):
    patient = PatientFactory(account=account)
    for moment in moments:
        FileRequestFactory(account=account, patient=patient, created_at=moment)


def test_a_new_clinic_is_on_london_time(db):
    assert Account.objects.create(name="New").time_zone == "Europe/London"


@pytest.mark.parametrize(
    ("moments", "shown"),
    [
        # Sunday 29 March 2026: at 01:00 UTC clocks go forward, 01:00 GMT becomes 02:00 BST.
        (
            [at(2026, 3, 29, 0, 30), at(2026, 3, 29, 1, 30)],
            ["29 Mar 2026, 02:30 BST", "29 Mar 2026, 00:30 GMT"],
        ),
        # Sunday 25 October 2026: at 01:00 UTC clocks go back; 01:30 happens twice, and
        # only the zone's name tells the two apart.
        (
            [at(2026, 10, 25, 0, 30), at(2026, 10, 25, 1, 30)],
            ["25 Oct 2026, 01:30 GMT", "25 Oct 2026, 01:30 BST"],
        ),
        # A summer afternoon is an hour ahead of UTC; a winter one is not.
        ([at(2026, 7, 1, 13, 5)], ["1 Jul 2026, 14:05 BST"]),
        ([at(2026, 1, 15, 13, 5)], ["15 Jan 2026, 13:05 GMT"]),
    ],
)
def test_london_times_across_the_clock_changes(account, clinician_client, moments, shown):
    requests_at(account, *moments)
    assert sent_times(clinician_client) == shown


def test_another_clinics_zone_is_its_own(account, other_account, clinician_client):
    """Two clinics, one in New York: each sees the same instant in its own zone."""
    moment = at(2026, 3, 29, 1, 30)  # New York is on EDT since 8 March
    requests_at(account, moment)
    requests_at(other_account, moment)
    other_account.time_zone = "America/New_York"
    other_account.save()
    new_york = signed_in_client(StaffFactory(account=other_account))
    assert sent_times(clinician_client) == ["29 Mar 2026, 02:30 BST"]
    assert sent_times(new_york) == ["28 Mar 2026, 21:30 EDT"]


def test_the_request_page_and_locked_time_say_which_zone(account, clinician_client):
    request = FileRequestFactory(account=account, created_at=at(2026, 7, 1, 13, 5))
    html = clinician_client.get(f"/file-requests/{request.id}/").content.decode()
    assert "1 July 2026, 14:05 BST" in html


@pytest.fixture
def admin(account):
    return signed_in_client(StaffFactory(account=account, role=Staff.Role.ADMIN))


def settings_post(client, account, **changes):
    return client.post(
        "/settings/clinic/",
        {
            "name": account.name,
            "phone_number": "",
            "patient_safety_line": "",
            **changes,
        },
    )


def test_an_admin_changes_the_zone_in_settings_and_times_follow(account, admin):
    requests_at(account, at(2026, 7, 1, 13, 5))
    page = admin.get("/settings/clinic/").content.decode()
    assert '<option value="Europe/London" selected>' in page
    assert settings_post(admin, account, time_zone="Australia/Sydney").status_code == 302
    account.refresh_from_db()
    assert account.time_zone == "Australia/Sydney"
    event = AuditEvent.objects.get(action="account.clinic_settings_update")
    assert "time_zone" in event.detail["fields"]
    assert sent_times(admin) == ["1 Jul 2026, 23:05 AEST"]


@pytest.mark.parametrize(
    "zone",
    [
        "Mars/Olympus_Mons",
        "europe/london",  # the database's names are exact
        "BST",
        "+01:00",
        "../../etc/passwd",
        "Europe/London\x00",
        "Europe/" + "L" * 80,
        "<script>",
    ],
)
def test_a_zone_the_database_does_not_know_is_refused(account, admin, zone):
    answer = settings_post(admin, account, time_zone=zone)
    assert answer.status_code == 400
    html = answer.content.decode()
    assert (
        "Choose a time zone from the list" in html
        or "Null characters are not allowed" in html
        or "at most 64 characters" in html
    )
    account.refresh_from_db()
    assert account.time_zone == "Europe/London"


def test_a_post_without_the_zone_keeps_it(account, admin):
    account.time_zone = "Europe/Dublin"
    account.save()
    assert settings_post(admin, account).status_code == 302
    account.refresh_from_db()
    assert account.time_zone == "Europe/Dublin"


def test_a_receptionist_cannot_change_the_zone(account):
    receptionist = signed_in_client(StaffFactory(account=account, role=Staff.Role.RECEPTIONIST))
    assert settings_post(receptionist, account, time_zone="Asia/Tokyo").status_code == 403
    account.refresh_from_db()
    assert account.time_zone == "Europe/London"
