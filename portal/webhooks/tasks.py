"""Celery tasks: thin wrappers that take primary keys and call services."""

from celery import shared_task
from django.conf import settings

ATTEMPT_SOFT_TIME_LIMIT = (
    settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS + settings.WEBHOOK_READ_TIMEOUT_SECONDS + 30
)


@shared_task(name="webhooks.dispatch_event", ignore_result=True)
def dispatch_event_task(event_id: str) -> None:
    from portal.webhooks.services import event_dispatch

    event_dispatch(event_id=event_id)


@shared_task(
    name="webhooks.attempt_delivery",
    ignore_result=True,
    soft_time_limit=ATTEMPT_SOFT_TIME_LIMIT,
    time_limit=ATTEMPT_SOFT_TIME_LIMIT + 30,
)
def attempt_delivery_task(delivery_id: str) -> None:
    from portal.webhooks.services import delivery_attempt

    delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.sweep", ignore_result=True)
def sweep_task() -> None:
    from portal.webhooks.services import webhook_sweep

    webhook_sweep()
