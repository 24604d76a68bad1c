"""Every staff sign-in has a second factor, whatever the role.

The UX review found a new clinician or receptionist signing in with a password alone
and seeing every patient's photos: only admins had to use a code. Now everyone who
signs in sets up an authenticator at their first sign-in, before any page of patient
data opens, and uses its code from then on; nobody can turn it off.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import Staff
from tests.dashboard.conftest import (
    PASSWORD,
    code_for_secret,
    confirmed_device_for,
    current_code,
    displayed_secret,
    signed_in_client,
)
from tests.dashboard.routes import PAGES
from tests.dashboard.test_access import build_world  # noqa: F401  (this module's world)
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = [Staff.Role.CLINICIAN, Staff.Role.RECEPTIONIST, Staff.Role.ADMIN]
MEMBER_PAGES = sorted(name for name, rule in PAGES.items() if not rule.public and not rule.admin)


def member_urls(world) -> list[tuple[str, str]]:
    return [
        (method, reverse(f"dashboard:{name}", kwargs=PAGES[name].kwargs(world)))
        for name in MEMBER_PAGES
        for method in PAGES[name].methods
    ]


def shows_patient(response, world) -> bool:
    html = response.content.decode(errors="replace")
    return world.patient.first_name in html or world.patient.last_name in html


@pytest.mark.parametrize("role", ROLES)
def test_the_first_sign_in_of_every_role_sets_up_a_code_before_any_patient_data(
    world,
    role,
):
    """GIVEN a member of each role who has never set up an authenticator
    WHEN their password is right
    THEN they are sent to set one up; until it is confirmed no page of the dashboard
    and no API answer shows a patient; once confirmed they are in, verified."""
    user = StaffFactory(account=world.account, role=role).user
    client = Client()
    response = client.post("/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/login/enrol/"
    assert SESSION_KEY not in client.session

    for method, url in member_urls(world):
        answer = client.generic(method, url)
        assert answer.status_code == 302, (method, url, answer.status_code)
        assert answer["Location"].startswith("/login/"), (method, url, answer["Location"])
    api = client.get("/api/v1/patients", HTTP_ACCEPT="application/json")
    assert api.status_code == 401
    assert not shows_patient(api, world)

    secret = displayed_secret(client.get("/login/enrol/").content.decode())
    done = client.post("/login/enrol/", {"token": code_for_secret(secret)})
    assert done["Location"] == "/"
    assert TOTPDevice.objects.get(user=user).confirmed
    patients = client.get("/patients/")
    assert patients.status_code == 200
    assert shows_patient(patients, world)


@pytest.mark.parametrize("role", [Staff.Role.CLINICIAN, Staff.Role.RECEPTIONIST])
def test_a_member_with_an_authenticator_needs_its_code(world, role):
    """GIVEN a clinician or receptionist with an authenticator WHEN the password is right
    THEN the code is asked for, a wrong one is refused, the right one signs in."""
    user = StaffFactory(account=world.account, role=role).user
    device = confirmed_device_for(user)
    client = Client()
    assert client.post("/login/", {"username": user.email, "password": PASSWORD})["Location"] == (
        "/login/verify/"
    )
    client.post("/login/verify/", {"token": "000000"})
    assert SESSION_KEY not in client.session
    device.refresh_from_db()
    device.throttle_reset()
    assert client.post("/login/verify/", {"token": current_code(device)})["Location"] == "/"
    assert shows_patient(client.get("/patients/"), world)


@pytest.mark.parametrize("role", ROLES)
def test_a_session_signed_in_with_a_password_only_sees_no_patient(world, role):
    """GIVEN a session signed in with a password only (one left from before every role
    needed a code) WHEN it opens any member's page, by any method, or the API
    THEN each sends it to set up two-factor sign-in, and shows no patient."""
    user = StaffFactory(account=world.account, role=role).user
    client = Client()
    client.force_login(user)
    for method, url in member_urls(world):
        answer = client.generic(method, url)
        if url == "/security/two-factor/":
            assert answer.status_code == 200
            assert 'data-testid="totp-secret"' in answer.content.decode()
            continue
        assert answer.status_code == 302, (method, url, answer.status_code)
        assert answer["Location"] == "/security/two-factor/", (method, url)
        assert not shows_patient(answer, world)
    api = client.get("/api/v1/patients", HTTP_ACCEPT="application/json")
    assert api.status_code == 401
    assert "authentication code" in api.json()["error"]


@pytest.mark.parametrize("role", [Staff.Role.CLINICIAN, Staff.Role.RECEPTIONIST])
def test_nobody_can_turn_two_factor_sign_in_off(world, role):
    """GIVEN a verified clinician or receptionist WHEN they post "Turn off" on Security
    THEN their authenticator stays, the page says why, and it offers no such button."""
    staff = StaffFactory(account=world.account, role=role)
    client = signed_in_client(staff)
    page = client.get("/security/").content.decode()
    assert "two-factor-disable" not in page and "Turn off" not in page
    answer = client.post("/security/two-factor/disable/", follow=True)
    assert "Everyone who signs in must keep two-factor sign-in on." in answer.content.decode()
    assert TOTPDevice.objects.filter(user=staff.user, confirmed=True).exists()


def test_someone_of_no_clinic_also_sets_up_a_code(db):
    """GIVEN a person with a sign-in but no clinic (removed, or not yet joined)
    WHEN their password is right THEN they too set up a code first: a membership given
    later must not find a session signed in with a password alone."""
    user = UserFactory()
    client = Client()
    response = client.post("/login/", {"username": user.email, "password": PASSWORD})
    assert response["Location"] == "/login/enrol/"
    assert SESSION_KEY not in client.session


def test_the_demo_sign_in_that_demo_setup_prints_still_gets_in(db):
    """GIVEN the demo clinic as ``make run`` makes it, and the sign-in its banner prints
    WHEN someone follows the banner: that e-mail and password, then the QR code
    THEN the enrolment the banner announces comes first, and then the dashboard."""
    import io
    import re

    from django.core.management import call_command

    out = io.StringIO()
    call_command("demo_setup", "--port", "8000", stdout=out)
    banner = out.getvalue()
    email, password = re.search(r"Sign in\s+(\S+) / (\S+)", banner).groups()
    assert "scan a QR code with an authenticator app" in banner
    client = Client()
    answer = client.post("/login/", {"username": email, "password": password})
    assert answer["Location"] == "/login/enrol/"
    secret = displayed_secret(client.get("/login/enrol/").content.decode())
    assert client.post("/login/enrol/", {"token": code_for_secret(secret)})["Location"] == "/"
    assert client.get("/patients/").status_code == 200
