"""The webhook guard under a resolver that lies: every connection goes to an address
that was checked, whatever the name resolves to, however often it is asked.

Deliveries go to a real HTTP receiver on loopback. The names resolve through
``WEBHOOK_RESOLVER``, pointed at ``scripted_resolve`` below: each lookup takes the
next answer from a script (a list of addresses, or an error), so a test can make a
name fail first and answer loopback the second time, the way a hostile DNS server
would. One test goes below the seam, to ``socket.getaddrinfo`` itself, because the
hole it proves closed was urllib3 resolving the name a second time on its own.
"""

from __future__ import annotations

import socket
from collections import deque

import pytest

from portal.audit.services import Actor
from portal.webhooks import events
from portal.webhooks.models import Delivery
from portal.webhooks.services import (
    delivery_attempt,
    event_dispatch,
    event_record,
    webhook_endpoint_create,
)
from portal.webhooks.transport import address_refusal

pytestmark = pytest.mark.django_db

NAME = "receiver.hooks.test"
LOOKUP_FAILED = socket.gaierror(socket.EAI_NONAME, "Name or service not known")

# What each lookup of NAME answers, in order; the last answer repeats.
script: deque = deque()
lookups: list[str] = []


def scripted_resolve(host: str, port: int) -> list[str]:
    """The ``WEBHOOK_RESOLVER`` of these tests: the script's next answer for NAME."""
    assert host == NAME, host
    lookups.append(host)
    answer = script.popleft() if len(script) > 1 else script[0]
    if isinstance(answer, BaseException):
        raise answer
    return list(answer)


@pytest.fixture
def resolver(settings):
    settings.WEBHOOK_RESOLVER = f"{__name__}.scripted_resolve"
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    script.clear()
    lookups.clear()
    yield script
    script.clear()


def one_delivery(account, port: int) -> Delivery:
    webhook_endpoint_create(
        account=account,
        actor=Actor.system(),
        url=f"http://{NAME}:{port}/hook",
        events=[events.FILE_READY],
    )
    event = event_record(
        account=account,
        type=events.FILE_READY,
        data={"file_id": "7fecfb58-bfd6-462e-9e6e-f9ede76c7c95"},
    )
    [delivery] = event_dispatch(event_id=event.id)
    return delivery


def every_attempt(delivery: Delivery, times: int) -> list:
    """Run ``times`` attempts of the delivery, each at the moment it falls due."""
    attempts = []
    for _ in range(times):
        delivery.refresh_from_db()
        if delivery.status != Delivery.Status.PENDING:
            break
        attempts.append(delivery_attempt(delivery_id=delivery.id, now=delivery.next_attempt_at))
    return attempts


# Scripts of what a hostile name server answers, lookup after lookup.
HOSTILE_SCRIPTS = {
    "fails, then loopback": [LOOKUP_FAILED, ["127.0.0.1"]],
    "fails twice, then loopback": [LOOKUP_FAILED, LOOKUP_FAILED, ["127.0.0.1"]],
    "no addresses, then loopback": [[], ["127.0.0.1"]],
    "not an address, then loopback": [["localhost"], ["127.0.0.1"]],
    "loopback only": [["127.0.0.1"]],
    "loopback beside a 6to4 of loopback": [["2002:7f00:1::1", "127.0.0.1"]],
    "IPv4-mapped loopback, then loopback": [["::ffff:127.0.0.1"], ["127.0.0.1"]],
    "NAT64 of loopback, then loopback": [["64:ff9b::7f00:1"], ["127.0.0.1"]],
    "Teredo of loopback, then loopback": [
        ["2001:0:4136:e378:8000:63bf:80ff:fffe"],
        ["127.0.0.1"],
    ],
}


@pytest.mark.parametrize("answers", HOSTILE_SCRIPTS.values(), ids=HOSTILE_SCRIPTS.keys())
def test_hostile_resolver_never_gets_a_delivery_through(
    account, webhook_receiver, resolver, answers
):
    """GIVEN a receiver name whose lookups fail, come back empty or answer loopback in
    any order WHEN the delivery is attempted again and again THEN nothing reaches the
    receiver, and each attempt says it could not resolve the name or refused the address."""
    resolver.extend(answers)
    delivery = one_delivery(account, webhook_receiver.port)

    attempts = every_attempt(delivery, times=len(answers) + 1)

    assert webhook_receiver.requests == []
    assert lookups, "the transport did not use WEBHOOK_RESOLVER"
    for attempt in attempts:
        assert attempt.status_code is None
        assert "Refused to connect" in attempt.error or "Failed to resolve" in attempt.error, (
            attempt.error
        )


def test_checked_address_is_the_one_connected_to(account, webhook_receiver, resolver, settings):
    """GIVEN private networks allowed (a test set-up) and a name the resolver maps to
    the receiver's loopback address WHEN the delivery is attempted THEN it arrives, by
    that name: the control that the scripted resolver is what the transport connects by."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    resolver.append(["127.0.0.1"])
    delivery = one_delivery(account, webhook_receiver.port)

    [attempt] = every_attempt(delivery, times=1)

    assert attempt.status_code == 200, attempt.error
    [received] = webhook_receiver.requests
    assert received.headers["host"] == f"{NAME}:{webhook_receiver.port}"
    assert lookups == [NAME]


def test_failed_lookup_is_not_retried_by_urllib3_behind_the_guard(
    account, webhook_receiver, settings, monkeypatch
):
    """GIVEN the operating system's resolver (the default) failing the first lookup of
    the name and answering loopback to the next WHEN the delivery is attempted THEN
    nothing reaches the receiver: the guard reports the failed lookup and never hands
    the name to urllib3, which would look it up again and connect unchecked.

    Below the resolver seam on purpose: the hole was a second lookup the guard never saw."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    settings.WEBHOOK_RESOLVER = "portal.webhooks.transport.system_resolve"
    real_getaddrinfo = socket.getaddrinfo
    failed_once: list[str] = []

    def getaddrinfo_failing_first(host, port, *args, **kwargs):
        if host != NAME:
            return real_getaddrinfo(host, port, *args, **kwargs)
        if not failed_once:
            failed_once.append(host)
            raise LOOKUP_FAILED
        return real_getaddrinfo("127.0.0.1", port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo_failing_first)
    delivery = one_delivery(account, webhook_receiver.port)

    [attempt] = every_attempt(delivery, times=1)

    assert webhook_receiver.requests == []
    assert attempt.status_code is None
    assert "Failed to resolve" in attempt.error, attempt.error


@pytest.mark.parametrize(
    ("address", "refused_as"),
    [
        # 6to4 (2002::/16): the IPv4 address is bits 16-48.
        ("2002:7f00:1::", "loopback"),
        ("2002:7f00:1::1", "loopback"),
        ("2002:a00:1::", "private"),
        ("2002:c0a8:101::", "private"),
        ("2002:ac10:1::", "private"),
        ("2002:a9fe:a9fe::", "link-local"),
        ("2002:6440:1::", "not a public"),
        ("2002::", "unspecified"),
        # Teredo (2001::/32): the client's IPv4 address, inverted, in the last 32 bits.
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"),
        ("2001:0:4136:e378:8000:63bf:5601:5601", "link-local"),
        # NAT64, the well-known prefix and the local-use one (RFC 8215).
        ("64:ff9b::7f00:1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("64:ff9b::c0a8:101", "private"),
        ("64:ff9b:1::a00:1", "private"),
        # IPv4-mapped, written either way.
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:7f00:1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:10.0.0.1", "private"),
        # Zone ids and other IPv6 forms of the same places.
        ("fe80::1%eth0", "link-local"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("::127.0.0.1", "reserved"),
    ],
)
def test_address_encodings_of_private_places_are_refused(address, refused_as):
    """GIVEN an IPv6 address that leads to a private, loopback or link-local IPv4 place
    (6to4, Teredo, NAT64, IPv4-mapped) WHEN the guard classifies it THEN it is refused,
    and the reason names what it leads to."""
    refusal = address_refusal(address)
    assert refusal is not None and refused_as in refusal, refusal


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "::ffff:8.8.8.8", "2002:808:808::1", "2606:4700:4700::1111"],
)
def test_public_addresses_and_their_encodings_pass(address):
    """GIVEN a public address, or a 6to4 or IPv4-mapped form of one WHEN the guard
    classifies it THEN it passes (the guard refuses places, not encodings)."""
    assert address_refusal(address) is None
