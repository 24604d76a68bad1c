"""Fixtures for the dashboard: signed-in staff of each role, with a verified code where needed."""

from __future__ import annotations

import base64
import re

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import Staff
from tests.factories import StaffFactory

PASSWORD = "correct horse battery"


def current_code(device: TOTPDevice) -> str:
    """The code an authenticator app would show now, computed from the device's key."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def code_for_secret(displayed_secret: str) -> str:
    """The code an authenticator app would show now for a key as the enrolment page
    shows it (base32 in groups of four): what a person types after scanning it."""
    compact = displayed_secret.replace(" ", "")
    key = base64.b32decode(compact + "=" * (-len(compact) % 8))
    totp = TOTP(key, 30, 0, 6, 0)
    return f"{totp.token():06d}"


def displayed_secret(html: str) -> str:
    """The typed-key form of the secret an enrolment page shows."""
    return re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', html).group(1)


def confirmed_device_for(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Test phone", confirmed=True)


def sign_in_through_the_pages(client: Client, user, *, next_url: str = "", password=PASSWORD):
    """Password, then the code step the sign-in asks for (the current code of the user's
    authenticator, or a first one set up on the enrolment page); the last answer."""
    data = {"username": user.email, "password": password}
    if next_url:
        data["next"] = next_url
    answer = client.post("/login/", data)
    if answer.status_code != 302 or answer["Location"] not in ("/login/verify/", "/login/enrol/"):
        return answer
    if answer["Location"] == "/login/verify/":
        device = TOTPDevice.objects.get(user=user, confirmed=True)
        return client.post("/login/verify/", {"token": current_code(device)})
    secret = displayed_secret(client.get("/login/enrol/").content.decode())
    return client.post("/login/enrol/", {"token": code_for_secret(secret)})


def signed_in_client(staff: Staff, *, verified: bool = True) -> Client:
    """A client whose session is signed in as ``staff``, verified with a code when asked."""
    client = Client()
    client.force_login(staff.user)
    if verified:
        device = TOTPDevice.objects.filter(user=staff.user, confirmed=True).first()
        device = device or confirmed_device_for(staff.user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def admin_staff(account):
    return StaffFactory(account=account, role=Staff.Role.ADMIN, display_name="Dr Ada Admin")


@pytest.fixture
def clinician(account):
    return StaffFactory(account=account, role=Staff.Role.CLINICIAN, display_name="Dr Cal Clinician")


@pytest.fixture
def admin_client(admin_staff):
    return signed_in_client(admin_staff)


@pytest.fixture
def clinician_client(clinician):
    return signed_in_client(clinician)


from tests.dashboard.browsing import clinic, open_page  # noqa: E402, F401
