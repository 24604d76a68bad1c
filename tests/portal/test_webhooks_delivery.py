"""Webhook delivery against a real HTTP receiver on loopback.

The task function is called directly, with ``now`` set to the moment each retry
falls due, so the day-long schedule runs without waiting. A real worker runs the
same code in tests/portal/test_webhooks_worker.py.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import transaction
from standardwebhooks import Webhook

from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.webhooks import events
from portal.webhooks.models import Delivery, Event, WebhookEndpoint
from portal.webhooks.selectors import webhook_endpoints_needing_attention
from portal.webhooks.services import (
    LOST_ATTEMPT_ERROR,
    RETRY_AFTER_CAP_SECONDS,
    delivery_attempt,
    delivery_claim,
    event_dispatch,
    event_record,
    signing_secret_for,
    webhook_endpoint_create,
    webhook_endpoint_update,
    webhook_sweep,
)
from portal.webhooks.transport import address_refusal
from tests.support.receiver import Answer, Hang

pytestmark = pytest.mark.django_db


def make_endpoint(account, url, types=(events.FILE_READY,)):
    return webhook_endpoint_create(
        account=account, actor=Actor.system(), url=url, events=list(types)
    )


def record_and_dispatch(account, *, type=events.FILE_READY, **kwargs) -> list[Delivery]:
    event = event_record(
        account=account,
        type=type,
        data=kwargs.pop("data", {"file_id": "7fecfb58-bfd6-462e-9e6e-f9ede76c7c95"}),
        **kwargs,
    )
    return event_dispatch(event_id=event.id)


def attempt_when_due(delivery: Delivery):
    """Run the delivery's next attempt at the moment it falls due."""
    delivery.refresh_from_db()
    return delivery_attempt(delivery_id=delivery.id, now=delivery.next_attempt_at)


def verify(request, secret: str) -> dict:
    return Webhook(secret).verify(request.body, request.headers)


def test_delivery_is_signed_so_the_official_library_verifies_it(account, webhook_receiver):
    """GIVEN an endpoint subscribed to file.ready WHEN a file.ready event is delivered
    THEN the receiver gets a thin JSON body that the Standard Webhooks library verifies
    with the endpoint's secret, and the attempt is logged."""
    endpoint = make_endpoint(account, webhook_receiver.url())
    [delivery] = record_and_dispatch(account, data={"file_id": "f-1", "state": "ready"})

    attempt = delivery_attempt(delivery_id=delivery.id)

    [request] = webhook_receiver.requests
    payload = verify(request, endpoint.secret)
    assert payload["type"] == "file.ready"
    assert payload["data"] == {"file_id": "f-1", "state": "ready"}
    assert request.headers["webhook-id"] == str(delivery.event_id) == payload["id"]
    assert request.headers["content-type"] == "application/json"
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert (attempt.status_code, attempt.succeeded, attempt.response_excerpt) == (200, True, "ok")
    assert attempt.duration_ms is not None and attempt.finished_at is not None


def test_only_subscribed_active_endpoints_of_the_account_get_the_event(
    account, other_account, webhook_receiver
):
    """GIVEN endpoints subscribed to other types, disabled, or of another account
    WHEN a file.ready event fans out THEN only the subscribed active one gets a delivery."""
    wanted = make_endpoint(account, webhook_receiver.url("/wanted"))
    make_endpoint(account, webhook_receiver.url("/other-type"), types=[events.FILE_REJECTED])
    disabled = make_endpoint(account, webhook_receiver.url("/disabled"))
    webhook_endpoint_update(endpoint=disabled, actor=Actor.system(), active=False)
    make_endpoint(other_account, webhook_receiver.url("/other-account"))

    deliveries = record_and_dispatch(account)

    assert [d.endpoint_id for d in deliveries] == [wanted.id]


def test_receiver_failing_twice_then_succeeding_gets_exactly_one_accepted_delivery(
    account, webhook_receiver
):
    """GIVEN a receiver that answers 500, then 503, then 200
    WHEN the delivery is retried on its schedule THEN the third attempt is accepted, the
    receiver accepted exactly one request, every try carried the same webhook-id, and
    nothing more is sent afterwards."""
    make_endpoint(account, webhook_receiver.url())
    webhook_receiver.script(Answer(500), Answer(503), Answer(200))
    [delivery] = record_and_dispatch(account)

    delivery_attempt(delivery_id=delivery.id)
    attempt_when_due(delivery)
    attempt_when_due(delivery)
    assert attempt_when_due(delivery) is None  # succeeded: nothing due any more

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert len(webhook_receiver.requests) == 3
    assert len(webhook_receiver.accepted()) == 1
    assert {r.headers["webhook-id"] for r in webhook_receiver.requests} == {str(delivery.event_id)}
    assert [a.status_code for a in delivery.attempts.all()] == [500, 503, 200]


def test_retries_back_off_exponentially_with_jitter(account, webhook_receiver, settings):
    """GIVEN a receiver that always fails WHEN a delivery is retried THEN each next attempt
    is scheduled the schedule's delay (±10 %) after the last, and after the last step the
    delivery is marked failed."""
    make_endpoint(account, webhook_receiver.url())
    webhook_receiver.script(*[Answer(500)] * len(settings.WEBHOOK_RETRY_SCHEDULE_SECONDS))
    [delivery] = record_and_dispatch(account)

    delivery_attempt(delivery_id=delivery.id)
    for delay in settings.WEBHOOK_RETRY_SCHEDULE_SECONDS[1:]:
        delivery.refresh_from_db()
        last = delivery.attempts.order_by("-number").first()
        gap = (delivery.next_attempt_at - last.finished_at).total_seconds()
        assert delay * 0.9 <= gap <= delay * 1.1
        attempt_when_due(delivery)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempt_count == len(settings.WEBHOOK_RETRY_SCHEDULE_SECONDS)
    assert sum(settings.WEBHOOK_RETRY_SCHEDULE_SECONDS) >= 22 * 3600  # about a day


def test_hanging_receiver_is_cut_off_by_the_timeout_and_retried(
    account, webhook_receiver, settings
):
    """GIVEN a receiver that never answers its first request
    WHEN the delivery is attempted THEN the read timeout ends the attempt, it is logged
    as timed out, and the retry (answered 200) completes the delivery."""
    settings.WEBHOOK_READ_TIMEOUT_SECONDS = 0.5
    make_endpoint(account, webhook_receiver.url())
    webhook_receiver.script(Hang(), Answer(200))
    [delivery] = record_and_dispatch(account)

    first = delivery_attempt(delivery_id=delivery.id)

    assert first.status_code is None and "Timed out" in first.error
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.retry_step == 1
    second = attempt_when_due(delivery)
    assert second.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED


def test_redirect_is_not_followed(account, webhook_receiver):
    """GIVEN a receiver that answers 302 to another path WHEN the delivery is attempted
    THEN the redirect is not followed (one request only) and counts as a failure."""
    make_endpoint(account, webhook_receiver.url())
    webhook_receiver.script(Answer(302, headers={"Location": webhook_receiver.url("/moved")}))
    [delivery] = record_and_dispatch(account)

    attempt = delivery_attempt(delivery_id=delivery.id)

    assert [r.path for r in webhook_receiver.requests] == ["/hook"]
    assert attempt.status_code == 302 and not attempt.succeeded
    assert "redirects are not followed" in attempt.error
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.retry_step == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_private_address_is_refused_when_not_allowed(account, webhook_receiver, settings, host):
    """GIVEN WEBHOOK_ALLOW_PRIVATE_NETWORKS off and an endpoint on loopback (by address,
    or by a name that resolves to it) WHEN the delivery is attempted THEN no connection
    reaches the receiver and the attempt says why."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    make_endpoint(account, f"http://{host}:{webhook_receiver.port}/hook")
    [delivery] = record_and_dispatch(account)

    attempt = delivery_attempt(delivery_id=delivery.id)

    assert webhook_receiver.requests == []
    assert attempt.status_code is None
    assert "Refused to connect" in attempt.error and "loopback" in attempt.error


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("240.0.0.1", True),
        ("::1", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:10.0.0.1", True),
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
    ],
)
def test_address_classification(address, refused):
    """GIVEN an address WHEN the guard classifies it THEN private, loopback, link-local,
    shared, multicast, reserved and unspecified ones are refused and public ones pass."""
    assert (address_refusal(address) is not None) is refused


def test_retry_after_is_honoured_on_429(account, webhook_receiver):
    """GIVEN a receiver that answers 429 with Retry-After: 3600 WHEN the delivery fails
    THEN the next attempt is scheduled no sooner than an hour later."""
    make_endpoint(account, webhook_receiver.url())
    webhook_receiver.script(Answer(429, headers={"Retry-After": "3600"}))
    [delivery] = record_and_dispatch(account)

    attempt = delivery_attempt(delivery_id=delivery.id)

    delivery.refresh_from_db()
    assert delivery.next_attempt_at - attempt.finished_at >= timedelta(seconds=3600)


@pytest.mark.parametrize("header", ["172800", "9" * 400])
def test_a_retry_after_beyond_a_day_waits_a_day(account, webhook_receiver, header):
    """GIVEN a receiver that answers 429 asking for two days, or for a 400-digit number of
    seconds (infinite as a float) WHEN the delivery fails THEN the next attempt is a day
    later, not never and not an error."""
    make_endpoint(account, webhook_receiver.url())
    webhook_receiver.script(Answer(429, headers={"Retry-After": header}))
    [delivery] = record_and_dispatch(account)

    attempt = delivery_attempt(delivery_id=delivery.id)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.attempt_count == 1
    wait = delivery.next_attempt_at - attempt.finished_at
    assert timedelta(seconds=RETRY_AFTER_CAP_SECONDS) <= wait
    assert wait < timedelta(seconds=RETRY_AFTER_CAP_SECONDS + 60)


@pytest.mark.parametrize("header", ["\u00b2", "\u00b9\u00b2", "soon", "-5", ""])
def test_a_retry_after_that_is_no_number_or_date_falls_back_to_the_schedule(
    account, webhook_receiver, header
):
    """GIVEN a receiver that answers 429 with a Retry-After that is neither seconds nor a
    date (a Latin-1 superscript, words, a negative number, nothing) WHEN the delivery fails
    THEN the attempt is recorded and the next one follows the portal's own schedule."""
    make_endpoint(account, webhook_receiver.url())
    webhook_receiver.script(Answer(429, headers={"Retry-After": header}))
    [delivery] = record_and_dispatch(account)

    attempt = delivery_attempt(delivery_id=delivery.id)

    delivery.refresh_from_db()
    assert attempt.status_code == 429
    assert delivery.status == Delivery.Status.PENDING and delivery.attempt_count == 1
    assert delivery.next_attempt_at - attempt.finished_at < timedelta(seconds=3600)


def test_410_gone_disables_the_endpoint_at_once(account, webhook_receiver):
    """GIVEN a receiver that answers 410 Gone WHEN a delivery is attempted THEN the
    delivery fails without retries, the endpoint is disabled, the account is told
    (needing-attention selector) and the disabling is audited."""
    endpoint = make_endpoint(account, webhook_receiver.url())
    webhook_receiver.script(Answer(410))
    [delivery] = record_and_dispatch(account)

    delivery_attempt(delivery_id=delivery.id)

    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempt_count == 1
    assert not endpoint.is_active and endpoint.disabled_reason == "gone"
    assert list(webhook_endpoints_needing_attention(account=account)) == [endpoint]
    audit = AuditEvent.objects.get(action="webhook_endpoint.disable", target_id=str(endpoint.id))
    assert audit.detail["reason"] == "gone" and audit.actor_kind == "system"


def test_endpoint_is_disabled_after_the_threshold_of_failed_deliveries(
    account, webhook_receiver, settings
):
    """GIVEN a threshold of 2 failed deliveries and a receiver that always fails
    WHEN two deliveries run out of retries THEN the endpoint is disabled, is listed as
    needing attention, the next event fans out to nobody, and enabling it clears it."""
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [0, 5]
    settings.WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES = 2
    endpoint = make_endpoint(account, webhook_receiver.url())
    webhook_receiver.script(*[Answer(500)] * 4)

    [first] = record_and_dispatch(account)
    delivery_attempt(delivery_id=first.id)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    assert list(webhook_endpoints_needing_attention(account=account)) == [endpoint]
    attempt_when_due(first)
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failed_deliveries == 1
    [second] = record_and_dispatch(account)
    delivery_attempt(delivery_id=second.id)
    attempt_when_due(second)

    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_reason == "failing"
    assert list(webhook_endpoints_needing_attention(account=account)) == [endpoint]
    assert AuditEvent.objects.filter(
        action="webhook_endpoint.disable", target_id=str(endpoint.id)
    ).exists()
    assert record_and_dispatch(account) == []

    webhook_endpoint_update(endpoint=endpoint, actor=Actor.system(), active=True)
    assert list(webhook_endpoints_needing_attention(account=account)) == []


def test_success_ends_the_failing_streak(account, webhook_receiver):
    """GIVEN an endpoint whose last attempt failed WHEN the next attempt succeeds
    THEN it no longer needs attention."""
    endpoint = make_endpoint(account, webhook_receiver.url())
    webhook_receiver.script(Answer(500), Answer(200))
    [delivery] = record_and_dispatch(account)
    delivery_attempt(delivery_id=delivery.id)
    assert list(webhook_endpoints_needing_attention(account=account)) == [endpoint]

    attempt_when_due(delivery)

    assert list(webhook_endpoints_needing_attention(account=account)) == []


def test_pending_delivery_of_a_disabled_endpoint_is_not_sent(account, webhook_receiver):
    """GIVEN a pending delivery WHEN its endpoint is disabled before the attempt
    THEN nothing is sent and the delivery is marked failed with the reason."""
    endpoint = make_endpoint(account, webhook_receiver.url())
    [delivery] = record_and_dispatch(account)
    webhook_endpoint_update(endpoint=endpoint, actor=Actor.system(), active=False)

    assert delivery_attempt(delivery_id=delivery.id) is None

    delivery.refresh_from_db()
    assert webhook_receiver.requests == []
    assert delivery.status == Delivery.Status.FAILED and "disabled" in delivery.last_error


def test_extra_url_gets_the_exact_body_signed_with_the_account_secret(account, webhook_receiver):
    """GIVEN an X-on style event with an exact body and a one-off receiver URL
    WHEN it is delivered THEN the receiver gets that body byte for byte (as JSON) and the
    signature verifies with the account's signing secret."""
    body = {
        "event": {
            "id": "1b0e5f6c-0c7e-4c47-9d59-3a0d8f0b8b11",
            "createdAt": "2021-01-15T14:33:29.145322+00:00",
            "type": "file-request.files.update",
            "addedFileIds": ["7fecfb58-bfd6-462e-9e6e-f9ede76c7c95"],
            "removedFileIds": [],
        }
    }
    [delivery] = record_and_dispatch(
        account,
        type=events.FILE_REQUEST_FILES_UPDATE,
        data={},
        body=body,
        extra_urls=[webhook_receiver.url("/xon"), webhook_receiver.url("/xon")],
    )

    delivery_attempt(delivery_id=delivery.id)

    [request] = webhook_receiver.requests
    assert request.path == "/xon"
    assert json.loads(request.body) == body
    assert verify(request, signing_secret_for(account=account).secret) == body


def test_response_excerpt_is_bounded(account, webhook_receiver, settings):
    """GIVEN a receiver answering a large body WHEN a delivery is attempted THEN only the
    first WEBHOOK_RESPONSE_EXCERPT_BYTES of it are kept."""
    make_endpoint(account, webhook_receiver.url())
    webhook_receiver.script(Answer(200, body=b"x" * 50_000))
    [delivery] = record_and_dispatch(account)

    attempt = delivery_attempt(delivery_id=delivery.id)

    assert len(attempt.response_excerpt) == settings.WEBHOOK_RESPONSE_EXCERPT_BYTES


def test_attempt_lost_with_its_worker_is_closed_and_retried_after_the_lease(
    account, webhook_receiver, settings
):
    """GIVEN a delivery claimed by a worker that then died (its attempt never finished)
    WHEN another copy of the task runs before the lease ends THEN it does nothing;
    WHEN one runs after the lease THEN the lost attempt is closed as lost and a new
    attempt delivers the event."""
    make_endpoint(account, webhook_receiver.url())
    [delivery] = record_and_dispatch(account)
    _claimed, lost_attempt = delivery_claim(delivery_id=delivery.id, now=delivery.next_attempt_at)

    assert delivery_attempt(delivery_id=delivery.id, now=delivery.next_attempt_at) is None
    delivery.refresh_from_db()
    attempt = delivery_attempt(delivery_id=delivery.id, now=delivery.next_attempt_at)

    lost_attempt.refresh_from_db()
    assert lost_attempt.error == LOST_ATTEMPT_ERROR and lost_attempt.finished_at is not None
    assert attempt.number == 2 and attempt.succeeded
    assert len(webhook_receiver.requests) == 1


def test_sweep_dispatches_events_whose_fan_out_was_lost(
    account, webhook_receiver, django_capture_on_commit_callbacks
):
    """GIVEN an event committed whose dispatch task never ran (captured, not executed)
    WHEN the sweep runs within the grace minute THEN it leaves it; WHEN it runs later
    THEN it creates the delivery and queues it, once however often it runs."""
    make_endpoint(account, webhook_receiver.url())
    with django_capture_on_commit_callbacks(execute=False):
        event = event_record(account=account, type=events.FILE_READY, data={"file_id": "f"})

    assert webhook_sweep(now=event.created_at + timedelta(seconds=10))["events"] == 0
    later = event.created_at + timedelta(minutes=2)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        swept = webhook_sweep(now=later)
    again = webhook_sweep(now=later)

    assert swept["events"] == 1 and again["events"] == 0
    assert len(queued) == 1
    assert Event.objects.get(pk=event.pk).dispatched_at is not None
    [delivery] = Delivery.objects.filter(event=event)
    assert delivery_attempt(delivery_id=delivery.id).succeeded


def test_dispatch_is_idempotent(account, webhook_receiver):
    """GIVEN an event already dispatched WHEN it is dispatched again (task and sweep both
    ran) THEN no second delivery is created."""
    make_endpoint(account, webhook_receiver.url())
    [delivery] = record_and_dispatch(account)

    assert event_dispatch(event_id=delivery.event_id) == []
    assert Delivery.objects.filter(event_id=delivery.event_id).count() == 1


def test_event_record_queues_dispatch_only_after_commit(
    account, django_capture_on_commit_callbacks
):
    """GIVEN an event recorded in a transaction WHEN it commits THEN exactly one dispatch
    is queued; a rolled-back transaction queues nothing and keeps no event."""
    with django_capture_on_commit_callbacks(execute=False) as committed:
        event_record(account=account, type=events.FILE_READY, data={})
    assert len(committed) == 1

    with (
        django_capture_on_commit_callbacks(execute=False) as rolled_back,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        event_record(account=account, type=events.FILE_REJECTED, data={})
        raise RuntimeError("the change failed")
    assert rolled_back == []
    assert not Event.objects.filter(type=events.FILE_REJECTED).exists()


def test_unknown_event_type_is_refused(account):
    """GIVEN a type not in the published list WHEN it is recorded THEN it is refused."""
    with pytest.raises(ValueError):
        event_record(account=account, type="patient.updated", data={})


def test_endpoint_model_wants():
    """GIVEN an endpoint's event list THEN it wants exactly those types."""
    endpoint = WebhookEndpoint(events=[events.FILE_READY])
    assert endpoint.wants(events.FILE_READY) and not endpoint.wants(events.FILE_REJECTED)
