"""Texts and e-mails a caller can make the portal send are limited: a cooldown between
two, and a cap in any 24 hours.

Resending a request's text message (API and dashboard) and asking for a password
reset e-mail were unlimited: 20 of 20 resends were texted, 15 of 15 resets mailed. A
patient's phone or a colleague's inbox could be flooded, and every text costs the
clinic. Now the API answers 429 with Retry-After and the dashboard says in words when
to try again; a reset refused answers the same whether or not an account uses the
address, and never sends past the cap. Time moves by ageing what was sent.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from filerequests.models import Notification
from portal.accounts.models import PasswordResetThrottle
from portal.audit.models import AuditEvent
from tests.dashboard.conftest import signed_in_client
from tests.factories import FileRequestFactory, StaffFactory
from tests.filerequests.test_filerequests_api import create

pytestmark = pytest.mark.django_db

COOLDOWN = datetime.timedelta(seconds=settings.FILE_REQUEST_RESEND_COOLDOWN_SECONDS)
TEXTS_PER_DAY = settings.FILE_REQUEST_TEXTS_PER_DAY


def age_texts(file_request_id, by: datetime.timedelta) -> None:
    for notification in Notification.objects.filter(file_request_id=file_request_id):
        notification.created_at -= by
        notification.save(update_fields=["created_at"])


def texts(file_request_id) -> int:
    return Notification.objects.filter(file_request_id=file_request_id).count()


# --- Resending a request's text: the API --------------------------------------------------


def test_twenty_resends_in_a_row_send_no_text_and_say_when_to_retry(api, account):
    """GIVEN a request just created (its first text queued) WHEN it is resent 20 times
    at once THEN each answers 429 with a Retry-After within the cooldown and the reason
    in the API's error shape, and the patient gets no second text."""
    body = create(api, account).json()
    for _ in range(20):
        answer = api.post(f"/api/v1/file-requests/{body['id']}/resend")
        assert answer.status_code == 429, answer.content
        assert 1 <= int(answer["Retry-After"]) <= COOLDOWN.total_seconds()
        assert "text" in answer.json()["error"].lower()
    assert texts(body["id"]) == 1
    assert not AuditEvent.objects.filter(action="file_request.resend").exists()


def test_resends_past_the_cooldown_are_sent_up_to_the_daily_cap(api, account):
    """GIVEN a request whose last text is older than the cooldown each time
    WHEN it is resent again and again THEN texts are sent until the request has had
    the day's cap, then 429 with a Retry-After of hours (when the oldest of the day
    leaves the 24 hours), and nothing more is sent."""
    body = create(api, account).json()
    answers = []
    for _ in range(TEXTS_PER_DAY + 3):
        age_texts(body["id"], COOLDOWN + datetime.timedelta(seconds=1))
        answers.append(api.post(f"/api/v1/file-requests/{body['id']}/resend"))
    statuses = [answer.status_code for answer in answers]
    assert statuses == [200] * (TEXTS_PER_DAY - 1) + [429] * 4, statuses
    assert texts(body["id"]) == TEXTS_PER_DAY
    retry = int(answers[-1]["Retry-After"])
    assert 20 * 3600 < retry <= 24 * 3600, retry


def test_the_cap_is_a_rolling_24_hours(api, account):
    """GIVEN a request that had its day's cap of texts WHEN those are more than 24
    hours old THEN it may be resent again."""
    body = create(api, account).json()
    for _ in range(TEXTS_PER_DAY - 1):
        age_texts(body["id"], COOLDOWN + datetime.timedelta(seconds=1))
        assert api.post(f"/api/v1/file-requests/{body['id']}/resend").status_code == 200
    age_texts(body["id"], COOLDOWN + datetime.timedelta(seconds=1))
    assert api.post(f"/api/v1/file-requests/{body['id']}/resend").status_code == 429
    age_texts(body["id"], datetime.timedelta(hours=24))
    assert api.post(f"/api/v1/file-requests/{body['id']}/resend").status_code == 200


def test_one_requests_limit_does_not_hold_back_another(api, account):
    """GIVEN one request in its cooldown WHEN another request is resent THEN it is."""
    first = create(api, account).json()
    second = create(api, account, patientMobile="+447911123456").json()
    age_texts(second["id"], COOLDOWN + datetime.timedelta(seconds=1))
    assert api.post(f"/api/v1/file-requests/{first['id']}/resend").status_code == 429
    assert api.post(f"/api/v1/file-requests/{second['id']}/resend").status_code == 200


# --- Resending a request's text: the dashboard ---------------------------------------------


@pytest.fixture
def clinician_client(account):
    return signed_in_client(StaffFactory(account=account))


def test_the_dashboard_says_in_words_when_a_text_may_be_resent(clinician_client, account):
    """GIVEN a request texted a moment ago WHEN staff press Resend 20 times THEN no text
    is sent and the request page says a text was just sent and when to try again."""
    file_request = FileRequestFactory(account=account)
    Notification.objects.create(file_request=file_request)
    for _ in range(20):
        answer = clinician_client.post(f"/file-requests/{file_request.id}/resend/", follow=True)
        html = answer.content.decode()
        assert "A text was sent to the patient less than a minute ago" in html, html
        assert "Try again in 1 minute" in html
    assert texts(file_request.id) == 1


def test_the_dashboard_says_when_the_days_texts_are_used_up(clinician_client, account):
    """GIVEN a request texted the day's cap of times WHEN staff press Resend THEN nothing
    is sent and the page says how many texts the day allows and when the next may go."""
    file_request = FileRequestFactory(account=account)
    for hours in range(TEXTS_PER_DAY):
        Notification.objects.create(
            file_request=file_request,
            created_at=timezone.now() - datetime.timedelta(hours=hours + 1),
        )
    html = clinician_client.post(
        f"/file-requests/{file_request.id}/resend/", follow=True
    ).content.decode()
    assert f"already been texted {TEXTS_PER_DAY} times in 24 hours" in html, html
    assert "The next text can go after" in html
    assert texts(file_request.id) == TEXTS_PER_DAY


# --- Password reset e-mails -----------------------------------------------------------------

RESET_COOLDOWN = datetime.timedelta(seconds=settings.PASSWORD_RESET_COOLDOWN_SECONDS)
RESETS_PER_DAY = settings.PASSWORD_RESET_EMAILS_PER_DAY


def ask_reset(email: str):
    return Client().post("/password-reset/", {"email": email})


def age_resets(by: datetime.timedelta) -> None:
    for row in PasswordResetThrottle.objects.all():
        row.sent_at = [(datetime.datetime.fromisoformat(at) - by).isoformat() for at in row.sent_at]
        row.save(update_fields=["sent_at"])


def shape(answer, email: str) -> tuple:
    """What a person sees of an answer, the e-mail typed and the form's token left out."""
    text = answer.content.decode() if answer.status_code != 302 else answer["Location"]
    text = re.sub(r'"csrfmiddlewaretoken" value="[^"]*"|"X-CSRFToken": "[^"]*"', "", text)
    return answer.status_code, text.replace(email, "<typed>")


@pytest.fixture
def colleague(account):
    return StaffFactory(account=account, user__email="clin.b@example.org")


def test_fifteen_resets_in_a_row_mail_one_link(colleague):
    """GIVEN a staff member's address WHEN a reset is asked for 15 times at once THEN one
    e-mail is sent, and each later ask answers 429 saying a link was asked for a
    moment ago and when another may be asked for."""
    answers = [ask_reset("clin.b@example.org") for _ in range(15)]
    assert answers[0].status_code == 302
    assert len(mail.outbox) == 1
    for answer in answers[1:]:
        assert answer.status_code == 429
        html = answer.content.decode()
        assert "A reset link was asked for this address less than a minute ago" in html
        assert "Try again in 1 minute" in html


def test_resets_past_the_cooldown_are_mailed_up_to_the_daily_cap(colleague):
    """GIVEN resets asked for further apart than the cooldown WHEN asked for again and
    again THEN e-mails go until the day's cap, then 429 in words, and no more e-mail."""
    statuses = []
    for _ in range(RESETS_PER_DAY + 3):
        statuses.append(ask_reset("clin.b@example.org").status_code)
        age_resets(RESET_COOLDOWN + datetime.timedelta(seconds=1))
    assert statuses == [302] * RESETS_PER_DAY + [429] * 3, statuses
    assert len(mail.outbox) == RESETS_PER_DAY
    refused = ask_reset("clin.b@example.org").content.decode()
    assert f"{RESETS_PER_DAY} reset links were asked for this address in 24 hours" in refused
    age_resets(datetime.timedelta(hours=24))
    assert ask_reset("clin.b@example.org").status_code == 302
    assert len(mail.outbox) == RESETS_PER_DAY + 1


@pytest.mark.parametrize(
    "spelling",
    ["CLIN.B@EXAMPLE.ORG", " clin.b@example.org ", "Clin.B@Example.Org", "\uff43lin.b@example.org"],
)
def test_another_spelling_of_the_address_shares_its_limit(colleague, spelling):
    """GIVEN a reset just mailed to an address WHEN asked again with the address in
    capitals, with spaces, or with a full-width letter THEN no second e-mail: the
    spelling is refused for the address's limit (or, full-width, as no address)."""
    assert ask_reset("clin.b@example.org").status_code == 302
    assert ask_reset(spelling).status_code == (429 if spelling.isascii() else 200)
    assert len(mail.outbox) == 1
    for _ in range(RESETS_PER_DAY):
        age_resets(RESET_COOLDOWN + datetime.timedelta(seconds=1))
        ask_reset(spelling)
    assert len(mail.outbox) <= RESETS_PER_DAY


def test_the_answer_never_tells_whether_an_account_uses_the_address(colleague):
    """GIVEN a staff member's address and one no account uses WHEN each is asked for
    again and again THEN the answers are the same, ask by ask: the page, its status and
    words; only the real address gets e-mail, never past the cap."""
    for _ in range(RESETS_PER_DAY + 2):
        real = ask_reset("clin.b@example.org")
        made_up = ask_reset("nobody@example.org")
        assert shape(real, "clin.b@example.org") == shape(made_up, "nobody@example.org")
        age_resets(datetime.timedelta(seconds=5))
    assert len(mail.outbox) == 1
    assert {message.to[0] for message in mail.outbox} == {"clin.b@example.org"}
