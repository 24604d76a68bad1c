"""Events (the outbox), their fan-out to webhook endpoints, and delivery.

The life of an event:

1. ``event_record`` writes the Event inside the caller's transaction and, once it
   commits, queues ``webhooks.dispatch_event``.
2. ``event_dispatch`` creates one Delivery per receiver (each active endpoint of
   the account subscribed to the type, and each of the event's ``extra_urls``)
   and queues an attempt for each. It runs once per event, however often it is
   called.
3. ``delivery_attempt`` claims a due delivery (a lease, so two workers never send
   it at once), sends one signed POST, logs it as a DeliveryAttempt and decides:
   2xx ends it; 410 ends it and disables the endpoint; anything else is retried
   on the schedule in ``WEBHOOK_RETRY_SCHEDULE_SECONDS`` until it runs out.
4. ``webhook_sweep`` (beat, every minute) dispatches events whose fan-out was
   lost and re-queues overdue deliveries, so a worker that dies between the
   commit and the delivery delays the delivery but never loses it.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import requests
from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from portal.accounts.models import Account
from portal.audit.services import Actor, audit_record
from portal.requestid import HEADER as REQUEST_ID_HEADER
from portal.requestid import request_id_current
from portal.webhooks import signing
from portal.webhooks.events import ALL_EVENT_TYPES, WEBHOOK_PING
from portal.webhooks.models import (
    Delivery,
    DeliveryAttempt,
    Event,
    WebhookEndpoint,
    WebhookSigningSecret,
)
from portal.webhooks.transport import refusal_in, webhook_session

logger = logging.getLogger(__name__)

USER_AGENT = "ClinicFilePortal-Webhooks/1.0"
# A countdown task may wake a moment before its attempt's time.
CLAIM_TOLERANCE = timedelta(seconds=2)
LOST_ATTEMPT_ERROR = "The worker stopped during this attempt; no answer was recorded."
RETRY_AFTER_CAP_SECONDS = 24 * 60 * 60
SWEEP_BATCH = 500


class WebhookConflict(Exception):
    """A request that the current state of a delivery or endpoint does not allow."""


# --- Events -------------------------------------------------------------------


def event_envelope(*, event_id, type: str, occurred_at, data: dict) -> dict:
    """The default delivered body: ``{"id", "type", "timestamp", "data"}``."""
    return {
        "id": str(event_id),
        "type": type,
        "timestamp": occurred_at.isoformat(),
        "data": data,
    }


def event_build(*, account: Account, type: str, data: dict, body: dict | None, extra_urls) -> Event:
    event = Event(
        account=account,
        type=type,
        created_at=timezone.now(),
        extra_urls=list(extra_urls),
        request_id=request_id_current(),
    )
    event.payload = (
        body
        if body is not None
        else event_envelope(event_id=event.id, type=type, occurred_at=event.created_at, data=data)
    )
    return event


def event_record(
    *,
    account: Account,
    type: str,
    data: dict,
    body: dict | None = None,
    extra_urls: tuple[str, ...] | list[str] = (),
) -> Event:
    """Record an event inside the caller's transaction: the outbox row commits with the
    change it describes, or not at all. Its deliveries are queued after the commit.

    ``data`` is thin (ids and non-identifying facts). ``body``, when given, is
    the exact JSON delivered instead of the default envelope (X-on's
    ``{"event": {...}}`` for ``file-request.files.update``). ``extra_urls`` are
    one-off receivers beside the account's subscribed endpoints (X-on's
    per-request ``filesUpdateWebhookUrl``), signed with the account's signing
    secret. Every delivery carries the Event's id as ``webhook-id``.
    """
    if type not in ALL_EVENT_TYPES and type != WEBHOOK_PING:
        raise ValueError(f"Unknown event type {type!r}")
    # No savepoint: an event that cannot be written must undo the change it describes,
    # never be dropped while the change commits (one statement fewer per event, too).
    with transaction.atomic(savepoint=False):
        event = event_build(account=account, type=type, data=data, body=body, extra_urls=extra_urls)
        event.save()
        event_dispatch_enqueue(event_id=event.id)
    return event


def event_dispatch_enqueue(*, event_id) -> None:
    """Queue the fan-out once the current transaction commits. A broker that is down
    then does not fail the committed change: the sweep dispatches the event later."""
    transaction.on_commit(partial(dispatch_event_task.delay, str(event_id)), robust=True)


def event_dispatch(*, event_id) -> list[Delivery]:
    """Create the event's deliveries and queue their first attempts. Idempotent: an
    event already dispatched (by the task or the sweep) is left alone."""
    with transaction.atomic():
        event = Event.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.dispatched_at is not None:
            return []
        deliveries = [
            Delivery(
                account_id=event.account_id,
                event=event,
                endpoint=endpoint,
                url=endpoint.url,
                next_attempt_at=timezone.now(),
            )
            for endpoint in WebhookEndpoint.objects.filter(
                account_id=event.account_id, is_active=True
            ).order_by("created_at")
            if endpoint.wants(event.type)
        ]
        deliveries += [
            Delivery(
                account_id=event.account_id,
                event=event,
                endpoint=None,
                url=url,
                next_attempt_at=timezone.now(),
            )
            for url in dict.fromkeys(event.extra_urls)
        ]
        Delivery.objects.bulk_create(deliveries)
        event.dispatched_at = timezone.now()
        event.save(update_fields=["dispatched_at"])
        for delivery in deliveries:
            delivery_enqueue(delivery_id=delivery.id)
    return deliveries


# --- Endpoints and the account's signing secret -------------------------------


def validate_event_types(events) -> list[str]:
    unknown = sorted(set(events) - set(ALL_EVENT_TYPES))
    if not events:
        raise ValidationError({"events": ["Choose at least one event type."]})
    if unknown:
        raise ValidationError({"events": [f"Unknown event types: {', '.join(unknown)}."]})
    return [event_type for event_type in ALL_EVENT_TYPES if event_type in set(events)]


@transaction.atomic
def webhook_endpoint_create(
    *, account: Account, actor: Actor, url: str, events: list[str], active: bool = True
) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (``endpoint.secret``: show it to the caller
    once, in the answer to this request)."""
    endpoint = WebhookEndpoint(
        account=account,
        url=url,
        events=validate_event_types(events),
        secret=signing.secret_generate(),
        is_active=active,
        disabled_reason="" if active else WebhookEndpoint.DisabledReason.MANUAL,
        disabled_at=None if active else timezone.now(),
    )
    endpoint.full_clean()
    endpoint.save()
    audit_record(
        account=account,
        actor=actor,
        action="webhook_endpoint.create",
        target=endpoint,
        detail={"events": endpoint.events},
    )
    return endpoint


@transaction.atomic
def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    actor: Actor,
    url: str | None = None,
    events: list[str] | None = None,
    active: bool | None = None,
) -> WebhookEndpoint:
    """Change the URL, the event types or the active flag. Enabling an endpoint
    clears its failing streak; deliveries that gave up meanwhile can be redelivered."""
    changed = []
    if url is not None and url != endpoint.url:
        endpoint.url = url
        changed.append("url")
    if events is not None:
        endpoint.events = validate_event_types(events)
        changed.append("events")
    if active is not None and active != endpoint.is_active:
        endpoint.is_active = active
        changed.append("active")
        if active:
            endpoint.disabled_reason = ""
            endpoint.disabled_at = None
            endpoint.failing_since = None
            endpoint.consecutive_failed_deliveries = 0
        else:
            endpoint.disabled_reason = WebhookEndpoint.DisabledReason.MANUAL
            endpoint.disabled_at = timezone.now()
    endpoint.full_clean()
    endpoint.save()
    audit_record(
        account=endpoint.account,
        actor=actor,
        action="webhook_endpoint.update",
        target=endpoint,
        detail={"fields": changed, "active": endpoint.is_active},
    )
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor: Actor) -> None:
    """Remove the endpoint with its deliveries and their attempts."""
    audit_record(
        account=endpoint.account,
        actor=actor,
        action="webhook_endpoint.delete",
        target=endpoint,
        detail={"url_host": requests.utils.urlparse(endpoint.url).hostname or ""},
    )
    endpoint.delete()


def webhook_endpoint_disable(
    *, endpoint: WebhookEndpoint, reason: str, actor: Actor, detail: dict | None = None
) -> WebhookEndpoint:
    """Stop deliveries to the endpoint. Its pending deliveries fail at their next try."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if not endpoint.is_active:
            return endpoint
        endpoint.is_active = False
        endpoint.disabled_reason = reason
        endpoint.disabled_at = timezone.now()
        endpoint.save(update_fields=["is_active", "disabled_reason", "disabled_at", "updated_at"])
        audit_record(
            account=endpoint.account,
            actor=actor,
            action="webhook_endpoint.disable",
            target=endpoint,
            detail={"reason": reason, **(detail or {})},
        )
    if reason != WebhookEndpoint.DisabledReason.MANUAL:
        logger.warning("Webhook endpoint %s disabled: %s", endpoint.pk, reason)
    return endpoint


@transaction.atomic
def webhook_endpoint_ping(*, endpoint: WebhookEndpoint, actor: Actor) -> Delivery:
    """Send a ``webhook.ping`` event to this endpoint only (also when it is disabled,
    to test it before enabling it again)."""
    event = event_build(
        account=endpoint.account,
        type=WEBHOOK_PING,
        data={"endpoint_id": str(endpoint.id)},
        body=None,
        extra_urls=(),
    )
    event.dispatched_at = event.created_at
    event.save()
    delivery = Delivery.objects.create(
        account=endpoint.account,
        event=event,
        endpoint=endpoint,
        url=endpoint.url,
        next_attempt_at=timezone.now(),
    )
    audit_record(
        account=endpoint.account, actor=actor, action="webhook_endpoint.ping", target=endpoint
    )
    delivery_enqueue(delivery_id=delivery.id)
    return delivery


def signing_secret_for(*, account: Account) -> WebhookSigningSecret:
    """The account's secret for one-off receivers, created the first time it is needed."""
    signing_secret, _ = WebhookSigningSecret.objects.get_or_create(
        account=account, defaults={"secret": signing.secret_generate()}
    )
    return signing_secret


@transaction.atomic
def signing_secret_rotate(*, account: Account, actor: Actor) -> WebhookSigningSecret:
    """A new account signing secret (show it once). Deliveries from now on use it."""
    signing_secret, _ = WebhookSigningSecret.objects.select_for_update().get_or_create(
        account=account, defaults={"secret": ""}
    )
    signing_secret.secret = signing.secret_generate()
    signing_secret.created_at = timezone.now()
    signing_secret.save()
    audit_record(
        account=account, actor=actor, action="webhook_signing_secret.rotate", target=signing_secret
    )
    return signing_secret


# --- Delivery -----------------------------------------------------------------


def delivery_enqueue(*, delivery_id, countdown: float = 0) -> None:
    """Queue an attempt once the current transaction commits (at once outside one)."""
    transaction.on_commit(
        partial(attempt_delivery_task.apply_async, args=[str(delivery_id)], countdown=countdown),
        robust=True,
    )


@dataclass
class AttemptResult:
    status_code: int | None
    response_excerpt: str
    error: str
    duration_ms: int
    retry_after: float | None


def delivery_body(event: Event) -> bytes:
    return json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False).encode()


def retry_after_seconds(value: str | None, *, now: datetime) -> float | None:
    """``Retry-After`` as seconds (either form the header allows), or None."""
    if not value:
        return None
    value = value.strip()
    # isdecimal, not isdigit: the receiver writes the header, and a superscript "²" (a
    # Latin-1 byte) is a digit that float() refuses.
    if value.isdecimal():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def http_post(*, url: str, body: bytes, headers: dict[str, str], now: datetime) -> AttemptResult:
    """One POST with the configured timeouts, redirects not followed, the answer read
    only up to the excerpt size."""
    started = time.monotonic()
    status_code, excerpt, error, retry_after = None, b"", "", None
    try:
        with webhook_session() as session:
            response = session.post(
                url,
                data=body,
                headers=headers,
                timeout=(
                    settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS,
                    settings.WEBHOOK_READ_TIMEOUT_SECONDS,
                ),
                allow_redirects=False,
                stream=True,
            )
            with response:
                status_code = response.status_code
                if status_code in (429, 503):
                    retry_after = retry_after_seconds(response.headers.get("Retry-After"), now=now)
                try:
                    excerpt = response.raw.read(
                        settings.WEBHOOK_RESPONSE_EXCERPT_BYTES, decode_content=True
                    )
                except Exception:  # a body that stops mid-way: the status still counts
                    excerpt = b""
    except requests.Timeout:
        error = (
            "Timed out: no answer within "
            f"{settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS:g} s to connect and "
            f"{settings.WEBHOOK_READ_TIMEOUT_SECONDS:g} s to answer."
        )
    except requests.RequestException as exc:
        error = refusal_in(exc) or f"Could not deliver: {type(exc).__name__}: {exc}"
    duration_ms = int((time.monotonic() - started) * 1000)
    return AttemptResult(
        status_code=status_code,
        response_excerpt=excerpt.decode("utf-8", "replace").replace("\x00", ""),
        error=error[:500],
        duration_ms=duration_ms,
        retry_after=retry_after,
    )


def retry_delay_seconds(step: int) -> float:
    """Delay before attempt ``step`` of the schedule, scaled, with ±10 % jitter."""
    base = settings.WEBHOOK_RETRY_SCHEDULE_SECONDS[step] * settings.WEBHOOK_RETRY_SCALE
    return base * random.uniform(0.9, 1.1)


def delivery_claim(*, delivery_id, now: datetime) -> tuple[Delivery, DeliveryAttempt] | None:
    """Take a due delivery for one attempt: open the attempt's log row and hold the
    delivery for the lease, so a second copy of the task (or the sweep) skips it."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("event", "endpoint", "account")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != Delivery.Status.PENDING:
            return None
        if delivery.next_attempt_at and delivery.next_attempt_at > now + CLAIM_TOLERANCE:
            return None
        delivery.attempts.filter(finished_at__isnull=True).update(
            finished_at=now, error=LOST_ATTEMPT_ERROR
        )
        endpoint = delivery.endpoint
        if endpoint is not None and not endpoint.is_active and delivery.event.type != WEBHOOK_PING:
            delivery.status = Delivery.Status.FAILED
            delivery.last_error = "Not sent: the endpoint is disabled."
            delivery.completed_at = now
            delivery.next_attempt_at = None
            delivery.save()
            return None
        delivery.attempt_count += 1
        delivery.next_attempt_at = now + timedelta(seconds=settings.WEBHOOK_ATTEMPT_LEASE_SECONDS)
        delivery.save(update_fields=["attempt_count", "next_attempt_at"])
        attempt = DeliveryAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempt_count,
            url=delivery.target_url,
            started_at=now,
        )
    return delivery, attempt


def delivery_attempt(*, delivery_id, now: datetime | None = None) -> DeliveryAttempt | None:
    """Make the delivery's next attempt if it is due; None when there is nothing to do.

    ``now`` lets a test act at the moment a retry falls due without waiting for it.
    """
    now = now or timezone.now()
    claimed = delivery_claim(delivery_id=delivery_id, now=now)
    if claimed is None:
        return None
    delivery, attempt = claimed
    event = delivery.event
    secret = (
        delivery.endpoint.secret
        if delivery.endpoint is not None
        else signing_secret_for(account=delivery.account).secret
    )
    body = delivery_body(event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signing.signed_headers(
            secret=secret, msg_id=str(event.id), timestamp=int(time.time()), body=body
        ),
    }
    if event.request_id:
        headers[REQUEST_ID_HEADER] = event.request_id
    result = http_post(url=attempt.url, body=body, headers=headers, now=now)
    return delivery_attempt_finish(delivery_id=delivery.id, attempt=attempt, result=result, now=now)


def delivery_attempt_finish(
    *, delivery_id, attempt: DeliveryAttempt, result: AttemptResult, now: datetime
) -> DeliveryAttempt:
    """Log the attempt's outcome and decide what comes next."""
    code = result.status_code
    succeeded = not result.error and code is not None and 200 <= code < 300
    error = result.error
    if not error and code is not None and not succeeded:
        error = (
            f"Answered {code}: redirects are not followed."
            if 300 <= code < 400
            else f"Answered {code}."
        )
    finished_at = now + timedelta(milliseconds=result.duration_ms)
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "account")
            .get(pk=delivery_id)
        )
        attempt.finished_at = finished_at
        attempt.duration_ms = result.duration_ms
        attempt.status_code = code
        attempt.response_excerpt = result.response_excerpt
        attempt.error = error
        attempt.succeeded = succeeded
        attempt.save()
        delivery.last_status_code = code
        delivery.last_error = error
        endpoint = delivery.endpoint
        if succeeded:
            delivery.status = Delivery.Status.SUCCEEDED
            delivery.completed_at = finished_at
            delivery.next_attempt_at = None
            if endpoint is not None:
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                    failing_since=None, consecutive_failed_deliveries=0
                )
        elif code == 410:
            delivery_give_up(delivery=delivery, at=finished_at, gone=True)
        else:
            if endpoint is not None:
                WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
                    failing_since=attempt.started_at
                )
            next_step = delivery.retry_step + 1
            if next_step >= len(settings.WEBHOOK_RETRY_SCHEDULE_SECONDS):
                delivery_give_up(delivery=delivery, at=finished_at, gone=False)
            else:
                delay = retry_delay_seconds(next_step)
                if result.retry_after is not None:
                    delay = max(delay, min(result.retry_after, RETRY_AFTER_CAP_SECONDS))
                delivery.retry_step = next_step
                delivery.next_attempt_at = finished_at + timedelta(seconds=delay)
                if delay <= settings.WEBHOOK_MAX_COUNTDOWN_SECONDS:
                    delivery_enqueue(delivery_id=delivery.id, countdown=delay)
        delivery.save()
    return attempt


def delivery_give_up(*, delivery: Delivery, at: datetime, gone: bool) -> None:
    """Mark the delivery failed; count it against its endpoint and disable the endpoint
    at the threshold (or at once when the receiver answered 410 Gone)."""
    delivery.status = Delivery.Status.FAILED
    delivery.completed_at = at
    delivery.next_attempt_at = None
    endpoint = delivery.endpoint
    if endpoint is None:
        return
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.consecutive_failed_deliveries += 1
    if endpoint.failing_since is None:
        endpoint.failing_since = at
    endpoint.save(update_fields=["consecutive_failed_deliveries", "failing_since", "updated_at"])
    threshold = settings.WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES
    if gone:
        webhook_endpoint_disable(
            endpoint=endpoint,
            reason=WebhookEndpoint.DisabledReason.GONE,
            actor=Actor.system(),
            detail={"delivery_id": str(delivery.id)},
        )
    elif endpoint.consecutive_failed_deliveries >= threshold:
        webhook_endpoint_disable(
            endpoint=endpoint,
            reason=WebhookEndpoint.DisabledReason.FAILING,
            actor=Actor.system(),
            detail={
                "consecutive_failed_deliveries": endpoint.consecutive_failed_deliveries,
                "threshold": threshold,
            },
        )


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery, actor: Actor) -> Delivery:
    """Send a finished delivery again, from the start of the retry schedule, with the
    same ``webhook-id`` (receivers that already have it can recognise it)."""
    delivery = (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("endpoint", "account")
        .get(pk=delivery.pk)
    )
    if delivery.status == Delivery.Status.PENDING:
        raise WebhookConflict("This delivery is still being attempted; wait until it ends.")
    if delivery.endpoint is not None and not delivery.endpoint.is_active:
        raise WebhookConflict("The endpoint is disabled: enable it, then redeliver.")
    delivery.status = Delivery.Status.PENDING
    delivery.retry_step = 0
    delivery.next_attempt_at = timezone.now()
    delivery.completed_at = None
    delivery.save()
    audit_record(
        account=delivery.account,
        actor=actor,
        action="webhook_delivery.redeliver",
        target=delivery,
    )
    delivery_enqueue(delivery_id=delivery.id)
    return delivery


def webhook_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Dispatch events whose fan-out never ran and queue deliveries overdue by more
    than the grace period (a lost task, an expired lease, a retry too far ahead for
    a countdown). Safe to run any number of times at once."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE_SECONDS)
    # Overdue deliveries first, so the ones the fan-out below creates are queued once.
    delivery_ids = list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=cutoff)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for delivery_id in delivery_ids:
        delivery_enqueue(delivery_id=delivery_id)
    event_ids = list(
        Event.objects.filter(dispatched_at__isnull=True, created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for event_id in event_ids:
        event_dispatch(event_id=event_id)
    return {"events": len(event_ids), "deliveries": len(delivery_ids)}


# --- Tasks --------------------------------------------------------------------
# Thin wrappers that take primary keys and call the services above. They sit beside the
# services that queue them, so neither needs the other inside a function; the app's
# tasks module names them for Celery's discovery.

ATTEMPT_SOFT_TIME_LIMIT = (
    settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS + settings.WEBHOOK_READ_TIMEOUT_SECONDS + 30
)


@shared_task(name="webhooks.dispatch_event", ignore_result=True)
def dispatch_event_task(event_id: str) -> None:
    event_dispatch(event_id=event_id)


@shared_task(
    name="webhooks.attempt_delivery",
    ignore_result=True,
    soft_time_limit=ATTEMPT_SOFT_TIME_LIMIT,
    time_limit=ATTEMPT_SOFT_TIME_LIMIT + 30,
)
def attempt_delivery_task(delivery_id: str) -> None:
    delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.sweep", ignore_result=True)
def sweep_task() -> None:
    webhook_sweep()
