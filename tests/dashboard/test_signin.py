"""Signing in: password, then a TOTP code for those who use or must use one."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import Staff
from tests.dashboard.conftest import (
    PASSWORD,
    code_for_secret,
    confirmed_device_for,
    current_code,
    displayed_secret,
    sign_in_through_the_pages,
)
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def post_password(client: Client, user, next_url: str = "", password: str = PASSWORD):
    data = {"username": user.email, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/login/", data)


def test_staff_without_code_set_one_up_and_the_session_key_is_cycled(clinician):
    """GIVEN a clinician who has not set up two-factor sign-in
    WHEN they sign in with the right password
    THEN they set up a code first, then reach the page they asked for, in a session
    whose key changed at the password and again at the code."""
    client = Client()
    response = post_password(client, clinician.user, next_url="/patients/?q=smith")
    assert response.status_code == 302
    assert response["Location"] == "/login/enrol/"
    assert SESSION_KEY not in client.session
    key_after_password = client.session.session_key
    secret = displayed_secret(client.get("/login/enrol/").content.decode())
    done = client.post("/login/enrol/", {"token": code_for_secret(secret)})
    assert done["Location"] == "/patients/?q=smith"
    assert client.session[SESSION_KEY] == str(clinician.user.pk)
    assert client.session.session_key != key_after_password


def test_wrong_password_shows_an_error(clinician):
    """GIVEN a clinician WHEN the password is wrong
    THEN the form says so and no one is signed in."""
    client = Client()
    response = post_password(client, clinician.user, password="not the password")
    assert response.status_code == 200
    assert "Please enter a correct e-mail address and password" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_a_code_is_needed_after_the_password_when_a_device_is_set_up(admin_staff):
    """GIVEN an admin with an authenticator app
    WHEN the password is right
    THEN the session is not signed in until the code is right, and a wrong code is refused."""
    device = confirmed_device_for(admin_staff.user)
    client = Client()
    response = post_password(client, admin_staff.user, next_url="/settings/")
    assert response["Location"] == "/login/verify/"
    assert SESSION_KEY not in client.session
    assert client.get("/patients/")["Location"].startswith("/login/")

    wrong = client.post("/login/verify/", {"token": "000000"})
    assert wrong.status_code == 200
    assert "That code did not work" in wrong.content.decode()
    assert SESSION_KEY not in client.session

    key_before = client.session.session_key
    device.refresh_from_db()
    device.throttle_reset()
    right = client.post("/login/verify/", {"token": current_code(device)})
    assert right["Location"] == "/settings/"
    assert client.session[SESSION_KEY] == str(admin_staff.user.pk)
    assert client.session.session_key != key_before
    assert client.get("/settings/api-keys/").status_code == 200


def test_an_admin_without_a_device_must_enrol_before_signing_in(admin_staff):
    """GIVEN an account admin who never set up two-factor sign-in
    WHEN the password is right
    THEN they must scan a QR code and confirm a first code; then they are signed in."""
    client = Client()
    response = post_password(client, admin_staff.user)
    assert response["Location"] == "/login/enrol/"
    assert SESSION_KEY not in client.session

    page = client.get("/login/enrol/")
    html = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in html
    secret = displayed_secret(html)
    assert len(secret.replace(" ", "")) == 32
    assert not TOTPDevice.objects.filter(user=admin_staff.user).exists()

    wrong = client.post("/login/enrol/", {"token": "12345"})
    assert "The code has 6 digits." in wrong.content.decode()

    done = client.post("/login/enrol/", {"token": code_for_secret(secret)})
    assert done["Location"] == "/"
    device = TOTPDevice.objects.get(user=admin_staff.user)
    assert device.confirmed
    assert client.session[SESSION_KEY] == str(admin_staff.user.pk)


def test_a_signed_in_admin_session_without_a_code_is_sent_to_enrol(admin_staff):
    """GIVEN a session signed in with a password only (e.g. made admin since)
    WHEN it opens a dashboard page
    THEN it is sent to set up two-factor sign-in first."""
    client = Client()
    client.force_login(admin_staff.user)
    response = client.get("/patients/")
    assert response["Location"] == "/security/two-factor/"


def test_the_django_admin_admits_only_sessions_verified_with_a_code():
    """GIVEN a superuser signed in with a password only
    WHEN they open the Django admin
    THEN it sends them to the portal's sign-in; verified, they get in."""
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(superuser)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/security/two-factor/"

    device = confirmed_device_for(superuser)
    client = Client()
    post_password(client, superuser, next_url="/admin/")
    response = client.post("/login/verify/", {"token": current_code(device)})
    assert response["Location"] == "/admin/"
    admin_page = client.get("/admin/")
    assert admin_page.status_code == 200
    assert "Clinic File Portal admin" in admin_page.content.decode()


def test_sign_in_never_redirects_to_another_site(clinician):
    """GIVEN a sign-in link with next pointing off-site
    WHEN the password is right THEN the portal keeps the person on its own pages."""
    response = sign_in_through_the_pages(Client(), clinician.user, next_url="https://evil.example/")
    assert response["Location"] == "/"


def test_password_reset_by_email(clinician):
    """GIVEN a clinician who forgot their password
    WHEN they ask for a reset and follow the e-mailed link
    THEN they can set a new password and sign in with it."""
    client = Client()
    response = client.post("/password-reset/", {"email": clinician.user.email})
    assert response["Location"] == "/password-reset/sent/"
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/password-reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-long-passphrase", "new_password2": "a-new-long-passphrase"},
    )
    assert done["Location"] == "/password-reset/complete/"
    signed_in = sign_in_through_the_pages(
        Client(), clinician.user, password="a-new-long-passphrase"
    )
    assert signed_in["Location"] == "/"


def test_sign_out_ends_the_session(clinician_client):
    """GIVEN a signed-in clinician WHEN they sign out THEN pages ask them to sign in again."""
    response = clinician_client.post("/logout/", follow=True)
    assert response.redirect_chain[-1][0] == "/login/"
    assert "You are signed out" in response.content.decode()
    assert clinician_client.get("/patients/")["Location"].startswith("/login/")


def test_a_password_only_session_sets_up_a_code_on_the_security_page(clinician):
    """GIVEN a clinician's session signed in with a password only (left from before every
    role needed a code) WHEN a page is opened
    THEN Security's enrolment is where it goes; once the code is confirmed there, the
    session is verified and the dashboard opens."""
    client = Client()
    client.force_login(clinician.user)
    assert client.get("/patients/")["Location"] == "/security/two-factor/"
    page = client.get("/security/two-factor/")
    assert page.status_code == 200
    secret = displayed_secret(page.content.decode())
    response = client.post("/security/two-factor/", {"token": code_for_secret(secret)})
    assert response["Location"] == "/security/"
    assert "Two-factor sign-in is on" in client.get("/security/").content.decode()
    assert client.get("/patients/").status_code == 200


@pytest.mark.parametrize("role", ["admin", "clinician", "receptionist"])
def test_nobody_can_turn_two_factor_off(account, role):
    """GIVEN a verified member of each role WHEN they try to turn two-factor sign-in off
    THEN it stays on, and they are told why."""
    from tests.dashboard.conftest import signed_in_client

    staff = StaffFactory(account=account, role=role)
    client = signed_in_client(staff)
    response = client.post("/security/two-factor/disable/", follow=True)
    assert "Everyone who signs in must keep two-factor sign-in on." in response.content.decode()
    assert TOTPDevice.objects.filter(user=staff.user, confirmed=True).exists()


def test_someone_without_a_clinic_is_told_so(db):
    """GIVEN a user who belongs to no clinic WHEN they open the dashboard THEN a clear 403 page."""
    from tests.support.sessions import sign_in

    client = sign_in(Client(), UserFactory())
    response = client.get("/patients/")
    assert response.status_code == 403
    assert "You are not a member of a clinic" in response.content.decode()


def test_the_account_switcher_changes_the_clinic_shown(admin_staff, other_account):
    """GIVEN a clinician in two clinics WHEN they switch THEN pages show the other clinic."""
    member = StaffFactory(account=other_account, user=admin_staff.user, role=Staff.Role.CLINICIAN)
    from tests.dashboard.conftest import signed_in_client

    client = signed_in_client(admin_staff)
    page = client.get("/patients/").content.decode()
    assert 'id="account-switch"' in page
    assert "Riverside Clinic" in page
    response = client.post("/account/switch/", {"account_id": str(member.account_id)})
    assert response["Location"] == "/patients/"
    assert (
        '<span class="brand-clinic">Hillside Clinic</span>'
        in client.get("/patients/").content.decode()
    )
