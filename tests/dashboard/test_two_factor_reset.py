"""An account admin resets a colleague's two-factor sign-in (a lost phone), and the
operator's ``manage.py twofactor_reset`` does it when the clinic has no admin who can.

Who may: an admin of the same clinic, for someone else, by a POST with its CSRF token
after a confirmation page. What happens: every authenticator of that person is removed,
every session they have open ends, and their next sign-in sets up a new authenticator
before any page opens. Each reset is an audit event."""

from __future__ import annotations

import html
import io

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import Staff
from portal.accounts.twofactor_reset import staff_two_factor_reset
from portal.audit.models import AuditEvent
from tests.dashboard.conftest import (
    PASSWORD,
    code_for_secret,
    confirmed_device_for,
    current_code,
    displayed_secret,
    signed_in_client,
)
from tests.factories import AccountFactory, StaffFactory, UserFactory
from tests.support.sessions import sign_in

pytestmark = pytest.mark.django_db

RESET = "staff.two_factor_reset"


def reset_url(staff: Staff) -> str:
    return f"/settings/staff/{staff.id}/two-factor-reset/"


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def signed_in_sessions(user) -> list[str]:
    """The keys of the stored sessions signed in as ``user``."""
    return [
        session.session_key
        for session in Session.objects.all()
        if session.get_decoded().get("_auth_user_id") == str(user.pk)
    ]


@pytest.fixture
def colleague(account):
    """A clinician with an authenticator app, signed in on two devices."""
    staff = StaffFactory(
        account=account, role=Staff.Role.CLINICIAN, display_name="Dr Cal Clinician"
    )
    device = confirmed_device_for(staff.user)
    phone, desk = signed_in_client(staff), signed_in_client(staff)
    for client in (phone, desk):
        assert client.get("/patients/").status_code == 200
    return {"staff": staff, "device": device, "sessions": [phone, desk]}


def assert_untouched(colleague) -> None:
    """The colleague's authenticator and both sessions are as they were; nothing audited."""
    assert TOTPDevice.objects.filter(pk=colleague["device"].pk, confirmed=True).exists()
    for client in colleague["sessions"]:
        assert client.get("/patients/").status_code == 200
    assert not AuditEvent.objects.filter(action=RESET).exists()


# --- The staff page and the confirmation ------------------------------------------


def test_the_staff_page_offers_a_reset_for_each_colleague_and_not_for_oneself(
    admin_client, admin_staff, colleague
):
    """GIVEN an admin and a colleague WHEN the admin opens Settings → Staff
    THEN the colleague's row has 'Reset two-factor sign-in', the admin's own row has not."""
    page = text_of(admin_client.get("/settings/staff/"))
    assert "Reset two-factor sign-in" in page
    assert f'href="{reset_url(colleague["staff"])}"' in page
    assert reset_url(admin_staff) not in page


def test_the_confirmation_says_what_will_happen_and_changes_nothing(admin_client, colleague):
    """GIVEN an admin WHEN they open a colleague's reset page (GET)
    THEN it names the colleague, says the app stops working, they are signed out and set
    up a new app at their next sign-in, offers a POST form with its CSRF token; and
    nothing has changed yet."""
    response = admin_client.get(reset_url(colleague["staff"]))
    assert response.status_code == 200
    page = text_of(response)
    assert "Reset two-factor sign-in for Dr Cal Clinician?" in page
    assert "authenticator app stops working" in page
    assert "signed out" in page
    assert "set up a new authenticator app" in page
    assert "audit log" in page
    assert 'method="post"' in page and "csrfmiddlewaretoken" in page
    assert_untouched(colleague)


# --- What a reset does ---------------------------------------------------------------


def test_an_admin_resets_a_colleague_who_lost_their_phone(admin_client, admin_staff, colleague):
    """GIVEN a colleague with an authenticator and two open sessions, and another
    colleague signed in WHEN the admin confirms the reset
    THEN the staff page says it is done, the colleague's authenticators are gone, both
    their sessions are signed out, and the admin's and the other colleague's stay."""
    staff = colleague["staff"]
    TOTPDevice.objects.create(user=staff.user, name="Half set up", confirmed=False)
    other = StaffFactory(account=staff.account)
    other_session = signed_in_client(other)
    assert len(signed_in_sessions(staff.user)) == 2

    response = admin_client.post(reset_url(staff))
    assert response.status_code == 302
    assert response["Location"] == "/settings/staff/"
    page = text_of(admin_client.get(response["Location"]))
    assert "Two-factor sign-in of Dr Cal Clinician is reset" in page
    assert "signed out" in page

    assert not TOTPDevice.objects.filter(user=staff.user).exists()
    assert signed_in_sessions(staff.user) == []
    for client in colleague["sessions"]:
        answer = client.get("/patients/")
        assert answer.status_code == 302
        assert answer["Location"].startswith("/login/")
    assert admin_client.get("/patients/").status_code == 200
    assert other_session.get("/patients/").status_code == 200
    assert TOTPDevice.objects.filter(user=admin_staff.user, confirmed=True).exists()
    assert TOTPDevice.objects.filter(user=other.user, confirmed=True).exists()


def test_the_next_sign_in_sets_up_a_new_authenticator(admin_client, colleague):
    """GIVEN a colleague whose two-factor sign-in was reset
    WHEN they sign in through the pages with their password
    THEN they are sent to set up a new authenticator (the verify step is not offered),
    and once its first code is right they reach the patients with the new app only."""
    staff, old = colleague["staff"], colleague["device"]
    old_code = current_code(old)
    admin_client.post(reset_url(staff))

    client = Client()
    answer = client.post("/login/", {"username": staff.user.email, "password": PASSWORD})
    assert answer.status_code == 302
    assert answer["Location"] == "/login/enrol/"
    assert client.get("/login/verify/")["Location"] == "/login/enrol/"
    assert client.get("/patients/")["Location"].startswith("/login/")
    enrol_page = client.get("/login/enrol/")
    assert enrol_page.status_code == 200
    assert "Set up two-factor sign-in" in text_of(enrol_page)
    assert client.post("/login/enrol/", {"token": old_code}).status_code == 200
    secret = displayed_secret(enrol_page.content.decode())
    done = client.post("/login/enrol/", {"token": code_for_secret(secret)})
    assert done.status_code == 302
    assert client.get("/patients/").status_code == 200
    device = TOTPDevice.objects.get(user=staff.user)
    assert device.confirmed and device.key != old.key


def test_the_reset_is_audited_with_the_admin_as_actor_and_the_colleague_as_target(
    admin_client, admin_staff, colleague, account
):
    """GIVEN an admin WHEN they reset a colleague THEN one audit event names the admin
    (staff) as actor and the colleague as target, counts what was removed, and the
    clinic's audit log shows it in words."""
    staff = colleague["staff"]
    admin_client.post(reset_url(staff), HTTP_USER_AGENT="Test browser")
    event = AuditEvent.objects.get(action=RESET)
    assert event.account_id == account.id
    assert event.actor_kind == AuditEvent.ActorKind.STAFF
    assert event.actor_id == str(admin_staff.pk)
    assert event.actor_label == "Dr Ada Admin"
    assert (event.target_type, event.target_id) == ("accounts.staff", str(staff.pk))
    assert event.detail == {"authenticators_removed": 1, "sessions_ended": 2}
    assert event.user_agent == "Test browser"
    log = text_of(admin_client.get("/settings/audit/"))
    assert "Reset a staff member's two-factor sign-in" in log


def test_the_code_page_tells_someone_without_their_phone_whom_to_ask(colleague):
    """GIVEN a colleague at the code step of the sign-in WHEN they read the page
    THEN it tells them to ask an account admin of their clinic, and a clinic's only
    admin to ask the portal's operator."""
    client = Client()
    email = colleague["staff"].user.email
    assert client.post("/login/", {"username": email, "password": PASSWORD})["Location"] == (
        "/login/verify/"
    )
    page = text_of(client.get("/login/verify/"))
    assert "Lost your phone? Ask an account admin of your clinic to reset" in page
    assert "If you are its only admin, ask the portal's operator" in page


def test_a_session_store_that_cannot_be_searched_refuses_the_whole_reset(admin_staff, colleague):
    """GIVEN sessions kept where the server cannot find one person's (signed cookies)
    WHEN a reset is asked THEN it fails naming the setting, and the authenticator is
    kept: a reset never says sessions ended when they did not."""
    cookies = "django.contrib.sessions.backends.signed_cookies"
    with (
        override_settings(SESSION_ENGINE=cookies),
        pytest.raises(ImproperlyConfigured, match="database-backed session engine"),
    ):
        staff_two_factor_reset(actor=admin_staff, staff=colleague["staff"])
    assert_untouched(colleague)


# --- Who may, and how ----------------------------------------------------------------


@pytest.mark.parametrize("role", [Staff.Role.CLINICIAN, Staff.Role.RECEPTIONIST])
def test_non_admins_get_403(account, colleague, role):
    """GIVEN a clinician or receptionist of the same clinic
    WHEN they open or post a colleague's reset THEN 403, and nothing changes."""
    client = signed_in_client(StaffFactory(account=account, role=role))
    for method in ("get", "post"):
        response = getattr(client, method)(reset_url(colleague["staff"]))
        assert response.status_code == 403, method
        assert "You do not have access to this page" in text_of(response)
    assert_untouched(colleague)


def test_another_clinics_admin_gets_404(admin_client, other_account, colleague):
    """GIVEN an admin of another clinic WHEN they open or post this clinic's colleague's
    reset THEN 404 (the colleague's existence is not told), and nothing changes; the
    clinic's own admin opens the same page (the 404 is about the clinic)."""
    assert admin_client.get(reset_url(colleague["staff"])).status_code == 200
    client = signed_in_client(StaffFactory(account=other_account, role=Staff.Role.ADMIN))
    for method in ("get", "post"):
        response = getattr(client, method)(reset_url(colleague["staff"]))
        assert response.status_code == 404, method
    assert_untouched(colleague)


def test_an_admin_of_both_clinics_cannot_reach_across_through_the_other(
    admin_client, account, other_account, colleague
):
    """GIVEN a person who is an admin of another clinic and a clinician here, signed
    in to the other clinic WHEN they post the reset of this clinic's colleague
    THEN 404: the clinic is the session's, not any the person belongs to."""
    both = StaffFactory(account=other_account, role=Staff.Role.ADMIN)
    StaffFactory(account=account, user=both.user, role=Staff.Role.CLINICIAN)
    client = signed_in_client(both)
    session = client.session
    session["account_id"] = str(other_account.id)
    session.save()
    assert client.post(reset_url(colleague["staff"])).status_code == 404
    assert admin_client.get(reset_url(colleague["staff"])).status_code == 200
    assert_untouched(colleague)


def test_admins_cannot_reset_their_own_here(admin_client, admin_staff, colleague):
    """GIVEN an admin WHEN they open or post their own reset
    THEN refused in words that send them to Security; their app and session stay."""
    for method in ("get", "post"):
        response = getattr(admin_client, method)(reset_url(admin_staff), follow=True)
        assert response.status_code == 200, method
        page = text_of(response)
        assert "You cannot reset your own two-factor sign-in here" in page, method
        assert "Security" in page
    assert TOTPDevice.objects.filter(user=admin_staff.user, confirmed=True).exists()
    assert admin_client.get("/patients/").status_code == 200
    assert_untouched(colleague)


@pytest.mark.parametrize(
    "staff_id",
    [
        "xyz",
        "0",
        "5d0c4a1e-7b2f-4c39-9e61-0a8f3b2d4c17",
        "00000000-0000-0000-0000-000000000000",
        "%20",
    ],
)
def test_unknown_ids_are_404(admin_client, colleague, staff_id):
    """GIVEN an admin WHEN the reset is asked for an id that is no member of the clinic
    (not a UUID, an unknown UUID, the nil UUID, a blank) THEN 404 with either method,
    where a member's id opens the page."""
    assert admin_client.get(reset_url(colleague["staff"])).status_code == 200
    for method in ("get", "post"):
        response = getattr(admin_client, method)(f"/settings/staff/{staff_id}/two-factor-reset/")
        assert response.status_code == 404, (method, staff_id)
    assert_untouched(colleague)


def test_shell_and_removed_staff_are_404(admin_client, account, colleague):
    """GIVEN a staff row an integration named (no sign-in) and a removed member
    WHEN an admin asks for their reset THEN 404: neither is a member who signs in
    (a member's id opens the page)."""
    assert admin_client.get(reset_url(colleague["staff"])).status_code == 200
    shell = StaffFactory(account=account, user=None, is_shell=True, account_user_id="x-1")
    removed = StaffFactory(account=account)
    admin_client.post(f"/settings/staff/{removed.id}/remove/")
    for staff_id in (shell.id, removed.id):
        for method in ("get", "post"):
            response = getattr(admin_client, method)(
                f"/settings/staff/{staff_id}/two-factor-reset/"
            )
            assert response.status_code == 404, (method, staff_id)
    assert_untouched(colleague)


def test_a_post_without_the_csrf_token_is_refused(admin_staff, colleague):
    """GIVEN an admin's browser that checks CSRF WHEN a reset is posted without the
    token (a form on another site) THEN 403 and nothing changes."""
    client = sign_in(Client(enforce_csrf_checks=True), admin_staff.user)
    response = client.post(reset_url(colleague["staff"]))
    assert response.status_code == 403
    assert_untouched(colleague)


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_refused(admin_client, colleague, method):
    """GIVEN an admin WHEN the reset is asked with PUT, PATCH or DELETE THEN 405."""
    assert getattr(admin_client, method)(reset_url(colleague["staff"])).status_code == 405
    assert_untouched(colleague)


def test_an_admin_session_without_its_code_cannot_reset(admin_staff, colleague):
    """GIVEN an admin signed in with the password only (no code in this session)
    WHEN they post a reset THEN they are sent to sign in again, and nothing changes."""
    confirmed_device_for(admin_staff.user)
    client = sign_in(Client(), admin_staff.user, verified=False)
    response = client.post(reset_url(colleague["staff"]))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert_untouched(colleague)


def test_a_colleague_who_also_works_at_another_clinic_is_left_to_the_operator(
    admin_client, other_account, colleague
):
    """GIVEN a colleague who is also a member of another clinic
    WHEN this clinic's admin resets them THEN refused in words (their sign-in opens the
    other clinic too, which this admin does not answer for), and nothing changes."""
    StaffFactory(account=other_account, user=colleague["staff"].user)
    for method in ("get", "post"):
        page = text_of(getattr(admin_client, method)(reset_url(colleague["staff"]), follow=True))
        assert "also signs in to another clinic" in page, method
        assert "the portal's operator" in page, method
    assert_untouched(colleague)


def test_an_operator_administrator_is_left_to_the_operator(admin_client, account):
    """GIVEN a member of the clinic who is one of the operator's administrators
    WHEN the clinic's admin resets them THEN refused in words, their app stays."""
    operator = StaffFactory(
        account=account, user=UserFactory(is_staff=True, is_superuser=True), display_name="Ops"
    )
    device = confirmed_device_for(operator.user)
    page = text_of(admin_client.post(reset_url(operator), follow=True))
    assert "one of the portal operator's administrators" in page
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    assert not AuditEvent.objects.filter(action=RESET).exists()


def test_a_colleague_without_an_authenticator_is_told_so(admin_client, account):
    """GIVEN a colleague who has never finished setting up an authenticator
    WHEN an admin resets them THEN told in words there is nothing to reset, no event."""
    staff = StaffFactory(account=account, display_name="Dr New Starter")
    page = text_of(admin_client.post(reset_url(staff), follow=True))
    assert "Dr New Starter has not set up an authenticator app yet" in page
    assert not AuditEvent.objects.filter(action=RESET).exists()


# --- The operator's command ------------------------------------------------------------


def run_reset(*args) -> str:
    out = io.StringIO()
    call_command("twofactor_reset", *args, stdout=out)
    return out.getvalue()


def test_the_command_resets_the_only_admin_by_address(admin_staff, other_account):
    """GIVEN the only admin, a member of two clinics, who lost their phone, with an open
    session WHEN the operator runs twofactor_reset with their address (other capitals,
    spaces around it) THEN it says so in words, the authenticator and the session are
    gone, the next sign-in sets up a new app, and each clinic's log has the event with
    the operator as actor."""
    StaffFactory(account=other_account, user=admin_staff.user, role=Staff.Role.CLINICIAN)
    session = signed_in_client(admin_staff)
    email = admin_staff.user.email

    said = run_reset(f"  {email.upper()} ")

    assert f"Two-factor sign-in of {email} is reset" in said
    assert "1 authenticator app removed, 1 session signed out" in said
    assert not TOTPDevice.objects.filter(user=admin_staff.user).exists()
    assert session.get("/patients/")["Location"].startswith("/login/")
    answer = Client().post("/login/", {"username": email, "password": PASSWORD})
    assert answer["Location"] == "/login/enrol/"
    events = AuditEvent.objects.filter(action=RESET)
    assert {event.account_id for event in events} == {admin_staff.account_id, other_account.id}
    for event in events:
        assert event.actor_kind == AuditEvent.ActorKind.SYSTEM
        assert event.actor_label == "operator (manage.py twofactor_reset)"
        assert event.target_type == "accounts.staff"
        assert event.detail == {"authenticators_removed": 1, "sessions_ended": 1}


def test_the_command_resets_an_operator_who_belongs_to_no_clinic():
    """GIVEN an operator's administrator with no clinic WHEN reset by the command
    THEN their authenticator is gone and the event is recorded outside any clinic."""
    operator = UserFactory(email="ops@portal.example", is_staff=True, is_superuser=True)
    confirmed_device_for(operator)
    assert "Two-factor sign-in of ops@portal.example is reset" in run_reset("ops@portal.example")
    assert not TOTPDevice.objects.filter(user=operator).exists()
    event = AuditEvent.objects.get(action=RESET)
    assert event.account_id is None
    assert (event.target_type, event.target_id) == ("accounts.user", str(operator.pk))


@pytest.mark.parametrize("typed", ["nobody@clinic.example", "", "   ", "ada"])
def test_the_command_refuses_an_unknown_address_in_words(admin_staff, typed):
    """GIVEN addresses no one signs in as WHEN given to the command
    THEN it fails in words saying nothing was changed; no authenticator removed."""
    confirmed_device_for(admin_staff.user)
    with pytest.raises(CommandError) as refused:
        run_reset(typed)
    assert "No one signs in as" in str(refused.value)
    assert "Nothing was changed" in str(refused.value)
    assert TOTPDevice.objects.filter(user=admin_staff.user, confirmed=True).exists()
    assert not AuditEvent.objects.filter(action=RESET).exists()


def test_the_command_says_when_there_is_nothing_to_reset(account):
    """GIVEN a member who never set up an authenticator WHEN the command is run for them
    THEN it fails in words, recording nothing."""
    staff = StaffFactory(account=account)
    with pytest.raises(CommandError) as refused:
        run_reset(staff.user.email)
    assert "has not set up an authenticator app yet" in str(refused.value)
    assert not AuditEvent.objects.filter(action=RESET).exists()


def test_the_command_works_for_another_clinic_too(other_account):
    """GIVEN a member of some clinic (the operator answers for every clinic)
    WHEN the command resets them THEN done, and that clinic's log has the event."""
    staff = StaffFactory(account=AccountFactory(name="Third Clinic"))
    confirmed_device_for(staff.user)
    run_reset(staff.user.email)
    assert AuditEvent.objects.get(action=RESET).account_id == staff.account_id
