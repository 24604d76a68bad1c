"""TOTP secrets are fresh per enrolment session.

The review found the unconfirmed device reused across sessions: whoever opened the
enrolment page first kept a working second factor after the real person enrolled.
Each door that enrols (the sign-in's enrolment step, Security) is walked with an
earlier viewer who must end up holding nothing that works.
"""

from __future__ import annotations

import base64

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.dashboard.conftest import (
    PASSWORD,
    code_for_secret,
    displayed_secret,
)

pytestmark = pytest.mark.django_db

# dashboard.twofactor.ENROLMENT_SESSION_KEY, spelled out so this file runs on older code.
ENROLMENT_SESSION_KEY = "dashboard_totp_enrolment"

DOORS = ["sign-in enrolment", "security page"]


def enrolment_page(client: Client, user, door: str) -> str:
    """Open the enrolment page through ``door`` in ``client``'s session; its HTML."""
    if door == "sign-in enrolment":
        client.post("/login/", {"username": user.email, "password": PASSWORD})
        return client.get("/login/enrol/").content.decode()
    client.force_login(user)
    return client.get("/security/two-factor/").content.decode()


def enrolment_post(client: Client, door: str, code: str):
    path = "/login/enrol/" if door == "sign-in enrolment" else "/security/two-factor/"
    return client.post(path, {"token": code})


def user_for(door: str, admin_staff, clinician):
    # The sign-in enrols those who must use a code; Security anyone who has none.
    return admin_staff.user if door == "sign-in enrolment" else clinician.user


def signs_in_with_code(user, code: str) -> bool:
    client = Client()
    client.post("/login/", {"username": user.email, "password": PASSWORD})
    client.post("/login/verify/", {"token": code})
    return SESSION_KEY in client.session


@pytest.mark.parametrize("door", DOORS)
def test_whoever_saw_an_earlier_enrolment_page_holds_no_working_secret(
    door, admin_staff, clinician
):
    """GIVEN someone who opened the enrolment page first, in their own session
    WHEN the real person opens it in theirs and confirms their code
    THEN the two pages showed different secrets, the confirmed device has the real
    person's key, and codes from the earlier page sign no one in."""
    user = user_for(door, admin_staff, clinician)
    early = displayed_secret(enrolment_page(Client(), user, door))
    real_session = Client()
    real = displayed_secret(enrolment_page(real_session, user, door))
    assert early != real

    done = enrolment_post(real_session, door, code_for_secret(real))
    assert done.status_code == 302
    [device] = TOTPDevice.objects.filter(user=user)
    assert device.confirmed
    assert not signs_in_with_code(user, code_for_secret(early))


@pytest.mark.parametrize("door", DOORS)
def test_an_unconfirmed_device_left_by_older_code_is_removed_and_never_shown(
    door, admin_staff, clinician
):
    """GIVEN an unconfirmed device made before this fix (whose key someone may have seen)
    WHEN the person opens the enrolment page and confirms
    THEN the page shows another key, the old row is gone, and its codes do not work."""
    user = user_for(door, admin_staff, clinician)
    seeded = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    seeded_secret = base64.b32encode(seeded.bin_key).decode().rstrip("=")
    seeded_code = code_for_secret(seeded_secret)
    client = Client()
    secret = displayed_secret(enrolment_page(client, user, door))
    assert secret.replace(" ", "") != seeded_secret
    assert not TOTPDevice.objects.filter(pk=seeded.pk).exists()

    stale = enrolment_post(client, door, seeded_code)
    assert "That code did not work" in stale.content.decode()
    enrolment_post(client, door, code_for_secret(secret))
    assert list(TOTPDevice.objects.filter(user=user).values_list("confirmed", flat=True)) == [True]


@pytest.mark.parametrize("door", DOORS)
def test_nothing_is_stored_until_the_first_code_is_right(door, admin_staff, clinician):
    """GIVEN the enrolment page, opened and reloaded, with a wrong code posted
    THEN no device row exists, the key is the same across reloads of one session, and
    once confirmed the session no longer holds the key."""
    user = user_for(door, admin_staff, clinician)
    client = Client()
    first = displayed_secret(enrolment_page(client, user, door))
    path = "/login/enrol/" if door == "sign-in enrolment" else "/security/two-factor/"
    reloaded = displayed_secret(client.get(path).content.decode())
    assert first == reloaded
    enrolment_post(client, door, "000000")
    assert not TOTPDevice.objects.filter(user=user).exists()

    enrolment_post(client, door, code_for_secret(first))
    assert TOTPDevice.objects.get(user=user).confirmed
    assert ENROLMENT_SESSION_KEY not in client.session


def test_each_new_password_step_gets_a_new_secret(admin_staff):
    """GIVEN one browser that signs in three times up to the enrolment step
    THEN three different secrets (a new attempt is a new enrolment session)."""
    client = Client()
    secrets_seen = {
        displayed_secret(enrolment_page(client, admin_staff.user, "sign-in enrolment"))
        for _ in range(3)
    }
    assert len(secrets_seen) == 3
