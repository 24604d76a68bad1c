"""A link replaced by a newer text says so: after staff unlock a locked link and text a
new one, or ask again after a request lapsed, the old link tells the patient a newer
text was sent and to use that one (not "we could not find a request"). It still opens
nothing: the right date of birth on it starts no session."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from filerequests import staff_actions
from filerequests.models import FileRequest
from portal.accounts.models import Staff
from portal.audit.services import Actor
from tests.factories import FileRequestFactory, PatientFactory, StaffFactory

pytestmark = pytest.mark.django_db

DOB = datetime.date(1980, 6, 17)
RIGHT = {"day": "17", "month": "6", "year": "1980"}
NEWER = "A newer link was sent to you"
USE_IT = "Please use the link in that newer message."


@pytest.fixture
def file_request(account):
    patient = PatientFactory(account=account, date_of_birth=DOB, mobile="+447700900123")
    return FileRequestFactory(account=account, patient=patient)


def unlock_and_resend(file_request) -> FileRequest:
    FileRequest.objects.filter(pk=file_request.pk).update(
        locked_until=timezone.now() + datetime.timedelta(minutes=30), failed_attempts=5
    )
    staff = StaffFactory(account=file_request.account, role=Staff.Role.CLINICIAN)
    return staff_actions.file_request_unlock_and_resend(
        file_request=file_request, actor=Actor.for_staff(staff)
    )


def test_an_unlocked_and_resent_links_old_link_says_a_newer_text_was_sent(file_request):
    """GIVEN a locked link that staff unlocked and texted again
    WHEN the patient opens the old link from the first text, and even answers the date
    of birth right on it
    THEN the page (410) names the clinic, says a newer text was sent and to use that one;
    the answer starts no session (the upload page stays closed); the new link works."""
    old_link = f"/r/{file_request.short_link_id}"
    renewed = unlock_and_resend(file_request)
    client = Client()

    opened = client.get(old_link)
    answered = client.post(old_link, RIGHT)

    for response in (opened, answered):
        assert response.status_code == 410
        html = response.content.decode()
        assert NEWER in html and USE_IT in html
        assert "Riverside Clinic" in html
        assert "could not find a request" not in html
    assert client.get("/r/upload").status_code == 403
    assert Client().post(f"/r/{renewed.short_link_id}", RIGHT).status_code == 302


def test_each_link_replaced_in_turn_says_so(file_request):
    """GIVEN a link unlocked and resent twice
    THEN both older links say a newer text was sent."""
    first = file_request.short_link_id
    second = unlock_and_resend(file_request).short_link_id
    unlock_and_resend(FileRequest.objects.get(pk=file_request.pk))

    for link in (first, second):
        assert NEWER in Client().get(f"/r/{link}").content.decode()


def test_an_expired_link_asked_again_says_a_newer_text_was_sent(file_request, account):
    """GIVEN a request whose link lapsed, and staff who asked the patient again (a new
    request following it, with its own text)
    WHEN the patient opens the lapsed link
    THEN it says a newer text was sent and to use that one; a lapsed link nobody asked
    again still says it has expired; once the newer one lapses too, so does this."""
    FileRequest.objects.filter(pk=file_request.pk).update(
        short_link_expires_at=timezone.now() - datetime.timedelta(days=1)
    )
    lone = FileRequestFactory(
        account=account,
        patient=file_request.patient,
        short_link_expires_at=timezone.now() - datetime.timedelta(days=1),
    )
    newer = FileRequestFactory(account=account, patient=file_request.patient)
    FileRequest.objects.filter(pk=newer.pk).update(follow_up_of=file_request)

    replaced = Client().get(f"/r/{file_request.short_link_id}")
    assert replaced.status_code == 410
    assert NEWER in replaced.content.decode() and USE_IT in replaced.content.decode()
    expired = Client().get(f"/r/{lone.short_link_id}").content.decode()
    assert "This link has expired" in expired and NEWER not in expired

    FileRequest.objects.filter(pk=newer.pk).update(status=FileRequest.Status.CANCELLED)
    assert (
        "This link has expired" in Client().get(f"/r/{file_request.short_link_id}").content.decode()
    )


def test_a_replaced_link_is_not_counted_as_a_made_up_one(file_request, settings):
    """Opening a replaced link many times is a patient with an old text, not someone
    guessing links: it never trips the made-up-links limit of their address."""
    settings.FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR = 2
    old_link = f"/r/{file_request.short_link_id}"
    unlock_and_resend(file_request)

    answers = [Client().get(old_link).status_code for _ in range(4)]

    assert answers == [410] * 4
