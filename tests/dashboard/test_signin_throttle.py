"""Brute-force protection on the staff sign-in.

The review signed in after 40 wrong passwords. Now wrong passwords are counted per
e-mail address (across client addresses) and per client address (across e-mail
addresses); past the limit sign-in pauses, each pause of a key twice as long as the
last; while paused even the right password is refused, with a message that says when
to try again; every step is in the audit log. Time passing is the stored pause ending
(the rows are aged), never a sleep.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from portal.accounts import signin_throttle
from portal.accounts.models import SignInThrottle
from portal.accounts.signin_throttle import key_digest
from portal.audit.models import AuditEvent
from tests.dashboard.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
PAUSED = "Too many wrong passwords: signing in is paused for your safety."


def attempt(user_or_email, password: str, address: str = "198.51.100.7"):
    """One sign-in from ``address``; returns (response, client)."""
    email = getattr(user_or_email, "email", user_or_email)
    client = Client(REMOTE_ADDR=address)
    response = client.post("/login/", {"username": email, "password": password})
    return response, client


def wrong(user_or_email, times: int, addresses=None) -> None:
    for index in range(times):
        address = addresses[index % len(addresses)] if addresses else "198.51.100.7"
        response, _ = attempt(user_or_email, f"wrong password {index}", address)
        assert response.status_code in (200, 429)


def time_passes(scope: str | None = None) -> None:
    """Every pause (of ``scope``) has ended, and the failures are older than the window."""
    earlier = timezone.now() - timedelta(seconds=1)
    rows = SignInThrottle.objects.all()
    if scope:
        rows = rows.filter(scope=scope)
    rows.filter(locked_until__isnull=False).update(locked_until=earlier)
    rows.update(last_failure_at=timezone.now() - timedelta(minutes=16))


def assert_password_accepted(response, client) -> None:
    """The password was right: on to the code step (everyone uses a code), and the
    session is not signed in until that step is done."""
    assert response.status_code == 302
    assert response["Location"] in ("/login/enrol/", "/login/verify/")
    assert SESSION_KEY not in client.session


def assert_paused(response, client) -> None:
    assert response.status_code == 429
    assert PAUSED in response.content.decode()
    assert "Try again in" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert SESSION_KEY not in client.session


# --- Per account, across addresses --------------------------------------------------------


@pytest.mark.parametrize("spread", ["one address", "every guess from a new address"])
def test_wrong_passwords_for_one_account_pause_it_from_every_address(clinician, spread):
    """GIVEN five wrong passwords for one account, from one address or from five
    WHEN the right password is then typed, from yet another address
    THEN it is refused with 429 and the time to try again; nobody is signed in."""
    addresses = (
        ["198.51.100.7"]
        if spread == "one address"
        else [f"203.0.113.{n}" for n in range(1, ACCOUNT_LIMIT + 1)]
    )
    wrong(clinician.user, ACCOUNT_LIMIT, addresses)
    response, client = attempt(clinician.user, PASSWORD, "192.0.2.200")
    assert_paused(response, client)
    assert "Try again in 1 minute (after " in response.content.decode()


def test_the_limit_is_the_limit_not_one_before(clinician):
    """GIVEN one wrong password fewer than the limit WHEN the right one is typed
    THEN the password is accepted (the throttle is not off by one)."""
    wrong(clinician.user, ACCOUNT_LIMIT - 1)
    response, client = attempt(clinician.user, PASSWORD)
    assert_password_accepted(response, client)


def test_the_guess_that_reaches_the_limit_is_told_at_once(clinician):
    """GIVEN four wrong passwords WHEN the fifth is wrong too
    THEN that answer already says sign-in is paused, and when to try again."""
    wrong(clinician.user, ACCOUNT_LIMIT - 1)
    response, client = attempt(clinician.user, "still wrong")
    assert_paused(response, client)


@pytest.mark.parametrize(
    "email_typed",
    ["nobody@clinic.example", "NOBODY@clinic.example", "  nobody@clinic.example  "],
)
def test_an_unknown_e_mail_is_paused_just_like_a_real_one(db, clinician, email_typed):
    """GIVEN wrong passwords for an e-mail address no one has (in any spelling)
    THEN it is paused exactly as a real account is: the answers never tell them apart."""
    wrong(email_typed, ACCOUNT_LIMIT)
    unknown, unknown_client = attempt("nobody@clinic.example", "anything", "192.0.2.201")
    wrong(clinician.user, ACCOUNT_LIMIT, ["192.0.2.9"])
    known, known_client = attempt(clinician.user, "anything", "192.0.2.202")
    assert_paused(unknown, unknown_client)
    assert_paused(known, known_client)
    assert unknown.status_code == known.status_code


# --- Per address, across accounts ----------------------------------------------------------


@pytest.mark.parametrize(
    ("guesses_from", "right_password_from"),
    [
        (["198.51.100.23"], "198.51.100.23"),
        (["2001:db8:1:2::1", "2001:db8:1:2::dead", "2001:db8:1:2:ffff::9"], "2001:db8:1:2::77"),
        (["::ffff:198.51.100.24"], "198.51.100.24"),
    ],
    ids=["IPv4", "IPv6 within one /64", "IPv4-mapped IPv6"],
)
def test_wrong_passwords_for_many_accounts_pause_the_address(
    clinician, guesses_from, right_password_from
):
    """GIVEN twenty wrong passwords, each for a different e-mail, from one address
    (for IPv6: from anywhere in one /64)
    WHEN a real person's right password comes from that address
    THEN it is refused while the pause lasts; from another address it works."""
    for index in range(ADDRESS_LIMIT):
        address = guesses_from[index % len(guesses_from)]
        attempt(f"guess{index}@clinic.example", "wrong", address)
    response, client = attempt(clinician.user, PASSWORD, right_password_from)
    assert_paused(response, client)
    elsewhere, elsewhere_client = attempt(clinician.user, PASSWORD, "192.0.2.50")
    assert_password_accepted(elsewhere, elsewhere_client)


def test_a_right_password_does_not_clear_the_address_count(clinician, admin_staff):
    """GIVEN an attacker who knows one account's password, guessing at others from one
    address WHEN they sign in to their own account between guesses
    THEN the address still pauses after the limit."""
    address = "198.51.100.99"
    for index in range(ADDRESS_LIMIT - 1):
        attempt(f"victim{index}@clinic.example", "wrong", address)
        if index % 4 == 0:
            ok, _ = attempt(clinician.user, PASSWORD, address)
            assert ok.status_code == 302
    attempt("victim-last@clinic.example", "wrong", address)
    response, client = attempt(admin_staff.user, PASSWORD, address)
    assert_paused(response, client)


# --- Back-off, and signing in after the pause ----------------------------------------------


@pytest.mark.parametrize(
    ("pauses", "expected_seconds"),
    [(1, 60), (2, 120), (3, 240), (4, 480), (7, 3600), (9, 3600)],
)
def test_each_further_pause_is_twice_as_long_up_to_an_hour(clinician, pauses, expected_seconds):
    """GIVEN an account paused, the pause over, paused again… ``pauses`` times
    THEN the last pause lasts 1, 2, 4, 8… minutes, never more than an hour."""
    for number in range(pauses):
        if number:
            time_passes()
        wrong(clinician.user, ACCOUNT_LIMIT)
    response, client = attempt(clinician.user, PASSWORD)
    assert_paused(response, client)
    assert expected_seconds - 5 <= int(response["Retry-After"]) <= expected_seconds
    event = AuditEvent.objects.filter(action="auth.sign_in_paused", detail__scope="account")
    assert event.order_by("-occurred_at").first().detail["seconds"] == expected_seconds


def test_after_the_pause_the_right_password_signs_in_and_the_count_starts_again(clinician):
    """GIVEN a paused account WHEN the pause has ended and the right password is typed
    THEN the password is accepted, and the back-off starts from the beginning."""
    wrong(clinician.user, ACCOUNT_LIMIT)
    refused, _ = attempt(clinician.user, PASSWORD)
    assert refused.status_code == 429
    time_passes()
    response, client = attempt(clinician.user, PASSWORD)
    assert_password_accepted(response, client)
    row = SignInThrottle.objects.get(
        scope="account", key_digest=key_digest("account", clinician.user.email)
    )
    assert (row.failures, row.lockouts) == (0, 0)


def test_failures_older_than_the_window_are_forgotten(clinician):
    """GIVEN four wrong passwords long ago WHEN one more is wrong now
    THEN the account is not paused (old failures do not add up forever)."""
    wrong(clinician.user, ACCOUNT_LIMIT - 1)
    SignInThrottle.objects.update(last_failure_at=timezone.now() - timedelta(hours=1))
    response, _ = attempt(clinician.user, "wrong again")
    assert response.status_code == 200
    ok, _ = attempt(clinician.user, PASSWORD)
    assert ok.status_code == 302


def test_a_pause_covers_the_code_step_too(admin_staff):
    """GIVEN an admin with an authenticator whose account is paused
    THEN the right password does not even reach the code step."""
    from tests.dashboard.conftest import confirmed_device_for

    confirmed_device_for(admin_staff.user)
    wrong(admin_staff.user, ACCOUNT_LIMIT)
    response, client = attempt(admin_staff.user, PASSWORD)
    assert_paused(response, client)
    assert client.get("/login/verify/")["Location"] == "/login/"


# --- Audit ------------------------------------------------------------------------------------


def test_every_failure_pause_and_refusal_is_audited(clinician):
    """GIVEN wrong passwords up to a pause, a refused right password, the pause over,
    and a right password
    THEN the audit log has a line for each, naming the user and the address, and
    never the e-mail address as typed."""
    address = "198.51.100.61"
    wrong(clinician.user, ACCOUNT_LIMIT)
    attempt(clinician.user, PASSWORD, address)
    time_passes()
    attempt(clinician.user, PASSWORD, address)

    def events(action):
        return AuditEvent.objects.filter(action=action, target_id=str(clinician.user.pk))

    assert events("auth.sign_in_failed").count() == ACCOUNT_LIMIT
    paused = events("auth.sign_in_paused").get()
    assert paused.detail == {"scope": "account", "seconds": 60, "lockouts": 1}
    refused = events("auth.sign_in_throttled").get()
    assert refused.detail["scopes"] == ["account"]
    assert refused.ip_address == address
    accepted = events("auth.password_accepted").get()
    assert accepted.ip_address == address
    for event in AuditEvent.objects.filter(action__startswith="auth."):
        assert event.target_type == "accounts.user"
        assert clinician.user.email not in str(event.detail)
        assert event.actor_kind == "anonymous"


def test_guesses_at_unknown_e_mails_are_audited_without_the_e_mail(db):
    """GIVEN wrong passwords for an address no one has THEN audited, with no target
    and nothing of what was typed."""
    wrong("typed-a-password-here@clinic.example", 2)
    events = AuditEvent.objects.filter(action="auth.sign_in_failed")
    assert events.count() == 2
    for event in events:
        assert event.target_id == ""
        assert "typed-a-password-here" not in str(event.detail)


# --- The other door ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api-auth/login/", "/api-auth/logout/"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_rest_framework_sign_in_is_gone(clinician, path, method):
    """GIVEN DRF's own login (a password alone, no code, no throttle)
    THEN it no longer exists; the right password there signs no one in."""
    client = Client()
    data = {"username": clinician.user.email, "password": PASSWORD}
    response = client.post(path, data) if method == "POST" else client.get(path)
    assert response.status_code == 404
    assert SESSION_KEY not in client.session


def test_an_operator_can_end_a_pause_from_the_admin_and_it_is_audited(clinician):
    """GIVEN a paused account WHEN the operator finds its row by e-mail in the admin
    and ends the pause THEN the password is accepted at once; the admin's act is audited."""
    from tests.support.sessions import sign_in

    wrong(clinician.user, ACCOUNT_LIMIT)
    operator = sign_in(Client(), UserFactory(is_staff=True, is_superuser=True))
    row = SignInThrottle.objects.get(
        scope="account", key_digest=key_digest("account", clinician.user.email)
    )
    listing = operator.get(
        "/admin/accounts/signinthrottle/", {"q": clinician.user.email}
    ).content.decode()
    assert f"/admin/accounts/signinthrottle/{row.pk}/change/" in listing
    operator.post(
        "/admin/accounts/signinthrottle/",
        {"action": "end_pause", "_selected_action": [row.pk]},
    )
    response, client = attempt(clinician.user, PASSWORD)
    assert_password_accepted(response, client)
    assert AuditEvent.objects.filter(action="auth.sign_in_pause_ended").exists()


# --- Every spelling of one address is one account ---------------------------------------------
#
# Authentication looks the address up as Django's sign-in form cleans it: surrounding
# space removed, then NFKC. A throttle keyed on the typed text lower-cased gave each
# spelling that authenticates as the same person (a full-width letter, a ligature, a
# combining accent, 300 spaces in front) five fresh tries, and let it sign in while the
# address was paused. Spellings that differ only by case fold in with them.


def full_width(text: str) -> str:
    """The same characters from the full-width block (as a Japanese keyboard types them)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


SPELLINGS = [
    # (id, address stored, address typed, whether that spelling signs the person in)
    ("full-width first letter", "clin.b@example.org", full_width("c") + "lin.b@example.org", True),
    ("all full-width", "clin.b@example.org", full_width("clin.b@example.org"), True),
    ("mathematical bold letter", "clin.b@example.org", "\U0001d41clin.b@example.org", True),
    ("circled letter", "clin.b@example.org", "\u24d2lin.b@example.org", True),
    ("ligature fi", "fiona@example.org", "\ufb01ona@example.org", True),
    ("combining accent", "jos\u00e9@example.org", "jose\u0301@example.org", True),
    ("ideographic spaces around", "clin.b@example.org", "\u3000clin.b@example.org\u3000", True),
    ("300 spaces in front", "clin.b@example.org", " " * 300 + "clin.b@example.org", True),
    ("capitals", "clin.b@example.org", "CLIN.B@EXAMPLE.ORG", False),
    ("full-width capital", "clin.b@example.org", full_width("C") + "lin.b@example.org", False),
    ("Kelvin sign for K", "kelly@example.org", "\u212aelly@example.org", False),
    ("sharp s for ss", "strasse@example.org", "stra\u00dfe@example.org", False),
]
SPELLING_IDS = [spelling[0] for spelling in SPELLINGS]


def person_with(email: str):
    from portal.accounts.models import Staff
    from tests.factories import StaffFactory

    return StaffFactory(user=UserFactory(email=email), role=Staff.Role.CLINICIAN).user


def signed_in_or_onward(response) -> bool:
    """The password was accepted: the answer sends the browser on (302), whatever step
    comes next."""
    return response.status_code == 302


@pytest.mark.parametrize(("name", "stored", "typed", "authenticates"), SPELLINGS, ids=SPELLING_IDS)
def test_a_paused_address_stays_paused_in_every_spelling(db, name, stored, typed, authenticates):
    """GIVEN five wrong passwords for an address as stored
    WHEN the right password is typed with another spelling of it
    THEN sign-in is paused for that spelling too; once the pause is over, the spellings
    that authentication takes for the same address do sign in (they are the same person)."""
    user = person_with(stored)
    wrong(stored, ACCOUNT_LIMIT)
    response, client = attempt(typed, PASSWORD, "192.0.2.70")
    assert_paused(response, client)
    time_passes()
    later, _ = attempt(typed, PASSWORD, "192.0.2.71")
    assert signed_in_or_onward(later) is authenticates
    assert user.check_password(PASSWORD)


@pytest.mark.parametrize(("name", "stored", "typed", "authenticates"), SPELLINGS, ids=SPELLING_IDS)
def test_wrong_passwords_in_another_spelling_pause_the_address(
    db, name, stored, typed, authenticates
):
    """GIVEN five wrong passwords typed with another spelling of an address
    WHEN the right password is typed with the address as stored
    THEN it is refused as paused: the other spelling bought no fresh tries."""
    person_with(stored)
    wrong(typed, ACCOUNT_LIMIT)
    response, client = attempt(stored, PASSWORD, "192.0.2.72")
    assert_paused(response, client)


@pytest.mark.parametrize(
    "stored",
    ["clin.b@example.org", "fiona@example.org", "jos\u00e9@example.org", "strasse@example.org"],
)
def test_one_wrong_password_in_each_of_five_spellings_pauses_the_address(db, stored):
    """GIVEN one wrong password in each of five different spellings of one address
    WHEN the right one follows, in yet another spelling
    THEN sign-in is paused: spellings share one count."""
    person_with(stored)
    spellings = [typed for _, address, typed, _ in SPELLINGS if address == stored]
    spellings += [stored.upper(), f"  {stored}  ", stored.replace("@", full_width("@")), stored]
    spellings += [stored.replace(".", full_width(".")), stored.replace("e", full_width("e"), 1)]
    distinct = list(dict.fromkeys(spellings))
    assert len(distinct) >= ACCOUNT_LIMIT + 1
    for index, typed in enumerate(distinct[:ACCOUNT_LIMIT]):
        response, _ = attempt(typed, f"wrong {index}", f"203.0.113.{100 + index}")
        assert response.status_code in (200, 429)
    response, client = attempt(distinct[ACCOUNT_LIMIT], PASSWORD, "192.0.2.73")
    assert_paused(response, client)


@pytest.mark.parametrize(
    ("name", "stored", "typed", "authenticates"),
    [spelling for spelling in SPELLINGS if spelling[3] or spelling[0] == "capitals"],
    ids=[spelling[0] for spelling in SPELLINGS if spelling[3] or spelling[0] == "capitals"],
)
def test_failures_in_any_spelling_are_audited_against_the_person(
    db, name, stored, typed, authenticates
):
    """GIVEN wrong passwords up to a pause, typed with another spelling of a real address
    THEN each failure, the pause and the refusal are audited with that person as the
    target, and nothing of what was typed is stored."""
    user = person_with(stored)
    wrong(typed, ACCOUNT_LIMIT)
    attempt(typed, PASSWORD)
    for action, count in (
        ("auth.sign_in_failed", ACCOUNT_LIMIT),
        ("auth.sign_in_paused", 1),
        ("auth.sign_in_throttled", 1),
    ):
        events = AuditEvent.objects.filter(action=action)
        assert events.count() == count, action
        for event in events:
            assert (event.target_type, event.target_id) == ("accounts.user", str(user.pk)), action
            assert typed.strip() not in str(event.detail)


# --- Boundaries: when a count lapses, when a pause starts and ends ----------------------------
#
# Each of these is decided by one comparison with the clock, so the clock stands still
# at a fixed instant for the test (Django's ``timezone.now``; nothing of ours is replaced)
# and the stored rows are set to the exact distance from it that the comparison decides.

WINDOW = timedelta(minutes=15)
MEMORY = timedelta(hours=24)
TICK = timedelta(microseconds=1)


def account_row(user) -> SignInThrottle:
    return SignInThrottle.objects.get(scope="account", key_digest=key_digest("account", user.email))


def age_account(user, **fields) -> None:
    SignInThrottle.objects.filter(pk=account_row(user).pk).update(**fields)


@pytest.mark.parametrize(
    ("age", "paused"),
    [(WINDOW - TICK, True), (WINDOW, True), (WINDOW + TICK, False)],
    ids=["a tick inside the window", "exactly the window", "a tick past it"],
)
def test_failures_count_until_the_window_has_passed_not_when_it_is_reached(
    clinician, clock, age, paused
):
    """GIVEN four wrong passwords, the last of them ``age`` ago
    WHEN a fifth is wrong THEN it pauses the account while the four are at most the window
    old (15 minutes, that instant included), and counts as a first failure after that."""
    wrong(clinician.user, ACCOUNT_LIMIT - 1)
    age_account(clinician.user, last_failure_at=clock.now - age)
    response, client = attempt(clinician.user, "wrong again")
    if paused:
        assert_paused(response, client)
    else:
        assert response.status_code == 200
        assert PAUSED not in response.content.decode()
        assert account_row(clinician.user).failures == 1


def test_after_the_window_the_count_starts_from_nothing(clinician, clock):
    """GIVEN four wrong passwords more than the window ago
    WHEN four more are wrong now THEN the account is still not paused (four, not five or
    eight), and the right password is accepted."""
    wrong(clinician.user, ACCOUNT_LIMIT - 1)
    age_account(clinician.user, last_failure_at=clock.now - WINDOW - TICK)
    wrong(clinician.user, ACCOUNT_LIMIT - 1, ["192.0.2.31"])
    response, client = attempt(clinician.user, PASSWORD, "192.0.2.32")
    assert_password_accepted(response, client)


def test_after_a_pause_the_count_starts_from_nothing_even_within_the_window(clinician, clock):
    """GIVEN a pause that has just ended, its failures still inside the window
    WHEN four wrong passwords follow THEN no new pause (the count began again at the pause),
    and the fifth pauses again."""
    wrong(clinician.user, ACCOUNT_LIMIT)
    age_account(clinician.user, locked_until=clock.now - TICK)
    wrong(clinician.user, ACCOUNT_LIMIT - 2, ["192.0.2.33"])
    response, _ = attempt(clinician.user, "the fourth since the pause", "192.0.2.34")
    assert response.status_code == 200
    assert PAUSED not in response.content.decode()
    response, client = attempt(clinician.user, "the fifth since the pause", "192.0.2.35")
    assert_paused(response, client)


@pytest.mark.parametrize(
    ("age", "next_pause_seconds", "lockouts"),
    [(MEMORY - TICK, 120, 2), (MEMORY, 120, 2), (MEMORY + TICK, 60, 1)],
    ids=["a tick inside a day", "exactly a day", "a tick past a day"],
)
def test_back_off_is_remembered_for_a_day_that_instant_included(
    clinician, clock, age, next_pause_seconds, lockouts
):
    """GIVEN an account paused once, its last failure ``age`` ago
    WHEN it is paused again THEN the new pause is twice as long (2 minutes) while the last
    failure is at most 24 hours old, and back to 1 minute after that; the audit line says
    which pause of the account it is."""
    wrong(clinician.user, ACCOUNT_LIMIT)
    age_account(clinician.user, last_failure_at=clock.now - age, locked_until=clock.now - age)
    wrong(clinician.user, ACCOUNT_LIMIT, ["192.0.2.36"])
    response, client = attempt(clinician.user, PASSWORD, "192.0.2.37")
    assert_paused(response, client)
    assert int(response["Retry-After"]) == next_pause_seconds
    paused = AuditEvent.objects.filter(action="auth.sign_in_paused", detail__scope="account")
    details = sorted((e.detail["lockouts"], e.detail["seconds"]) for e in paused)
    assert details == sorted([(1, 60), (lockouts, next_pause_seconds)])


def test_after_a_day_the_back_off_begins_again_and_doubles_again(clinician, clock):
    """GIVEN an account paused three times, then quiet for more than a day
    WHEN it is paused twice more THEN those pauses last 1 and then 2 minutes."""
    for number in range(3):
        if number:
            age_account(clinician.user, locked_until=clock.now - TICK)
        wrong(clinician.user, ACCOUNT_LIMIT)
    assert account_row(clinician.user).lockouts == 3
    age_account(
        clinician.user, last_failure_at=clock.now - MEMORY - TICK, locked_until=clock.now - TICK
    )
    seconds = []
    for _ in range(2):
        wrong(clinician.user, ACCOUNT_LIMIT, ["192.0.2.38"])
        response, _ = attempt(clinician.user, PASSWORD, "192.0.2.39")
        seconds.append(int(response["Retry-After"]))
        age_account(clinician.user, locked_until=clock.now - TICK)
    assert seconds == [60, 120]


@pytest.mark.parametrize(
    ("ends_in", "paused"),
    [(TICK, True), (timedelta(0), False), (-TICK, False)],
    ids=["a tick before its end", "at its end", "a tick after"],
)
def test_a_pause_holds_until_its_end_and_not_at_it(clinician, clock, ends_in, paused):
    """GIVEN an account paused until ``now + ends_in``
    WHEN the right password is typed THEN it is refused (429) while the pause has not ended,
    and accepted from the instant it ends."""
    wrong(clinician.user, ACCOUNT_LIMIT)
    age_account(clinician.user, locked_until=clock.now + ends_in)
    response, client = attempt(clinician.user, PASSWORD, "192.0.2.40")
    if paused:
        assert_paused(response, client)
    else:
        assert_password_accepted(response, client)


@pytest.mark.parametrize(
    "ends_in", [timedelta(microseconds=1), timedelta(milliseconds=500), timedelta(seconds=1)]
)
def test_a_pause_ending_within_the_second_says_retry_after_one_second(clinician, clock, ends_in):
    """GIVEN a pause that ends within the next second WHEN the right password is typed
    THEN the answer is 429 with ``Retry-After: 1`` (a whole second, rounded up, not 2)."""
    wrong(clinician.user, ACCOUNT_LIMIT)
    age_account(clinician.user, locked_until=clock.now + ends_in)
    response, client = attempt(clinician.user, PASSWORD, "192.0.2.41")
    assert_paused(response, client)
    assert response["Retry-After"] == "1"
    assert "Try again in 1 minute (after " in response.content.decode()


@pytest.mark.parametrize(
    ("ends_in", "words"),
    [
        (timedelta(seconds=59), "Try again in 1 minute (after "),
        (timedelta(seconds=60), "Try again in 1 minute (after "),
        (timedelta(seconds=61), "Try again in 2 minutes (after "),
        (timedelta(minutes=59, seconds=1), "Try again in 60 minutes (after "),
    ],
    ids=["59 s", "60 s", "61 s", "59 min 1 s"],
)
def test_the_minutes_to_wait_are_rounded_up(clinician, clock, ends_in, words):
    """GIVEN a pause ending in ``ends_in`` WHEN the right password is typed THEN the page
    says to try again in whole minutes rounded up (61 seconds is 2 minutes: whoever comes
    back when told is not refused again), and Retry-After gives the seconds."""
    wrong(clinician.user, ACCOUNT_LIMIT)
    age_account(clinician.user, locked_until=clock.now + ends_in)
    response, client = attempt(clinician.user, PASSWORD, "192.0.2.47")
    assert_paused(response, client)
    assert words in response.content.decode()
    assert response["Retry-After"] == str(int(ends_in.total_seconds()))


@pytest.mark.parametrize("late_by", [timedelta(0), timedelta(milliseconds=1), timedelta(minutes=5)])
def test_retry_after_is_never_less_than_a_second(late_by):
    """GIVEN a pause found in force, whose end has come (or passed) by the time the answer
    is written THEN the answer still says to wait one second: never 0 or less, which
    would invite the client to hammer at once."""
    until = timezone.now()
    pause = signin_throttle.Pause(until=until, scopes=("account",))
    assert pause.retry_after_seconds(until + late_by) == 1


def test_the_sweep_forgets_rows_with_nothing_left_to_remember(clinician, clock):
    """GIVEN an account quiet for more than a day, an address paused long ago but quiet for
    a day, a row with no failure at all (a right password first), one paused now and one
    failing an hour ago WHEN the nightly sweep runs
    THEN the first three are deleted and the count says so; the pause and the back-off
    of the others stay in force."""
    wrong(clinician.user, 1, ["192.0.2.42"])
    SignInThrottle.objects.update(last_failure_at=clock.now - MEMORY - TICK)
    attempt(clinician.user, PASSWORD, "192.0.2.43")  # a row with no failure for .43
    never_failed = SignInThrottle.objects.filter(last_failure_at__isnull=True)
    assert never_failed.count() == 1
    wrong("paused-now@clinic.example", ACCOUNT_LIMIT, ["192.0.2.44"])
    wrong("an-hour-ago@clinic.example", 2, ["192.0.2.45"])
    recent = SignInThrottle.objects.filter(
        key_digest=key_digest("account", "an-hour-ago@clinic.example")
    )
    recent.update(last_failure_at=clock.now - timedelta(hours=1))
    kept = set(
        SignInThrottle.objects.filter(last_failure_at__gte=clock.now - MEMORY).values_list(
            "pk", flat=True
        )
    )

    assert signin_throttle.stale_rows_delete() == 3
    assert set(SignInThrottle.objects.values_list("pk", flat=True)) == kept
    response, client = attempt("paused-now@clinic.example", "anything", "192.0.2.46")
    assert_paused(response, client)


def test_failures_at_the_longest_address_are_audited_against_its_owner(db):
    """GIVEN a person whose address is as long as an address may be (254 characters)
    WHEN a wrong password is typed for it THEN the audit line names them."""
    email = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".org"
    assert len(email) == 254
    person = UserFactory(email=email)
    wrong(person, 1)
    event = AuditEvent.objects.get(action="auth.sign_in_failed")
    assert event.target_id == str(person.pk)
