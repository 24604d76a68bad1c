"""The patient date-of-birth throttle from a crowd behind one address.

A mobile carrier's CGNAT, a clinic's Wi-Fi or a proxy in front of the portal puts
many patients and many strangers behind one address. Strangers there may try
made-up links and wrong dates as much as they like: a patient answering their own
live link with the right date of birth is never refused by the per-address count.
Unknown links are counted apart, and throttled on their own. The address is the
client's as portal.clientip works it out (X-Forwarded-For only from a proxy named in
PORTAL_TRUSTED_PROXIES; IPv6 counted per /64).
"""

from __future__ import annotations

import datetime

import pytest
from django.test import Client, RequestFactory

from filerequests.models import FileRequest
from filerequests.shortlinks import short_link_id_new
from portal.clientip import client_address, client_throttle_key
from tests.factories import FileRequestFactory, PatientFactory

pytestmark = pytest.mark.django_db

DOB = datetime.date(1980, 6, 17)
RIGHT = {"day": "17", "month": "6", "year": "1980"}
WRONG = {"day": "18", "month": "6", "year": "1980"}
SHARED_V4 = "198.51.100.7"
LIMIT = 20


@pytest.fixture(autouse=True)
def limits(settings):
    settings.FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR = LIMIT
    settings.FILE_REQUEST_DOB_MAX_ATTEMPTS = 5
    settings.PORTAL_TRUSTED_PROXIES = []


def live_link(account) -> str:
    patient = PatientFactory(account=account, date_of_birth=DOB)
    return f"/r/{FileRequestFactory(account=account, patient=patient).short_link_id}"


def unknown_link() -> str:
    return f"/r/{short_link_id_new()}"


def visitor(**meta) -> Client:
    """A browser of its own (its own session), with the given REMOTE_ADDR and headers."""
    return Client(**meta)


def strangers_try_unknown_links(times: int, **meta) -> list[int]:
    statuses = []
    for index in range(times):
        stranger = visitor(**meta)
        method = stranger.post if index % 2 else stranger.get
        statuses.append(method(unknown_link(), WRONG).status_code)
    return statuses


def strangers_answer_wrong_on_their_links(account, times: int, **meta) -> list[int]:
    """``times`` wrong answers from strangers with live links of their own (one wrong
    answer per link, so no link locks)."""
    return [visitor(**meta).post(live_link(account), WRONG).status_code for _ in range(times)]


# The crowds behind one address: who came before the patients.
CROWDS = {
    "strangers on unknown links": lambda account, meta: strangers_try_unknown_links(
        LIMIT * 2, **meta
    ),
    "strangers' wrong answers on live links": lambda account, meta: (
        strangers_answer_wrong_on_their_links(account, LIMIT + 3, **meta)
    ),
    "both": lambda account, meta: (
        strangers_try_unknown_links(LIMIT * 2, **meta)
        + strangers_answer_wrong_on_their_links(account, LIMIT + 3, **meta)
    ),
}
SHARED_ADDRESSES = {
    "IPv4 CGNAT": {"REMOTE_ADDR": SHARED_V4},
    "IPv6 one /64": {"REMOTE_ADDR": "2001:db8:7:1::1"},
    "behind a trusted proxy": {
        "REMOTE_ADDR": "10.0.0.2",
        "HTTP_X_FORWARDED_FOR": f"{SHARED_V4}",
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("crowd", CROWDS.values(), ids=CROWDS.keys())
@pytest.mark.parametrize("meta", SHARED_ADDRESSES.values(), ids=SHARED_ADDRESSES.keys())
def test_patients_behind_a_busy_address_still_get_in(account, settings, crowd, meta):
    """GIVEN strangers behind one address who tried made-up links and wrong dates past
    the hourly limit WHEN ten patients at that address open their own live links and
    give the right date of birth THEN every one sees the form and is let in (302)."""
    settings.PORTAL_TRUSTED_PROXIES = ["10.0.0.0/8"]
    crowd(account, meta)

    for _ in range(10):
        patient = visitor(**meta)
        link = live_link(account)
        assert patient.get(link).status_code == 200
        answer = patient.post(link, RIGHT)
        assert answer.status_code == 302, answer.content.decode()[:300]
        assert answer["Location"] == "/r/upload"


def test_a_patient_who_mistypes_once_still_gets_in(account):
    """GIVEN an address past its hourly limit of wrong answers WHEN a patient there
    mistypes their date once (told to wait) and then gives the right one THEN they are
    let in: the throttle answered the wrong date, never the right one."""
    strangers_answer_wrong_on_their_links(account, LIMIT, REMOTE_ADDR=SHARED_V4)
    patient = visitor(REMOTE_ADDR=SHARED_V4)
    link = live_link(account)

    assert patient.post(link, WRONG).status_code == 429
    assert patient.post(link, RIGHT).status_code == 302


def test_wrong_answers_past_the_limit_still_count_against_the_link(account):
    """GIVEN an address past its hourly limit of wrong answers WHEN it keeps guessing one
    live link THEN each guess is refused (429) and still counts on the link, which locks
    after its five: the address limit never gives a guesser free tries."""
    strangers_answer_wrong_on_their_links(account, LIMIT, REMOTE_ADDR=SHARED_V4)
    guesser = visitor(REMOTE_ADDR=SHARED_V4)
    link = live_link(account)

    statuses = [guesser.post(link, WRONG).status_code for _ in range(5)]

    assert statuses == [429] * 5
    file_request = FileRequest.objects.get(short_link_id=link.removeprefix("/r/"))
    assert file_request.lockout_count == 1 and file_request.locked_until is not None
    locked = guesser.post(link, RIGHT)
    assert locked.status_code == 429 and "locked for now" in locked.content.decode()


def test_unknown_link_probing_is_throttled_on_its_own(account):
    """GIVEN one address trying made-up links WHEN it passes the hourly limit THEN further
    made-up links answer 429, while a live link from the same address still opens."""
    statuses = strangers_try_unknown_links(LIMIT + 5, REMOTE_ADDR=SHARED_V4)

    assert statuses[:LIMIT] == [404] * LIMIT
    assert statuses[LIMIT:] == [429] * 5
    patient = visitor(REMOTE_ADDR=SHARED_V4)
    link = live_link(account)
    assert patient.get(link).status_code == 200
    assert patient.post(link, RIGHT).status_code == 302


# --- One client is one client, however it dresses up -----------------------------


# (REMOTE_ADDR per request, X-Forwarded-For per request): one guesser rotating what
# it controls; every request must be counted under one key.
ONE_GUESSER = {
    "spoofed X-Forwarded-For, no trusted proxy": lambda i: (SHARED_V4, f"203.0.113.{i}"),
    "spoofed X-Forwarded-For chain, no trusted proxy": lambda i: (
        SHARED_V4,
        f"203.0.113.{i}, 10.0.0.{i}",
    ),
    "spoofed left of a trusted proxy's hop": lambda i: (
        "10.0.0.2",
        f"203.0.113.{i}, {SHARED_V4}",
    ),
    "rotating addresses in one IPv6 /64": lambda i: (f"2001:db8:7:1::{i:x}", ""),
    "rotating IPv6 /64 addresses behind a trusted proxy": lambda i: (
        "10.0.0.2",
        f"2001:db8:7:1:{i:x}::1",
    ),
}


@pytest.mark.parametrize("dress", ONE_GUESSER.values(), ids=ONE_GUESSER.keys())
def test_one_guesser_is_counted_as_one_however_it_rotates(account, settings, dress):
    """GIVEN one guesser who rotates X-Forwarded-For or its IPv6 address within its /64
    WHEN it answers wrong on more live links than the hourly limit THEN the answers past
    the limit are refused (429): it was counted as one client throughout."""
    settings.PORTAL_TRUSTED_PROXIES = ["10.0.0.0/8"]
    statuses = []
    for index in range(1, LIMIT + 4):
        remote_addr, forwarded = dress(index)
        guesser = visitor(REMOTE_ADDR=remote_addr, HTTP_X_FORWARDED_FOR=forwarded)
        statuses.append(guesser.post(live_link(account), WRONG).status_code)

    assert statuses[:LIMIT] == [200] * LIMIT
    assert statuses[LIMIT:] == [429] * 3


# Neighbours: a second client who must not share the first one's count.
NEIGHBOURS = {
    "next IPv6 /64": ("2001:db8:7:1::1", "", "2001:db8:7:2::1", ""),
    "another client behind the same trusted proxy": (
        "10.0.0.2",
        "203.0.113.50",
        "10.0.0.2",
        "203.0.113.51",
    ),
    "another client behind another trusted proxy": (
        "10.0.0.2",
        "203.0.113.50",
        "10.0.0.3",
        "203.0.113.51",
    ),
}


@pytest.mark.parametrize("neighbours", NEIGHBOURS.values(), ids=NEIGHBOURS.keys())
def test_a_neighbour_is_not_counted_with_the_guesser(account, settings, neighbours):
    """GIVEN a guesser past the hourly limit WHEN a different client (the next /64, or
    another client behind the trusted proxy) answers wrong THEN it is told the date is
    wrong (200 with the form), not throttled."""
    settings.PORTAL_TRUSTED_PROXIES = ["10.0.0.0/8"]
    guesser_addr, guesser_forwarded, neighbour_addr, neighbour_forwarded = neighbours
    strangers_answer_wrong_on_their_links(
        account, LIMIT, REMOTE_ADDR=guesser_addr, HTTP_X_FORWARDED_FOR=guesser_forwarded
    )
    assert (
        visitor(REMOTE_ADDR=guesser_addr, HTTP_X_FORWARDED_FOR=guesser_forwarded)
        .post(live_link(account), WRONG)
        .status_code
        == 429
    )

    neighbour = visitor(REMOTE_ADDR=neighbour_addr, HTTP_X_FORWARDED_FOR=neighbour_forwarded)
    assert neighbour.post(live_link(account), WRONG).status_code == 200


# --- portal.clientip, the one place that says who the client is --------------------

TRUSTED = ["10.0.0.0/8", "fd00::/8", "127.0.0.1"]


@pytest.mark.parametrize(
    ("remote_addr", "forwarded", "trusted", "client", "key"),
    [
        # No trusted proxy: the header is ignored whatever it says.
        ("198.51.100.7", "203.0.113.9", [], "198.51.100.7", "198.51.100.7"),
        ("198.51.100.7", "127.0.0.1", [], "198.51.100.7", "198.51.100.7"),
        # A trusted proxy: the right-most hop that is not a trusted proxy.
        ("10.0.0.2", "203.0.113.9", TRUSTED, "203.0.113.9", "203.0.113.9"),
        ("10.0.0.2", "1.1.1.1, 203.0.113.9", TRUSTED, "203.0.113.9", "203.0.113.9"),
        ("10.0.0.2", "203.0.113.9, 10.0.0.7", TRUSTED, "203.0.113.9", "203.0.113.9"),
        ("10.0.0.2", "203.0.113.9,10.0.0.7, 127.0.0.1", TRUSTED, "203.0.113.9", "203.0.113.9"),
        # The peer is not a trusted proxy: its header is the client's own words.
        ("198.51.100.7", "203.0.113.9", TRUSTED, "198.51.100.7", "198.51.100.7"),
        # No header, or only trusted hops, or garbage: as far as the proxies vouch.
        ("10.0.0.2", "", TRUSTED, "10.0.0.2", "10.0.0.2"),
        ("10.0.0.2", "10.0.0.9", TRUSTED, "10.0.0.9", "10.0.0.9"),
        ("10.0.0.2", "not-an-address", TRUSTED, "10.0.0.2", "10.0.0.2"),
        ("10.0.0.2", "203.0.113.9, unknown", TRUSTED, "10.0.0.2", "10.0.0.2"),
        ("10.0.0.2", "unknown, 203.0.113.9", TRUSTED, "203.0.113.9", "203.0.113.9"),
        # Ports, brackets, IPv4-mapped and IPv6, and the /64 key.
        ("10.0.0.2", "203.0.113.9:5123", TRUSTED, "203.0.113.9", "203.0.113.9"),
        ("10.0.0.2", "[2001:db8::5]:443", TRUSTED, "2001:db8::5", "2001:db8::"),
        ("::ffff:10.0.0.2", "203.0.113.9", TRUSTED, "203.0.113.9", "203.0.113.9"),
        ("fd00::2", "2001:db8:1:2:3:4:5:6", TRUSTED, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),
        ("2001:db8:1:2::99", "", [], "2001:db8:1:2::99", "2001:db8:1:2::"),
        ("::ffff:198.51.100.7", "", [], "198.51.100.7", "198.51.100.7"),
        ("", "203.0.113.9", TRUSTED, None, None),
    ],
)
def test_client_address_table(settings, remote_addr, forwarded, trusted, client, key):
    """GIVEN REMOTE_ADDR, X-Forwarded-For and the trusted proxies WHEN the client is
    worked out THEN it is the right-most hop no trusted proxy wrote, and the throttle
    key is that address, or its /64 for IPv6."""
    settings.PORTAL_TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_address(request) == client
    assert client_throttle_key(request) == key


# --- The date-of-birth check at its edges, through the service every door asks ----------


def answer(link_id: str, date: datetime.date, address: str | None = SHARED_V4):
    """The service's verdict on one answer from ``address`` (None: no usable address)."""
    from filerequests.services import dob_check

    request = RequestFactory().post("/r/x", REMOTE_ADDR=address or "")
    return dob_check(short_link_id=link_id, date_of_birth=date, request=request)


def fresh_link(account) -> str:
    patient = PatientFactory(account=account, date_of_birth=DOB)
    return FileRequestFactory(account=account, patient=patient).short_link_id


WRONG_DATE = DOB + datetime.timedelta(days=1)


def seconds_to_next_hour(moment: datetime.datetime) -> int:
    top = moment.replace(minute=0, second=0, microsecond=0) + datetime.timedelta(hours=1)
    return int((top - moment).total_seconds()) + 1


def test_an_address_is_refused_from_its_answer_after_the_limit_until_the_hour_ends(
    account, settings
):
    """GIVEN a limit of 3 wrong answers per address and hour WHEN an address answers wrong
    on 3 links THEN each is an ordinary wrong answer; the 4th is throttled, told to come
    back at the top of the next hour, and audited as such."""
    from django.utils import timezone

    from portal.audit.models import AuditEvent

    settings.FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR = 3
    outcomes = [answer(fresh_link(account), WRONG_DATE).outcome for _ in range(3)]
    before = timezone.now()
    fourth = answer(fresh_link(account), WRONG_DATE)
    after = timezone.now()

    assert outcomes == ["wrong"] * 3
    assert fourth.outcome == "throttled"
    assert seconds_to_next_hour(after) <= fourth.retry_after <= seconds_to_next_hour(before)
    assert AuditEvent.objects.filter(action="file_request.dob_check_throttled").count() == 1


def test_an_address_past_the_limit_still_gets_in_with_the_right_date(account, settings):
    settings.FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR = 1
    assert answer(fresh_link(account), WRONG_DATE).outcome == "wrong"
    assert answer(fresh_link(account), WRONG_DATE).outcome == "throttled"
    assert answer(fresh_link(account), DOB).outcome == "verified"


def test_answers_on_a_locked_link_count_against_the_address(account, settings):
    """GIVEN a link locked by five wrong answers (limit 7 per address) WHEN the same
    address tries it twice more while locked THEN those count too: its next wrong answer
    on another link is throttled."""
    settings.FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR = 7
    link = fresh_link(account)
    verdicts = [answer(link, WRONG_DATE).outcome for _ in range(5)]
    while_locked = [answer(link, WRONG_DATE).outcome for _ in range(2)]

    assert verdicts == ["wrong"] * 4 + ["locked"]
    assert while_locked == ["locked", "locked"]
    assert answer(fresh_link(account), WRONG_DATE).outcome == "throttled"


def test_without_an_address_only_the_link_counts(account, settings):
    """GIVEN a request with no usable client address WHEN it answers wrong on many links
    THEN the per-address limit never applies (nothing to count it under); each link still
    counts its own attempts."""
    settings.FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR = 1
    verdicts = [answer(fresh_link(account), WRONG_DATE, address=None) for _ in range(3)]
    assert [v.outcome for v in verdicts] == ["wrong"] * 3
    assert [v.attempts_left for v in verdicts] == [4, 4, 4]


def test_unknown_links_are_throttled_after_the_limit_on_their_own(account, settings):
    """GIVEN a limit of 2 per address WHEN an address asks for made-up links THEN the
    first 2 are unknown, the 3rd throttled until the hour ends; its wrong answers on live
    links are counted apart and are not throttled by them."""
    from django.utils import timezone

    settings.FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR = 2
    from filerequests.shortlinks import short_link_id_new

    first = [answer(short_link_id_new(), DOB).outcome for _ in range(2)]
    before = timezone.now()
    third = answer(short_link_id_new(), DOB)
    after = timezone.now()

    assert first == ["unknown", "unknown"]
    assert third.outcome == "throttled"
    assert seconds_to_next_hour(after) <= third.retry_after <= seconds_to_next_hour(before)
    assert answer(fresh_link(account), WRONG_DATE).outcome == "wrong"


def test_attempts_left_count_down_and_the_fifth_wrong_answer_locks(account):
    """GIVEN a fresh link WHEN it is answered wrong five times THEN 4, 3, 2, 1 attempts are
    left, and the fifth locks it for 30 minutes (Retry-After 1800 or 1801 seconds)."""
    link = fresh_link(account)
    verdicts = [answer(link, WRONG_DATE, address=f"203.0.113.{i}") for i in range(5)]

    assert [v.attempts_left for v in verdicts] == [4, 3, 2, 1, 0]
    assert [v.outcome for v in verdicts] == ["wrong"] * 4 + ["locked"]
    assert 1800 <= verdicts[-1].retry_after <= 1801
    file_request = FileRequest.objects.get(short_link_id=link)
    assert (file_request.failed_attempts, file_request.lockout_count) == (0, 1)


def test_a_right_answer_resets_the_count_and_opens_the_request_once(account):
    """GIVEN a link answered wrong 4 times WHEN the right date is given, then a wrong one,
    then the right one again THEN the count starts again from 5 after each right answer,
    the request is opened once (one event), and stays answered once answered."""
    from portal.webhooks.models import Event

    link = fresh_link(account)
    for i in range(4):
        answer(link, WRONG_DATE, address=f"203.0.113.{i}")
    assert answer(link, DOB).outcome == "verified"
    assert answer(link, WRONG_DATE, address="203.0.113.9").attempts_left == 4
    file_request = FileRequest.objects.get(short_link_id=link)
    opened_at = file_request.opened_at
    assert file_request.status == "opened"
    FileRequest.objects.filter(pk=file_request.pk).update(status="answered")
    assert answer(link, DOB).outcome == "verified"

    file_request.refresh_from_db()
    assert file_request.status == "answered"
    assert file_request.opened_at == opened_at
    assert Event.objects.filter(type="file-request.opened").count() == 1


@pytest.mark.parametrize(
    ("lockouts", "minutes"),
    [(0, 30), (1, 30), (2, 60), (3, 120), (4, 240), (6, 960), (7, 1440), (40, 1440)],
)
def test_each_lockout_is_twice_the_last_up_to_a_day(lockouts, minutes):
    from filerequests.services import link_policy

    assert link_policy().lockout_length(lockouts) == datetime.timedelta(minutes=minutes)


def test_a_lapsed_or_cancelled_link_is_unavailable_to_the_right_date(account):
    from django.utils import timezone

    link = fresh_link(account)
    FileRequest.objects.filter(short_link_id=link).update(
        short_link_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert answer(link, DOB).outcome == "unavailable"


def test_a_right_answer_does_not_forget_the_links_back_off(account):
    """GIVEN a link locked once by five wrong answers, whose lock has passed, then answered
    right WHEN five more wrong answers follow THEN it locks for an hour, twice the first:
    a right answer starts the count again but never the back-off (whoever guessed it once
    may be guessing still)."""
    from django.utils import timezone

    link = fresh_link(account)
    for i in range(5):
        answer(link, WRONG_DATE, address=f"203.0.113.{i}")
    FileRequest.objects.filter(short_link_id=link).update(
        locked_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert answer(link, DOB).outcome == "verified"
    verdicts = [answer(link, WRONG_DATE, address=f"203.0.113.{10 + i}") for i in range(5)]

    assert [v.outcome for v in verdicts] == ["wrong"] * 4 + ["locked"]
    assert 3600 <= verdicts[-1].retry_after <= 3601
    assert FileRequest.objects.get(short_link_id=link).lockout_count == 2


@pytest.mark.parametrize(
    ("clock_at", "retry_after"),
    [
        ("2026-03-10T10:30:00.500000+00:00", 1800),
        ("2026-03-10T11:59:59.250000+00:00", 1),
        ("2026-03-10T23:00:00+00:00", 3600),
    ],
    ids=["half past an even hour", "the last second of an odd hour", "on the hour"],
)
def test_an_address_past_the_limit_may_try_again_on_the_hour(
    account, settings, monkeypatch, clock_at, retry_after
):
    """GIVEN a clock standing at ``clock_at`` (UTC) and an address past its limit of 2
    wrong answers WHEN it answers wrong again THEN it is throttled until the top of the
    next hour, in whole seconds rounded up: the window is the clock's hour, not a sliding
    hour and not two."""
    from django.utils import timezone

    now = datetime.datetime.fromisoformat(clock_at)
    monkeypatch.setattr(timezone, "now", lambda: now)
    settings.FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR = 2
    outcomes = [answer(fresh_link(account), WRONG_DATE).outcome for _ in range(2)]
    third = answer(fresh_link(account), WRONG_DATE)

    assert outcomes == ["wrong", "wrong"]
    assert (third.outcome, third.retry_after) == ("throttled", retry_after)
