"""Webhooks through real Celery workers on Redis: a worker killed between the change
and the delivery, and a broker that lost the fan-out, still end in one delivery."""

from __future__ import annotations

import contextlib
import os
import signal

import pytest
import redis
from django.conf import settings
from django.db import transaction

from portal.audit.services import Actor
from portal.webhooks import events
from portal.webhooks.models import Delivery, Event
from portal.webhooks.services import event_record, webhook_endpoint_create
from tests.support.receiver import Answer, Hang
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# The worker under test: a short lease and a sweep every second, so recovery from a
# lost worker takes seconds instead of the production minute.
FAST_RECOVERY = {
    "WEBHOOK_ATTEMPT_LEASE_SECONDS": "2",
    "WEBHOOK_SWEEP_INTERVAL_SECONDS": "1",
    "WEBHOOK_SWEEP_GRACE_SECONDS": "0",
    "WEBHOOK_READ_TIMEOUT_SECONDS": "120",
}


def kill_worker(worker) -> None:
    """SIGKILL the worker and its pool processes: nothing gets to clean up or requeue."""
    children = worker.child_pids()
    worker.stop(signal.SIGKILL)
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_worker_killed_mid_delivery_still_delivers_once_back(tmp_path, account, webhook_receiver):
    """GIVEN a real worker delivering an event to a receiver that holds the request open
    WHEN the worker is killed (SIGKILL, pool included) before any answer
    THEN once a worker is back, the event is delivered: the receiver accepts exactly one
    request, and the killed attempt is logged as lost."""
    endpoint = webhook_endpoint_create(
        account=account,
        actor=Actor.system(),
        url=webhook_receiver.url(),
        events=[events.FILE_READY],
    )
    webhook_receiver.script(Hang(), Answer(200))

    with celery_worker(tmp_path, extra_env=FAST_RECOVERY) as worker:
        with transaction.atomic():
            event = event_record(account=account, type=events.FILE_READY, data={"file_id": "f"})
        wait_for(
            lambda: len(webhook_receiver.requests) == 1,
            message=f"the worker never sent the delivery:\n{worker.log()}",
        )
        kill_worker(worker)

    delivery = Delivery.objects.get(event=event, endpoint=endpoint)
    assert delivery.status == Delivery.Status.PENDING
    assert webhook_receiver.accepted() == []

    with celery_worker(tmp_path, beat=True, extra_env=FAST_RECOVERY) as worker:
        wait_for(
            lambda: Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.SUCCEEDED,
            message=f"the event was not delivered after the restart:\n{worker.log()}",
        )

    assert len(webhook_receiver.accepted()) == 1
    assert {r.headers["webhook-id"] for r in webhook_receiver.requests} == {str(event.id)}
    attempts = list(Delivery.objects.get(pk=delivery.pk).attempts.all())
    assert [a.succeeded for a in attempts] == [False, True]
    assert "worker stopped" in attempts[0].error


def test_fan_out_lost_with_the_broker_is_recovered_by_the_sweep(
    tmp_path, account, webhook_receiver
):
    """GIVEN an event committed while no worker runs, whose queued fan-out the broker
    then lost (its queue flushed, as a Redis restart without persistence would)
    WHEN a worker with beat starts THEN the sweep dispatches the event and it is delivered."""
    webhook_endpoint_create(
        account=account,
        actor=Actor.system(),
        url=webhook_receiver.url(),
        events=[events.FILE_READY],
    )
    with transaction.atomic():
        event = event_record(account=account, type=events.FILE_READY, data={"file_id": "f"})
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()

    with celery_worker(tmp_path, beat=True, extra_env=FAST_RECOVERY) as worker:
        wait_for(
            lambda: Delivery.objects.filter(event=event, status=Delivery.Status.SUCCEEDED).exists(),
            message=f"the sweep never delivered the event:\n{worker.log()}",
        )

    assert Event.objects.get(pk=event.pk).dispatched_at is not None
    assert len(webhook_receiver.accepted()) == 1
