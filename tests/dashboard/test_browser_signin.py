"""Sign-in pages in headless Chromium: the paused sign-in, the enrolment
step refused to someone who has an authenticator, and accepting an invitation."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import RequestFactory
from playwright.sync_api import expect

from dashboard.emails import staff_invitation_send
from portal.accounts.models import Staff
from portal.accounts.services import staff_create, staff_invite
from tests.dashboard.browsing import enrol_on_the_page
from tests.dashboard.conftest import PASSWORD
from tests.factories import AccountFactory
from tests.support.browser import DESKTOP, PHONE, console_errors, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_paused_sign_in_says_when_to_try_again(live_server, open_page, clinic):
    """GIVEN five wrong passwords for the admin
    WHEN the right one is typed THEN the page says sign-in is paused and when to try
    again, and nobody is signed in."""
    page = open_page(PHONE)
    errors = console_errors(page)
    base = live_server.url
    for attempt in range(5):
        page.goto(f"{base}/login/")
        page.fill("input[name=username]", clinic["admin"].user.email)
        page.fill("input[name=password]", f"wrong {attempt}")
        page.click("button[type=submit]")
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", clinic["admin"].user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    paused = page.locator("[data-testid=sign-in-paused]")
    expect(paused).to_contain_text("Try again in 1 minute (after ")
    assert page.url == f"{base}/login/"
    screenshot(page, "dashboard-login-paused-phone")
    assert errors == []


def test_the_enrolment_step_sends_someone_with_an_authenticator_to_the_code(
    live_server, open_page, clinic
):
    """GIVEN the admin's password, typed by someone who then opens /login/enrol/
    THEN the code step is shown, with why, and no QR code."""
    page = open_page(DESKTOP)
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", clinic["admin"].user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/login/verify/")
    page.goto(f"{base}/login/enrol/")
    page.wait_for_url(f"{base}/login/verify/")
    expect(page.locator("body")).to_contain_text("already has an authenticator app")
    assert page.locator("img.qr-code").count() == 0
    screenshot(page, "dashboard-enrol-refused-desktop")


def test_an_existing_user_accepts_an_invitation_after_signing_in(live_server, open_page, clinic):
    """GIVEN a clinician of another clinic invited to this one, who has no authenticator yet
    WHEN they open the e-mailed link, sign in (setting up a code on the way) and accept
    THEN they land in this clinic's dashboard."""
    other = AccountFactory(name="Hillside Surgery")
    guest = staff_create(
        account=other,
        email="guest@hillside.example",
        password=PASSWORD,
        display_name="Dr Guest",
        role=Staff.Role.CLINICIAN,
    )
    invitation = staff_invite(
        account=clinic["account"],
        email=guest.user.email,
        display_name="Dr Guest",
        role=Staff.Role.CLINICIAN,
        invited_by=clinic["admin"],
    )
    request = RequestFactory().get("/", SERVER_NAME=re.sub(r"https?://", "", live_server.url))
    staff_invitation_send(request=request, invitation=invitation)
    link = re.search(r"(/invitations/\S+/)", mail.outbox[-1].body).group(1)

    page = open_page(DESKTOP)
    errors = console_errors(page)
    base = live_server.url
    page.goto(f"{base}{link}")
    page.wait_for_url(f"{base}/login/**")
    expect(page.locator("body")).to_contain_text("Sign in as guest@hillside.example")
    page.fill("input[name=username]", guest.user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/login/enrol/")
    enrol_on_the_page(page)
    page.wait_for_url(f"{base}{link}")
    screenshot(page, "dashboard-invitation-accept-desktop")
    page.click("text=Accept and join")
    page.wait_for_url(f"{base}/**")
    expect(page.locator("body")).to_contain_text("You are now a member of Riverside Family")
    assert Staff.objects.filter(account=clinic["account"], user=guest.user).exists()
    assert errors == []
