"""Shared by the dashboard's browser tests: a clinic with an admin who uses an
authenticator app, pages in fresh browser contexts, and the TOTP sign-in."""

from __future__ import annotations

import datetime

import pytest

from portal.accounts.models import Staff
from portal.accounts.services import staff_create
from portal.audit.services import Actor
from portal.patients.services import patient_create
from tests.dashboard.conftest import (
    PASSWORD,
    code_for_secret,
    confirmed_device_for,
    current_code,
)
from tests.factories import AccountFactory, PatientFactory
from tests.support.browser import DESKTOP, TABLET, new_context, screenshot

SHAPES = {"desktop": DESKTOP, "tablet": TABLET}


@pytest.fixture
def clinic():
    """A clinic with an admin who uses an authenticator app, and a few patients."""
    account = AccountFactory(name="Riverside Family Practice")
    admin = staff_create(
        account=account,
        email="ada.admin@riverside.example",
        password=PASSWORD,
        display_name="Dr Ada Lovelace",
        role=Staff.Role.ADMIN,
    )
    device = confirmed_device_for(admin.user)
    people = [
        ("Amelia", "Jones", "+447911123401", datetime.date(1984, 3, 12)),
        ("Oliver", "Jones", "+447911123402", datetime.date(2012, 9, 30)),
        ("Priya", "Shah", "+447911123403", datetime.date(1991, 11, 5)),
        ("Tomasz", "Nowak", "+447911123404", datetime.date(1967, 1, 22)),
        ("Grace", "O'Brien", "+447911123405", datetime.date(1958, 7, 3)),
        ("Samuel", "Okafor", "+447911123406", datetime.date(1979, 4, 18)),
    ]
    actor = Actor.for_staff(admin)
    patients = [
        patient_create(
            account=account,
            actor=actor,
            first_name=first,
            last_name=last,
            mobile=mobile,
            date_of_birth=born,
        )
        for first, last, mobile, born in people
    ]
    staff_create(
        account=account,
        email="ben.clinician@riverside.example",
        password=PASSWORD,
        display_name="Dr Ben Carter",
        role=Staff.Role.CLINICIAN,
    )
    staff_create(
        account=account,
        email="front.desk@riverside.example",
        password=PASSWORD,
        display_name="Chloe Reception",
        role=Staff.Role.RECEPTIONIST,
    )
    # Another clinic's look-alike patient, never to be seen here.
    PatientFactory(account=AccountFactory(name="Elsewhere"), first_name="Amelia", last_name="Jones")
    return {"account": account, "admin": admin, "device": device, "patients": patients}


@pytest.fixture
def open_page(chromium):
    """Pages in fresh browser contexts of a given shape, closed after the test."""
    contexts = []

    def open_at(shape: dict):
        context = new_context(chromium, shape)
        contexts.append(context)
        return context.new_page()

    yield open_at
    for context in contexts:
        context.close()


def enrol_on_the_page(page) -> None:
    """At an enrolment page: what a person does with an authenticator app (type the
    key shown, then the code the app makes from it), and Turn on."""
    secret = page.locator("[data-testid=totp-secret]").inner_text()
    page.fill("input[name=token]", code_for_secret(secret))
    page.click("button:has-text('Turn on')")


def sign_in_with_code(page, base_url: str, clinic, shot: str | None = None) -> None:
    page.goto(f"{base_url}/login/")
    if shot:
        screenshot(page, f"dashboard-login-{shot}")
    page.fill("input[name=username]", clinic["admin"].user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/login/verify/")
    if shot:
        screenshot(page, f"dashboard-verify-{shot}")
    page.fill("input[name=token]", current_code(clinic["device"]))
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/patients/")
