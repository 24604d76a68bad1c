"""Links locked by wrong dates of birth: visible to staff with when it happened and the
date of birth on record, and recoverable with "Unlock and resend" (a new link, the old
one dead, audited)."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.utils import timezone

from filerequests import services
from filerequests.models import FileRequest, Notification
from portal.audit.models import AuditEvent
from tests.factories import FileRequestFactory, PatientFactory

pytestmark = pytest.mark.django_db

BORN = datetime.date(1975, 2, 14)


def guess(file_request_or_link, date_of_birth, address="203.0.113.9"):
    """A visitor's date-of-birth answer, through the same check the patient page uses."""
    link = getattr(file_request_or_link, "short_link_id", file_request_or_link)
    request = RequestFactory().post("/r/check", REMOTE_ADDR=address)
    return services.dob_check(short_link_id=link, date_of_birth=date_of_birth, request=request)


def locked_request(account, clinician) -> FileRequest:
    patient = PatientFactory(account=account, first_name="Nadia", date_of_birth=BORN)
    file_request = FileRequestFactory(account=account, patient=patient, staff=clinician)
    for day in range(1, settings.FILE_REQUEST_DOB_MAX_ATTEMPTS + 1):
        outcome = guess(file_request, datetime.date(1975, 3, day))
    assert outcome.outcome == "locked"
    file_request.refresh_from_db()
    return file_request


def test_a_locked_link_says_so_on_the_request_page_and_the_list(
    clinician_client, account, clinician
):
    """GIVEN a request whose link five wrong dates of birth locked
    WHEN staff open the request's page and the list
    THEN both say "Locked after 5 wrong dates of birth at HH:MM"; the page shows the
    date of birth on record, "Unlock and resend", and no "Resend text" (which would
    send the locked link again)."""
    file_request = locked_request(account, clinician)
    at = timezone.localtime(file_request.locked_at, account.zone).strftime("%H:%M %Z")
    assert abs((file_request.locked_at - timezone.now()).total_seconds()) < 60
    html = clinician_client.get(f"/file-requests/{file_request.id}/").content.decode()
    assert f"Locked after 5 wrong dates of birth at {at}" in html
    assert "14 February 1975" in html
    assert "Unlock and resend" in html
    assert "Resend text" not in html
    assert "link not opened yet" not in html
    listed = clinician_client.get("/file-requests/").content.decode()
    assert f"Locked after 5 wrong dates of birth at {at}" in listed


def test_unlock_and_resend_sends_a_new_link_and_kills_the_old(clinician_client, account, clinician):
    """GIVEN a locked link WHEN staff press "Unlock and resend"
    THEN the request has a new short link, a text message is queued for it, the lock and
    the attempt count are cleared, the unlock is audited with who did it; the old link
    answers as unknown, the new one accepts the right date of birth."""
    file_request = locked_request(account, clinician)
    old_link = file_request.short_link_id
    messages_before = Notification.objects.filter(file_request=file_request).count()
    response = clinician_client.post(f"/file-requests/{file_request.id}/unlock/", follow=True)
    assert "Unlocked. A new link is being texted to +44" in response.content.decode()
    file_request.refresh_from_db()
    assert file_request.short_link_id != old_link
    assert file_request.locked_until is None and file_request.failed_attempts == 0
    assert Notification.objects.filter(file_request=file_request).count() == messages_before + 1
    event = AuditEvent.objects.get(action="file_request.unlock", target_id=str(file_request.id))
    assert event.actor_id == str(clinician.id)
    assert "Locked after" not in response.content.decode()
    assert guess(old_link, BORN, address="203.0.113.10").outcome == "unknown"
    assert guess(file_request, BORN, address="203.0.113.11").outcome == "verified"


@pytest.mark.parametrize("state", ["never locked", "lock ran out", "cancelled", "expired"])
def test_unlock_refuses_what_is_not_locked_and_changes_nothing(
    clinician_client, account, clinician, state
):
    """GIVEN a request that is not (or no longer) locked, or is closed
    WHEN "Unlock and resend" is posted anyway (an old tab, a replay)
    THEN a message says why, the link is unchanged and no text message or audit event
    is added."""
    if state == "never locked":
        file_request = FileRequestFactory(account=account, staff=clinician)
    else:
        file_request = locked_request(account, clinician)
        if state == "lock ran out":
            file_request.locked_until = timezone.now() - datetime.timedelta(seconds=1)
        elif state == "cancelled":
            file_request.status = FileRequest.Status.CANCELLED
        else:
            file_request.short_link_expires_at = timezone.now() - datetime.timedelta(seconds=1)
        file_request.save()
    link = file_request.short_link_id
    messages_before = Notification.objects.filter(file_request=file_request).count()
    response = clinician_client.post(f"/file-requests/{file_request.id}/unlock/", follow=True)
    html = response.content.decode()
    assert ("is not locked" in html) or ("cannot be unlocked" in html)
    file_request.refresh_from_db()
    assert file_request.short_link_id == link
    assert Notification.objects.filter(file_request=file_request).count() == messages_before
    assert not AuditEvent.objects.filter(action="file_request.unlock").exists()


def test_unlock_is_a_post_only_and_another_clinic_gets_404(
    clinician_client, account, clinician, other_account
):
    file_request = locked_request(account, clinician)
    assert clinician_client.get(f"/file-requests/{file_request.id}/unlock/").status_code == 405
    foreign = locked_request(other_account, FileRequestFactory(account=other_account).staff)
    assert clinician_client.post(f"/file-requests/{foreign.id}/unlock/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.is_locked()
