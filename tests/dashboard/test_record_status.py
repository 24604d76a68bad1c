"""The patient's record tells the truth about each request: the same status word as the
request's page and the list (one function decides it), Locked included, with Unlock and
resend on the record itself, through the same service and checks as the request page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from filerequests.models import FileRequest, Notification
from filerequests.selectors import file_request_status_shown
from portal.audit.models import AuditEvent
from tests.dashboard.conftest import signed_in_client
from tests.dashboard.test_locked_links import locked_request
from tests.factories import FileRequestFactory, StaffFactory

pytestmark = pytest.mark.django_db


def record_statuses(client, patient) -> list[str]:
    html = client.get(f"/patients/{patient.id}/").content.decode()
    section = html[html.index('id="file-requests"') :]
    return re.findall(r'class="badge badge-status badge-(\w+)">([^<]+)<', section)


def list_statuses(client) -> list[str]:
    html = client.get("/file-requests/").content.decode()
    return re.findall(r'class="badge badge-status badge-(\w+)">([^<]+)<', html)


def page_status(client, file_request) -> tuple[str, str]:
    html = client.get(f"/file-requests/{file_request.id}/").content.decode()
    found = re.search(
        r'data-testid="request-status"><span class="badge badge-status badge-(\w+)">([^<]+)<',
        html,
    )
    return found.groups()


def test_a_locked_link_reads_locked_on_the_record_as_on_the_list_and_its_page(
    clinician_client, account, clinician
):
    file_request = locked_request(account, clinician)
    assert record_statuses(clinician_client, file_request.patient) == [("locked", "Locked")]
    assert list_statuses(clinician_client) == [("locked", "Locked")]
    assert page_status(clinician_client, file_request) == ("locked", "Locked")


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        ({}, ("sent", "Sent")),
        ({"status": "opened"}, ("opened", "Opened")),
        ({"status": "answered"}, ("answered", "Answered")),
        ({"status": "cancelled"}, ("cancelled", "Cancelled")),
        ({"status": "expired"}, ("expired", "Expired")),
        # The link lapsed before the sweep marked it: it no longer works, so it is expired.
        ({"short_link_expires_at": -1}, ("expired", "Expired")),
        ({"status": "opened", "short_link_expires_at": -1}, ("expired", "Expired")),
        # Answered and lapsed: what the patient did is the news.
        ({"status": "answered", "short_link_expires_at": -1}, ("answered", "Answered")),
        ({"locked_until": 60}, ("locked", "Locked")),
        ({"status": "answered", "locked_until": 60}, ("locked", "Locked")),
        # A lock that ran out, or on a request that is over, is not shown.
        ({"locked_until": -60}, ("sent", "Sent")),
        ({"status": "cancelled", "locked_until": 60}, ("cancelled", "Cancelled")),
        ({"locked_until": 60, "short_link_expires_at": -1}, ("expired", "Expired")),
    ],
)
def test_one_function_decides_the_word_everywhere(
    clinician_client, account, clinician, changes, shown
):
    now = timezone.now()
    values = {
        name: now + dt.timedelta(seconds=value) if isinstance(value, int) else value
        for name, value in changes.items()
    }
    file_request = FileRequestFactory(account=account, staff=clinician, **values)
    assert file_request_status_shown(file_request) == shown
    assert record_statuses(clinician_client, file_request.patient) == [shown]
    assert list_statuses(clinician_client) == [shown]
    assert page_status(clinician_client, file_request) == shown


def test_unlock_and_resend_from_the_record(clinician_client, account, clinician):
    """GIVEN a locked request WHEN staff press Unlock and resend on the patient's record
    THEN they are back on the record, which reads Sent; the old link is dead, a new text
    is queued to the patient's mobile, and the unlock is audited as on the request page."""
    file_request = locked_request(account, clinician)
    old_link = file_request.short_link_id
    html = clinician_client.get(f"/patients/{file_request.patient_id}/").content.decode()
    assert "Unlock and resend" in html
    answer = clinician_client.post(
        f"/file-requests/{file_request.id}/unlock/", {"next": "record"}, follow=True
    )
    assert answer.redirect_chain[0] == (f"/patients/{file_request.patient_id}/#file-requests", 302)
    assert "Unlocked. A new link is being texted" in answer.content.decode()
    file_request.refresh_from_db()
    assert file_request.locked_until is None and file_request.short_link_id != old_link
    assert Notification.objects.filter(file_request=file_request).count() == 1
    assert AuditEvent.objects.filter(action="file_request.unlock").count() == 1
    assert record_statuses(clinician_client, file_request.patient) == [("sent", "Sent")]
    assert (
        "Unlock and resend"
        not in clinician_client.get(f"/patients/{file_request.patient_id}/").content.decode()
    )


def test_a_link_not_locked_is_not_unlocked_and_says_why_on_the_record(
    clinician_client, account, clinician
):
    file_request = FileRequestFactory(account=account, staff=clinician)
    answer = clinician_client.post(
        f"/file-requests/{file_request.id}/unlock/", {"next": "record"}, follow=True
    )
    assert answer.redirect_chain[0][0] == f"/patients/{file_request.patient_id}/#file-requests"
    assert "This link is not locked." in answer.content.decode()
    assert not Notification.objects.filter(file_request=file_request).exists()
    assert not AuditEvent.objects.filter(action="file_request.unlock").exists()


@pytest.mark.parametrize(
    "next_value", ["https://evil.example/", "//evil.example", "/admin/", "RECORD", ""]
)
def test_only_the_record_is_a_place_to_return_to(clinician_client, account, clinician, next_value):
    file_request = locked_request(account, clinician)
    answer = clinician_client.post(
        f"/file-requests/{file_request.id}/unlock/", {"next": next_value}
    )
    assert answer.status_code == 302
    assert answer["Location"] == f"/file-requests/{file_request.id}/"


def test_unlock_keeps_its_checks_from_the_record(account, other_account, clinician):
    """Another clinic's staff get 404 and change nothing; a visitor is sent to sign in;
    a GET changes nothing."""
    file_request = locked_request(account, clinician)
    stranger = signed_in_client(StaffFactory(account=other_account))
    url = f"/file-requests/{file_request.id}/unlock/"
    assert stranger.post(url, {"next": "record"}).status_code == 404
    assert Client().post(url, {"next": "record"}).status_code == 302
    assert signed_in_client(clinician).get(url).status_code == 405
    file_request.refresh_from_db()
    assert file_request.is_locked()
    assert not AuditEvent.objects.filter(action="file_request.unlock").exists()
    assert FileRequest.objects.get(pk=file_request.pk).short_link_id == file_request.short_link_id
