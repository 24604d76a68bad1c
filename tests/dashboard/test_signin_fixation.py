"""Session fixation at the sign-in: a session key the attacker holds is worth nothing
once the victim's password is accepted.

The review planted a session key of the attacker's own (one from a patient-link
session serves) in the victim's browser; the victim's password step then wrote their
half-signed-in state into that session, and the attacker opened /login/enrol/, read
the secret and could enrol an authenticator of their own. Now the key (and the CSRF
token) change when the password is accepted, and again when the second factor is
verified. Each way an attacker can come by a session key is planted in front of each
kind of person who signs in.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import Staff
from tests.dashboard.conftest import (
    PASSWORD,
    code_for_secret,
    confirmed_device_for,
    current_code,
    displayed_secret,
)
from tests.factories import (
    AccountFactory,
    FileRequestFactory,
    PatientFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ATTACKER_CODE = code_for_secret("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")


def session_key_of(client: Client) -> str | None:
    cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)
    return cookie.value if cookie is not None and cookie.value else None


def csrf_cookie_of(client: Client) -> str | None:
    cookie = client.cookies.get(settings.CSRF_COOKIE_NAME)
    return cookie.value if cookie is not None and cookie.value else None


def form_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def post_form(client: Client, path: str, data: dict):
    """Open the page, then post its form with the token it carries, as a browser does
    (the client enforces CSRF, so a token that no longer matches the cookie fails)."""
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code, page.get("Location"))
    return client.post(path, {**data, "csrfmiddlewaretoken": form_token(page.content.decode())})


# --- Where an attacker gets a session key from ------------------------------------------------


def key_from_a_patient_link(attacker: Client) -> None:
    """Anyone with a photo-request link: open it and pass the date-of-birth check."""
    account = AccountFactory()
    patient = PatientFactory(account=account, date_of_birth=datetime.date(1980, 6, 17))
    file_request = FileRequestFactory(account=account, patient=patient)
    link = f"/r/{file_request.short_link_id}"
    attacker.get(link)
    answer = attacker.post(link, {"day": "17", "month": "6", "year": "1980"})
    assert answer.status_code == 302


def key_from_their_own_half_sign_in(attacker: Client) -> None:
    """A staff member of another clinic: their own password, stopped at the code step."""
    insider = StaffFactory(role=Staff.Role.CLINICIAN).user
    confirmed_device_for(insider)
    answer = attacker.post("/login/", {"username": insider.email, "password": PASSWORD})
    assert answer["Location"] == "/login/verify/"


def key_from_a_password_reset_link(attacker: Client) -> None:
    """Anyone with a sign-in: a reset link of their own keeps its token in the session."""
    insider = UserFactory()
    uid = urlsafe_base64_encode(force_bytes(insider.pk))
    token = default_token_generator.make_token(insider)
    answer = attacker.get(f"/password-reset/{uid}/{token}/")
    assert answer.status_code == 302


SOURCES = {
    "a patient-link session": key_from_a_patient_link,
    "the attacker's own half-finished sign-in": key_from_their_own_half_sign_in,
    "a password-reset session": key_from_a_password_reset_link,
}


# --- Who signs in -------------------------------------------------------------------------------


def victim_of(kind: str, account):
    if kind.startswith("superuser"):
        user = UserFactory(is_staff=True, is_superuser=True)
    else:
        role = kind.split(" ")[0]
        user = StaffFactory(account=account, role=role).user
    if kind.endswith("with an authenticator"):
        confirmed_device_for(user)
    return user


VICTIMS = [
    "admin",
    "admin with an authenticator",
    "superuser",
    "clinician",
    "receptionist",
    "clinician with an authenticator",
]


def second_factor(victim: Client, user, at: str):
    if at == "/login/verify/":
        return post_form(victim, at, {"token": current_code(TOTPDevice.objects.get(user=user))})
    secret = displayed_secret(victim.get(at).content.decode())
    return post_form(victim, at, {"token": code_for_secret(secret)})


@pytest.mark.parametrize("source", list(SOURCES))
@pytest.mark.parametrize("kind", VICTIMS)
def test_a_planted_session_key_is_worthless_after_the_password(account, source, kind):
    """GIVEN a session key the attacker holds, planted in the victim's browser
    WHEN the victim types their password (and later their code)
    THEN the victim's session has a new key and a new CSRF token after the password and
    again after the code; the attacker's key reaches neither the code step nor the
    enrolment secret, enrols nothing, and never becomes the victim's signed-in session."""
    user = victim_of(kind, account)
    devices_before = list(TOTPDevice.objects.filter(user=user).values_list("pk", "key"))
    attacker = Client()
    SOURCES[source](attacker)
    planted = session_key_of(attacker)
    assert planted

    victim = Client(enforce_csrf_checks=True)
    victim.cookies[settings.SESSION_COOKIE_NAME] = planted
    victim.get("/login/")
    csrf_before = csrf_cookie_of(victim)
    assert csrf_before
    after_password = post_form(victim, "/login/", {"username": user.email, "password": PASSWORD})
    assert after_password.status_code == 302
    step = after_password["Location"]
    assert step in ("/login/enrol/", "/login/verify/")
    key_after_password = session_key_of(victim)
    csrf_after_password = csrf_cookie_of(victim)
    assert key_after_password and key_after_password != planted
    assert csrf_after_password and csrf_after_password != csrf_before

    for path in ("/login/enrol/", "/login/verify/"):
        answer = attacker.get(path)
        assert answer.status_code == 302, (path, answer.status_code)
        assert answer["Location"] == "/login/"
        assert 'data-testid="totp-secret"' not in answer.content.decode()
        assert user.email not in attacker.get(answer["Location"]).content.decode()
    attacker.post("/login/enrol/", {"token": ATTACKER_CODE})
    attacker.post("/login/verify/", {"token": ATTACKER_CODE})
    assert list(TOTPDevice.objects.filter(user=user).values_list("pk", "key")) == devices_before

    done = second_factor(victim, user, step)
    assert done.status_code == 302 and not done["Location"].startswith("/login/")
    assert victim.session[SESSION_KEY] == str(user.pk)
    key_signed_in = session_key_of(victim)
    assert key_signed_in not in (planted, key_after_password)
    assert csrf_cookie_of(victim) not in (csrf_before, csrf_after_password)

    assert SESSION_KEY not in attacker.session
    assert attacker.get("/patients/")["Location"].startswith("/login/")
    assert attacker.get("/security/")["Location"].startswith("/login/")


def test_the_old_key_of_the_victim_s_own_session_is_gone_after_the_password(admin_staff):
    """GIVEN a victim's browser with a session of its own (say, an earlier patient-link
    visit on a shared computer) WHEN the password is accepted
    THEN the key it had no longer opens any session, half-signed-in or other."""
    browser = Client()
    key_from_a_patient_link(browser)
    old_key = session_key_of(browser)
    browser.post("/login/", {"username": admin_staff.user.email, "password": PASSWORD})
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_key
    answer = replay.get("/login/enrol/")
    assert answer.status_code == 302 and answer["Location"] == "/login/"
    assert browser.get("/login/enrol/").status_code == 200
