"""``GET /metrics``: what to monitor, in Prometheus's text format (prometheus-client).

Every figure is read from the database (and the broker) at scrape time, not counted in
one process's memory: the portal runs as several gunicorn processes and workers on
several machines, and any one of them must answer for all. Counts that only grow in a
counter (uploads, deliveries) are row counts of tables that keep their rows.

Not public: answers 404 unless ``METRICS_TOKEN`` is set, and then only to
``Authorization: Bearer <METRICS_TOKEN>``; the nginx configuration (deploy/) also
allows it only from the addresses the operator lists.
"""

from __future__ import annotations

import datetime as dt
import hmac

from django.conf import settings
from django.db.models import (
    Count,
    DurationField,
    F,
    Min,
    Q,
    Sum,
)
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.utils import floatToGoString

from config.celery import app as celery_app
from filerequests.models import Notification
from files.models import File
from portal.ops.models import WorkerHeartbeat
from portal.ops.services import beat_lease_current
from portal.webhooks.models import Delivery

# Upper bounds (seconds) of the processing-duration histogram: a thumbnail to a large PDF.
DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300)


class PortalCollector:
    """Reads the figures on each scrape (a custom collector, never registered globally)."""

    def collect(self):
        yield from self.files()
        yield from self.processing()
        yield from self.queue()
        yield from self.webhooks()
        yield from self.sms()
        yield from self.workers()
        yield from self.beat()

    def files(self):
        uploads = CounterMetricFamily(
            "portal_uploads", "Files received, by door and current state.", labels=["door", "state"]
        )
        # The door is the file's own ``source`` (``File.Source``), the record's and FHIR's
        # vocabulary too.
        rows = File.objects.values("source", "state").annotate(n=Count("pk")).order_by()
        for row in rows:
            uploads.add_metric([row["source"] or "unknown", row["state"]], row["n"])
        yield uploads

    def processing(self):
        window = timezone.now() - dt.timedelta(seconds=settings.METRICS_WINDOW_SECONDS)
        histogram = HistogramMetricFamily(
            "portal_file_processing_duration_seconds",
            f"Processing time of files finished in the last {settings.METRICS_WINDOW_SECONDS} s "
            "(start of the last run to ready/rejected), by outcome.",
            labels=["outcome"],
        )
        duration = F("processed_at") - F("processing_started_at")
        finished = File.objects.filter(
            processed_at__gte=window,
            processing_started_at__isnull=False,
            state__in=[File.State.READY, File.State.REJECTED],
        )
        for outcome in (File.State.READY, File.State.REJECTED):
            aggregates = {
                f"le_{i}": Count("pk", filter=Q(duration__lte=dt.timedelta(seconds=bound)))
                for i, bound in enumerate(DURATION_BUCKETS)
            }
            counts = (
                finished.filter(state=outcome)
                .annotate(duration=duration)
                .aggregate(
                    total=Count("pk"),
                    seconds=Sum("duration", output_field=DurationField()),
                    **aggregates,
                )
            )
            buckets = [
                (floatToGoString(b), counts[f"le_{i}"]) for i, b in enumerate(DURATION_BUCKETS)
            ]
            buckets.append(("+Inf", counts["total"]))
            # The sum lets rate(_sum) / rate(_count) give the mean processing time.
            total = counts["seconds"]
            histogram.add_metric(
                [outcome], buckets, sum_value=total.total_seconds() if total else 0.0
            )
        yield histogram

    def queue(self):
        waiting = File.objects.filter(state__in=[File.State.PENDING, File.State.PROCESSING])
        depth = GaugeMetricFamily(
            "portal_files_waiting", "Files not yet ready or rejected, by state.", labels=["state"]
        )
        for row in waiting.values("state").annotate(n=Count("pk")).order_by():
            depth.add_metric([row["state"]], row["n"])
        yield depth
        oldest = waiting.aggregate(oldest=Min("created_at"))["oldest"]
        age = GaugeMetricFamily(
            "portal_oldest_waiting_file_age_seconds",
            "Age of the oldest file still pending or processing (0 when none).",
        )
        age.add_metric([], (timezone.now() - oldest).total_seconds() if oldest else 0.0)
        yield age
        length = broker_queue_length()
        if length is not None:
            broker = GaugeMetricFamily(
                "portal_broker_queue_length", "Messages waiting in the Celery queue (Redis)."
            )
            broker.add_metric([], length)
            yield broker

    def webhooks(self):
        deliveries = CounterMetricFamily(
            "portal_webhook_deliveries", "Webhook deliveries by outcome.", labels=["outcome"]
        )
        for row in Delivery.objects.values("status").annotate(n=Count("pk")).order_by():
            deliveries.add_metric([row["status"]], row["n"])
        yield deliveries

    def sms(self):
        sends = CounterMetricFamily(
            "portal_sms_sends", "Text messages to patients by outcome.", labels=["outcome"]
        )
        for row in Notification.objects.values("status").annotate(n=Count("pk")).order_by():
            sends.add_metric([row["status"]], row["n"])
        yield sends

    def workers(self):
        now = timezone.now()
        ages = GaugeMetricFamily(
            "portal_worker_heartbeat_age_seconds",
            "Seconds since each Celery worker's last heartbeat.",
            labels=["worker"],
        )
        newest = None
        for worker, seen_at in WorkerHeartbeat.objects.values_list("worker", "seen_at"):
            age = (now - seen_at).total_seconds()
            ages.add_metric([worker], age)
            newest = age if newest is None else min(newest, age)
        yield ages
        freshest = GaugeMetricFamily(
            "portal_worker_heartbeat_newest_age_seconds",
            "Seconds since any worker's heartbeat (-1 when no worker has ever reported).",
        )
        freshest.add_metric([], -1.0 if newest is None else newest)
        yield freshest

    def beat(self):
        lease = beat_lease_current()
        last_tick = GaugeMetricFamily(
            "portal_beat_last_tick_seconds",
            "Unix time of the active Celery beat's last tick (0 when no beat has ever "
            "ticked). Beat queues every sweep; alert when time() minus this passes a minute.",
        )
        ticked_at = lease.ticked_at if lease else None
        last_tick.add_metric([], ticked_at.timestamp() if ticked_at else 0.0)
        yield last_tick


def broker_queue_length() -> int | None:
    """The Redis list Celery's default queue is kept in; None for other brokers or faults."""
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return None

    try:
        with celery_app.connection_for_read() as conn:
            client = conn.default_channel.client
            return int(client.llen(celery_app.conf.task_default_queue or "celery"))
    except Exception:  # a metric the broker cannot answer is left out, not an error page
        return None


def token_matches(request) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), settings.METRICS_TOKEN.encode()
    )


@never_cache
@require_GET
def metrics(request):
    if not settings.METRICS_TOKEN:
        raise Http404
    if not token_matches(request):
        response = HttpResponse("A bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PortalCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
