"""The sign-in state machine walked in every order.

    anonymous --password--> password_ok(needs_verify) --code--> signed_in
    anonymous --password--> password_ok(needs_enrol) --first code--> signed_in

Every page of the sign-in and the pages behind it are asked for in every state, by
GET and POST; each must answer as the state allows and never leave an authenticated
session or a changed authenticator behind when it should not. Then the transitions
themselves, the back button, two tabs (two sessions, and a second password step in one
session), replacing an authenticator from Security, and the Django admin.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from dashboard import signin
from portal.accounts.models import Staff
from tests.dashboard.conftest import (
    PASSWORD,
    code_for_secret,
    confirmed_device_for,
    current_code,
    displayed_secret,
    signed_in_client,
)
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

ANY_CODE = "123456"


def person(kind: str, account):
    """A user of one of the kinds that take different paths through the sign-in."""
    if kind == "clinician":
        return StaffFactory(account=account, role=Staff.Role.CLINICIAN).user
    if kind == "receptionist":
        return StaffFactory(account=account, role=Staff.Role.RECEPTIONIST).user
    if kind == "receptionist with a device":
        user = StaffFactory(account=account, role=Staff.Role.RECEPTIONIST).user
        confirmed_device_for(user)
        return user
    if kind == "no clinic":
        return UserFactory()
    if kind == "clinician with a device":
        user = StaffFactory(account=account, role=Staff.Role.CLINICIAN).user
        confirmed_device_for(user)
        return user
    if kind == "admin":
        return StaffFactory(account=account, role=Staff.Role.ADMIN).user
    if kind == "admin with a device":
        user = StaffFactory(account=account, role=Staff.Role.ADMIN).user
        confirmed_device_for(user)
        return user
    if kind == "superuser":
        return UserFactory(is_staff=True, is_superuser=True)
    if kind == "superuser with a device":
        user = UserFactory(is_staff=True, is_superuser=True)
        confirmed_device_for(user)
        return user
    raise ValueError(kind)


def post_password(client: Client, user, next_url: str = ""):
    data = {"username": user.email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post("/login/", data)


def devices_of(user) -> list[tuple[int, str, bool]]:
    return list(TOTPDevice.objects.filter(user=user).values_list("pk", "key", "confirmed"))


def html_of(response) -> str:
    return response.content.decode()


# --- Password: the first transition ---------------------------------------------------

AFTER_PASSWORD = [
    ("clinician", "/login/enrol/"),
    ("clinician with a device", "/login/verify/"),
    ("receptionist", "/login/enrol/"),
    ("receptionist with a device", "/login/verify/"),
    ("no clinic", "/login/enrol/"),
    ("admin", "/login/enrol/"),
    ("admin with a device", "/login/verify/"),
    ("superuser", "/login/enrol/"),
    ("superuser with a device", "/login/verify/"),
]


@pytest.mark.parametrize(("kind", "goes_to"), AFTER_PASSWORD)
def test_the_password_leads_to_the_step_the_person_needs(account, kind, goes_to):
    """GIVEN each kind of person WHEN their password is right
    THEN they go to verify (a confirmed device) or enrol (none set up: everyone uses a
    code); neither is an authenticated session yet."""
    user = person(kind, account)
    client = Client()
    response = post_password(client, user, next_url="/patients/")
    assert response.status_code == 302
    assert response["Location"] == goes_to
    assert SESSION_KEY not in client.session


# --- Every page asked for in every state -----------------------------------------------

STATES = {
    "anonymous": None,
    "needs_verify (admin)": "admin with a device",
    "needs_verify (clinician)": "clinician with a device",
    "needs_verify (superuser)": "superuser with a device",
    "needs_enrol (admin)": "admin",
    "needs_enrol (superuser)": "superuser",
    "needs_enrol (clinician)": "clinician",
    "needs_enrol (receptionist)": "receptionist",
}
STEP_PAGE_OF_STATE = {
    "anonymous": "/login/",
    "needs_verify": "/login/verify/",
    "needs_enrol": "/login/enrol/",
}
PAGES = [
    ("GET", "/login/verify/"),
    ("POST", "/login/verify/"),
    ("GET", "/login/enrol/"),
    ("POST", "/login/enrol/"),
    ("GET", "/"),
    ("GET", "/patients/"),
    ("GET", "/settings/api-keys/"),
    ("GET", "/security/"),
    ("GET", "/security/two-factor/"),
    ("POST", "/security/two-factor/"),
    ("GET", "/admin/"),
    ("GET", "/admin/accounts/user/"),
    ("GET", "/api/v1/patients"),
]


def expected_answer(state: str, method: str, path: str) -> tuple[int, str | None]:
    """(status, Location) the page must give in this state."""
    step = state.split(" ")[0]
    if path in ("/login/verify/", "/login/enrol/"):
        if STEP_PAGE_OF_STATE[step] == path:
            return 200, None
        return 302, STEP_PAGE_OF_STATE[step]
    if path.startswith("/api/"):
        return 401, None
    if path.startswith("/admin/"):
        return 302, "/admin/login/?next="  # which sends on to /login/
    return 302, "/login/?next="


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize(("method", "path"), PAGES)
def test_every_page_in_every_state_before_the_second_factor(account, state, method, path):
    """GIVEN a session in each state before the second factor
    WHEN any sign-in step, dashboard page, security page, the admin or the API is
    asked for, by GET or POST, out of order
    THEN only the state's own step is served; everything else sends the browser to
    its step or to sign in; no session is authenticated, no enrolment secret is shown
    outside the enrol step, and no authenticator is made, confirmed or replaced."""
    kind = STATES[state]
    user = person(kind, account) if kind else None
    client = Client()
    if user is not None:
        post_password(client, user)
    devices_before = devices_of(user) if user else []

    data = {"token": ANY_CODE, "current-token": ANY_CODE} if method == "POST" else None
    response = client.post(path, data) if method == "POST" else client.get(path)

    status, location = expected_answer(state, method, path)
    assert response.status_code == status, (response.status_code, response.get("Location"))
    if location is not None:
        assert response["Location"].startswith(location), response["Location"]
    assert SESSION_KEY not in client.session
    if path != "/login/enrol/" or status != 200:
        assert 'data-testid="totp-secret"' not in html_of(response)
    if user is not None:
        assert devices_of(user) == devices_before


# --- The critical hole: enrolling over a confirmed authenticator -------------------------


@pytest.mark.parametrize("kind", ["admin with a device", "superuser with a device"])
def test_a_password_alone_cannot_replace_a_confirmed_authenticator(account, kind):
    """GIVEN someone who knows the password of a person with an authenticator app
    WHEN, after the password, they go to the enrolment step instead of the code step,
    and post a code of an authenticator of their own
    THEN they are sent to the code step, see no secret, are not signed in, and the
    person's authenticator is untouched (the review's critical finding)."""
    user = person(kind, account)
    real_device = TOTPDevice.objects.get(user=user)
    attacker = Client()
    post_password(attacker, user, next_url="/admin/")

    page = attacker.get("/login/enrol/")
    assert page.status_code == 302
    assert page["Location"] == "/login/verify/"
    followed = attacker.get(page["Location"])
    assert "already has an authenticator app" in html_of(followed)

    # Whatever key the attacker made up, its code must not enrol it.
    attacker_key_code = code_for_secret("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    posted = attacker.post("/login/enrol/", {"token": attacker_key_code})
    assert posted.status_code == 302 and posted["Location"] == "/login/verify/"
    assert SESSION_KEY not in attacker.session
    assert devices_of(user) == [(real_device.pk, real_device.key, True)]
    admin_page = attacker.get("/admin/")
    assert admin_page.status_code == 302
    assert admin_page["Location"].startswith("/admin/login/")


# --- Transitions to signed_in ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["admin with a device", "superuser with a device"])
def test_password_then_code_signs_in_and_the_admin_opens_for_a_superuser(account, kind):
    """GIVEN a person with an authenticator WHEN password then code
    THEN signed in, verified with that device, at the page asked for."""
    user = person(kind, account)
    device = TOTPDevice.objects.get(user=user)
    client = Client()
    next_url = "/admin/" if user.is_superuser else "/settings/api-keys/"
    post_password(client, user, next_url=next_url)
    done = client.post("/login/verify/", {"token": current_code(device)})
    assert done["Location"] == next_url
    assert client.session[SESSION_KEY] == str(user.pk)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get(next_url).status_code == 200


@pytest.mark.parametrize("kind", ["admin", "superuser"])
def test_password_then_enrolment_signs_in_with_the_new_authenticator(account, kind):
    """GIVEN a person who must use a code and has none WHEN password, scan, first code
    THEN one confirmed device with the key shown, and a verified session."""
    user = person(kind, account)
    client = Client()
    next_url = "/admin/" if user.is_superuser else "/settings/api-keys/"
    post_password(client, user, next_url=next_url)
    secret = displayed_secret(html_of(client.get("/login/enrol/")))
    done = client.post("/login/enrol/", {"token": code_for_secret(secret)})
    assert done["Location"] == next_url
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get(next_url).status_code == 200


def test_the_first_code_cannot_be_typed_again_at_the_next_sign_in(admin_staff):
    """GIVEN an admin who just enrolled with a code WHEN that same code is typed at a
    new sign-in within its 30 seconds THEN it is refused (no replay)."""
    client = Client()
    post_password(client, admin_staff.user)
    secret = displayed_secret(html_of(client.get("/login/enrol/")))
    code = code_for_secret(secret)
    client.post("/login/enrol/", {"token": code})
    again = Client()
    post_password(again, admin_staff.user)
    refused = again.post("/login/verify/", {"token": code})
    assert "That code did not work" in html_of(refused)
    assert SESSION_KEY not in again.session


# --- Back button and pages after signing in ---------------------------------------------


@pytest.mark.parametrize("kind", ["admin", "admin with a device", "clinician"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/login/"),
        ("GET", "/login/verify/"),
        ("POST", "/login/verify/"),
        ("GET", "/login/enrol/"),
        ("POST", "/login/enrol/"),
    ],
)
def test_back_to_a_sign_in_step_once_signed_in(account, kind, method, path):
    """GIVEN a person who has finished signing in
    WHEN the back button (or a resubmitted form) reaches an earlier step
    THEN they are sent on into the dashboard; the session stays theirs, no secret is
    shown and no authenticator changes."""
    user = person(kind, account)
    client = Client()
    post_password(client, user)
    if kind in ("admin", "clinician"):
        secret = displayed_secret(html_of(client.get("/login/enrol/")))
        client.post("/login/enrol/", {"token": code_for_secret(secret)})
    elif kind == "admin with a device":
        client.post("/login/verify/", {"token": current_code(TOTPDevice.objects.get(user=user))})
    assert client.session[SESSION_KEY] == str(user.pk)
    devices_before = devices_of(user)

    data = {"token": ANY_CODE}
    response = client.post(path, data) if method == "POST" else client.get(path)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(user.pk)
    assert devices_of(user) == devices_before
    assert client.get("/patients/").status_code == 200


def test_back_to_the_password_page_mid_sign_in_starts_a_new_attempt(admin_staff):
    """GIVEN an admin at the enrolment step WHEN they go back and type the password again
    THEN a new attempt starts with a new secret; the old page's code no longer works."""
    client = Client()
    post_password(client, admin_staff.user)
    first_secret = displayed_secret(html_of(client.get("/login/enrol/")))
    post_password(client, admin_staff.user)
    second_secret = displayed_secret(html_of(client.get("/login/enrol/")))
    assert first_secret != second_secret
    stale = client.post("/login/enrol/", {"token": code_for_secret(first_secret)})
    assert "That code did not work" in html_of(stale)
    assert not TOTPDevice.objects.filter(user=admin_staff.user).exists()
    done = client.post("/login/enrol/", {"token": code_for_secret(second_secret)})
    assert done["Location"] == "/"
    assert TOTPDevice.objects.get(user=admin_staff.user).confirmed


def test_an_expired_password_step_starts_again(admin_staff):
    """GIVEN a password step older than the pending window WHEN the code page is asked for
    THEN back to the password, with the reason."""
    confirmed_device_for(admin_staff.user)
    client = Client()
    post_password(client, admin_staff.user)
    session = client.session
    session[signin.PENDING_SINCE] -= 60 * 60
    session.save()
    response = client.get("/login/verify/", follow=True)
    assert response.redirect_chain[-1][0] == "/login/"
    assert "Your sign-in timed out" in html_of(response)
    assert signin.PENDING_USER_ID not in client.session


# --- Two tabs -------------------------------------------------------------------------------


def test_two_sessions_enrolling_at_once_only_the_first_wins(admin_staff):
    """GIVEN one admin with no authenticator, at the enrolment step in two sessions
    WHEN the first confirms its code and then the second confirms its own
    THEN the second is sent to the code step; only the first key works from then on."""
    first, second = Client(), Client()
    post_password(first, admin_staff.user)
    post_password(second, admin_staff.user)
    first_secret = displayed_secret(html_of(first.get("/login/enrol/")))
    second_secret = displayed_secret(html_of(second.get("/login/enrol/")))
    assert first_secret != second_secret

    assert first.post("/login/enrol/", {"token": code_for_secret(first_secret)})["Location"] == "/"
    late = second.post("/login/enrol/", {"token": code_for_secret(second_secret)})
    assert late["Location"] == "/login/verify/"
    assert SESSION_KEY not in second.session
    [device] = TOTPDevice.objects.filter(user=admin_staff.user)
    refused = second.post("/login/verify/", {"token": code_for_secret(second_secret)})
    assert SESSION_KEY not in second.session
    assert "That code did not work" in html_of(refused)
    assert device.key == TOTPDevice.objects.get(user=admin_staff.user).key


def test_a_second_password_step_in_the_same_session_moves_every_tab_to_it(account, admin_staff):
    """GIVEN one session at the code step for an admin with an authenticator (tab 1)
    WHEN another tab types the password of an admin without one (tab 2)
    THEN the session is at the enrolment step of the second person: tab 1's code page
    now sends to enrolment, and a code of the first admin signs no one in."""
    first = person("admin with a device", account)
    client = Client()
    post_password(client, first)
    post_password(client, admin_staff.user)
    verify = client.get("/login/verify/")
    assert verify["Location"] == "/login/enrol/"
    first_code = current_code(TOTPDevice.objects.get(user=first))
    posted = client.post("/login/verify/", {"token": first_code})
    assert posted["Location"] == "/login/enrol/"
    assert SESSION_KEY not in client.session


def test_a_tab_left_at_enrolment_cannot_enrol_once_the_other_tab_signed_in(admin_staff):
    """GIVEN one session at the enrolment step in two tabs WHEN one tab finishes
    THEN the other tab's form is sent on into the dashboard and changes nothing."""
    client = Client()
    post_password(client, admin_staff.user)
    secret = displayed_secret(html_of(client.get("/login/enrol/")))
    client.post("/login/enrol/", {"token": code_for_secret(secret)})
    before = devices_of(admin_staff.user)
    again = client.post("/login/enrol/", {"token": code_for_secret(secret)})
    assert again["Location"] == "/"
    assert devices_of(admin_staff.user) == before


# --- Replacing an authenticator from Security -------------------------------------------


def test_replacing_an_authenticator_needs_the_current_one_again(admin_staff):
    """GIVEN an admin signed in and verified with their authenticator
    WHEN they set up a new one on Security
    THEN the current app's code is asked for too; without it, or wrong, nothing
    changes; with both codes the new app replaces the old one."""
    old_device = confirmed_device_for(admin_staff.user)
    client = signed_in_client(admin_staff)
    page = html_of(client.get("/security/two-factor/"))
    assert "Code from your current app" in page
    new_code = code_for_secret(displayed_secret(page))

    missing = client.post("/security/two-factor/", {"token": new_code})
    assert missing.status_code == 200
    wrong = client.post("/security/two-factor/", {"token": new_code, "current-token": "000000"})
    assert "That code did not work" in html_of(wrong)
    assert devices_of(admin_staff.user) == [(old_device.pk, old_device.key, True)]

    old_device.refresh_from_db()
    old_device.throttle_reset()
    done = client.post(
        "/security/two-factor/",
        {"token": new_code, "current-token": current_code(old_device)},
    )
    assert done["Location"] == "/security/"
    [new_device] = TOTPDevice.objects.filter(user=admin_staff.user)
    assert new_device.pk != old_device.pk and new_device.confirmed
    assert client.get("/settings/api-keys/").status_code == 200


def test_a_session_not_verified_with_the_current_authenticator_cannot_replace_it(admin_staff):
    """GIVEN a session signed in with a password only, for someone who has an app
    WHEN it opens or posts the enrolment page on Security
    THEN it is signed out and sent to sign in with the code; the app is untouched."""
    device = confirmed_device_for(admin_staff.user)
    client = Client()
    client.force_login(admin_staff.user)
    response = client.post(
        "/security/two-factor/", {"token": ANY_CODE, "current-token": current_code(device)}
    )
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert SESSION_KEY not in client.session
    assert devices_of(admin_staff.user) == [(device.pk, device.key, True)]


# --- The Django admin needs the verified second factor ------------------------------------


@pytest.mark.parametrize(
    "session",
    ["password only, device set up", "password only, no device", "verified"],
)
def test_the_admin_needs_a_session_verified_with_a_code(db, session):
    """GIVEN a superuser's session in each state WHEN they open the Django admin
    THEN only the session verified with a code gets in."""
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    if session == "password only, device set up":
        confirmed_device_for(superuser)
        client.force_login(superuser)
    elif session == "password only, no device":
        client.force_login(superuser)
    else:
        device = confirmed_device_for(superuser)
        post_password(client, superuser, next_url="/admin/")
        client.post("/login/verify/", {"token": current_code(device)})
    response = client.get("/admin/accounts/user/")
    if session == "verified":
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert not response["Location"].startswith("/admin/accounts")


# --- Boundaries: the pending window, where the browser goes next, what the session keeps -----

PENDING_KEYS_ALL = [
    signin.PENDING_USER_ID,
    signin.PENDING_BACKEND,
    signin.PENDING_SINCE,
    signin.PENDING_NEXT,
    signin.PENDING_ATTEMPT,
]


@pytest.fixture
def still_clock(monkeypatch):
    """``time.time`` standing still at a given instant (the pending window is read from it)."""
    import time

    class Clock:
        now = time.time()

    monkeypatch.setattr(time, "time", lambda: Clock.now)
    return Clock


@pytest.mark.parametrize(
    ("age", "pending"),
    [(299.999, True), (300, True), (300.001, False)],
    ids=["just inside 5 minutes", "exactly 5 minutes", "just past"],
)
def test_the_password_step_lasts_five_minutes_that_instant_included(
    admin_staff, still_clock, age, pending
):
    """GIVEN a right password ``age`` seconds ago WHEN the code page is asked for
    THEN it opens while the password is at most 5 minutes old; after that the browser is
    sent back to the password with the reason, and the session forgets the attempt."""
    confirmed_device_for(admin_staff.user)
    client = Client()
    post_password(client, admin_staff.user)
    session = client.session
    session[signin.PENDING_SINCE] = still_clock.now - age
    session.save()
    response = client.get("/login/verify/")
    if pending:
        assert response.status_code == 200
        assert client.session[signin.PENDING_USER_ID] == str(admin_staff.user.pk)
    else:
        assert response.status_code == 302
        assert response["Location"] == "/login/"
        assert "Your sign-in timed out" in html_of(client.get("/login/"))
        assert not set(PENDING_KEYS_ALL) & set(client.session.keys())


NEXT_PAGES = [
    ("/settings/api-keys/", "/settings/api-keys/"),
    ("http://testserver/settings/api-keys/", "http://testserver/settings/api-keys/"),
    ("https://evil.example/settings/", "/"),
    ("//evil.example/", "/"),
    ("http://testserver.evil.example/", "/"),
    ("javascript:alert(1)", "/"),
    ("", "/"),
]


@pytest.mark.parametrize(("asked", "lands"), NEXT_PAGES)
@pytest.mark.parametrize("second_step", ["code", "first code"])
def test_after_the_code_the_browser_goes_only_to_a_page_of_this_site(
    account, asked, lands, second_step
):
    """GIVEN a sign-in asked for with ``next`` (this site's page, by path or by its own
    address; another site's; a script; nothing) WHEN the password and the code are right
    THEN the browser goes to that page only when it is this site's, else to the start page."""
    client = Client()
    if second_step == "code":
        user = person("admin with a device", account)
        post_password(client, user, next_url=asked)
        done = client.post("/login/verify/", {"token": current_code(user.totpdevice_set.get())})
    else:
        user = person("admin", account)
        post_password(client, user, next_url=asked)
        secret = displayed_secret(html_of(client.get("/login/enrol/")))
        done = client.post("/login/enrol/", {"token": code_for_secret(secret)})
    assert done.status_code == 302
    assert done["Location"] == lands
    assert client.session[SESSION_KEY] == str(user.pk)


def test_signed_in_the_session_keeps_nothing_of_the_half_signed_in_state(account):
    """GIVEN a sign-in that went through password and code WHEN it is done THEN the session
    holds none of the password step's entries (whose password, since when, where next, the
    attempt): only the signed-in session."""
    user = person("admin with a device", account)
    client = Client()
    post_password(client, user, next_url="/settings/api-keys/")
    assert set(PENDING_KEYS_ALL) <= set(client.session.keys())
    client.post("/login/verify/", {"token": current_code(user.totpdevice_set.get())})
    assert client.session[SESSION_KEY] == str(user.pk)
    assert not set(PENDING_KEYS_ALL) & set(client.session.keys())


def test_each_attempt_has_its_own_unguessable_id(admin_staff):
    """GIVEN two password steps in one session THEN each has its own attempt id of 128
    random bits (22 URL-safe characters), so what one showed is no good to the other."""
    client = Client()
    ids = []
    for _ in range(2):
        post_password(client, admin_staff.user)
        ids.append(client.session[signin.PENDING_ATTEMPT])
    assert ids[0] != ids[1]
    for attempt in ids:
        assert len(attempt) == 22
        assert set(attempt) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )


def test_a_person_deactivated_after_the_password_cannot_finish(admin_staff):
    """GIVEN a right password WHEN the person is deactivated before the code step
    THEN the code page sends the browser back to the password (no error), and the right
    code signs no one in."""
    device = confirmed_device_for(admin_staff.user)
    client = Client()
    post_password(client, admin_staff.user)
    admin_staff.user.is_active = False
    admin_staff.user.save(update_fields=["is_active"])
    page = client.get("/login/verify/")
    assert page.status_code == 302
    assert page["Location"] == "/login/"
    done = client.post("/login/verify/", {"token": current_code(device)})
    assert done.status_code == 302
    assert done["Location"] == "/login/"
    assert SESSION_KEY not in client.session


@pytest.mark.parametrize("state", [signin.SignInState.ANONYMOUS, signin.SignInState.SIGNED_IN])
def test_no_second_factor_is_taken_where_none_is_awaited(rf, admin_staff, state):
    """GIVEN a session that awaits no code (anonymous, or signed in already)
    THEN the second-factor transition refuses to run, naming the state."""
    request = rf.get("/")
    step = signin.SignInStep(state, admin_staff.user)
    with pytest.raises(ValueError, match=f"No second factor is awaited in state {state.value}"):
        signin.second_factor_passed(request, step, device=None)


def test_a_plain_http_next_page_is_not_followed_once_the_code_step_is_secure(account):
    """GIVEN a password step over plain HTTP asking to go on to this site's page by its
    http:// address WHEN the code is typed over HTTPS THEN the browser goes to the start
    page, not back to plain HTTP (the next page is judged again at the last step)."""
    user = person("admin with a device", account)
    client = Client()
    post_password(client, user, next_url="http://testserver/settings/api-keys/")
    done = client.post(
        "/login/verify/", {"token": current_code(user.totpdevice_set.get())}, secure=True
    )
    assert done.status_code == 302
    assert done["Location"] == "/"
    assert client.session[SESSION_KEY] == str(user.pk)
