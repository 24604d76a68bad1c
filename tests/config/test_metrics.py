"""``GET /metrics``: not public (404 without METRICS_TOKEN, 401 without the right bearer
token), and every figure read from the database, so any process answers for all."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from attachments.models import PatientAttachment
from filerequests.models import Notification
from files.models import File
from portal.ops.models import WorkerHeartbeat
from portal.webhooks.models import Delivery, Event
from tests.factories import FileFactory, FileRequestFactory

pytestmark = pytest.mark.django_db
TOKEN = "m3tr1cs-t0ken-for-tests-0123456789"


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def get() -> dict[tuple, float]:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        samples = {}
        for family in text_string_to_metric_families(response.content.decode()):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    return get


def test_without_a_token_setting_metrics_do_not_exist(client, settings):
    """GIVEN METRICS_TOKEN unset WHEN /metrics is asked, with or without a token THEN 404."""
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong",
        f"Bearer {TOKEN[:-1]}",
        f"Bearer {TOKEN}x",
        f"Basic {TOKEN}",
        TOKEN,
        f"Bearer {TOKEN.upper()}",
    ],
)
def test_a_wrong_or_missing_token_is_refused(header, client, settings):
    """GIVEN METRICS_TOKEN set WHEN /metrics is asked without exactly that bearer token
    THEN 401 with a WWW-Authenticate challenge and no figures."""
    settings.METRICS_TOKEN = TOKEN
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"portal_" not in response.content


def a_file(account, patient, **fields) -> File:
    fields.setdefault("state", File.State.READY)
    made_as = {File.State.READY: {"ready": True}, File.State.REJECTED: {"rejected": True}}
    return FileFactory(
        account=account,
        patient=patient,
        original_name="x.jpg",
        **made_as.get(fields["state"], {}),
        **fields,
    )


def test_uploads_per_door_and_state(scrape, account, patient):
    """GIVEN files that came through each door WHEN scraped THEN portal_uploads_total counts
    them by door (the file's own source, the record's and FHIR's words too) and state."""
    for source in ("cliniko", "claros", "dashboard"):
        PatientAttachment.objects.create(
            account=account, patient=patient, file=a_file(account, patient, source=source)
        )
    request = FileRequestFactory(account=account, patient=patient)
    a_file(account, patient, file_request=request, state=File.State.REJECTED, source="request")
    a_file(account, patient, actor_kind="api_key", source="xon")
    a_file(account, patient, actor_kind="api_key", state=File.State.PENDING, source="xon")
    samples = scrape()

    def uploads(door, state):
        return samples.get(("portal_uploads_total", (("door", door), ("state", state))), 0)

    assert [uploads(d, "ready") for d in ("cliniko", "claros", "dashboard")] == [1, 1, 1]
    assert uploads("request", "rejected") == 1
    assert (uploads("xon", "ready"), uploads("xon", "pending")) == (1, 1)


def test_processing_duration_by_outcome(scrape, account, patient):
    """GIVEN a file made ready in 3 s and one rejected in 40 s WHEN scraped THEN each falls
    in its histogram bucket, by outcome."""
    now = timezone.now()
    for state, seconds in ((File.State.READY, 3), (File.State.REJECTED, 40)):
        a_file(
            account,
            patient,
            state=state,
            processing_started_at=now - dt.timedelta(seconds=seconds),
            processed_at=now,
        )
    samples = scrape()
    name = "portal_file_processing_duration_seconds_bucket"

    def bucket(outcome, le):
        return samples[(name, (("le", le), ("outcome", outcome)))]

    assert (bucket("ready", "2.0"), bucket("ready", "5.0"), bucket("ready", "+Inf")) == (0, 1, 1)
    assert (bucket("rejected", "30.0"), bucket("rejected", "60.0")) == (0, 1)


def test_processing_duration_sum_is_the_seconds_spent(scrape, account, patient):
    """GIVEN files made ready in 3 s and 4.5 s, and one rejected in 40 s WHEN scraped THEN
    each outcome's _sum is the seconds its files took (so rate(_sum)/rate(_count) is the
    mean), not 0; an outcome with no file sums to 0."""
    now = timezone.now()
    for state, seconds in (
        (File.State.READY, 3),
        (File.State.READY, 4.5),
        (File.State.REJECTED, 40),
    ):
        a_file(
            account,
            patient,
            state=state,
            processing_started_at=now - dt.timedelta(seconds=seconds),
            processed_at=now,
        )
    samples = scrape()
    name = "portal_file_processing_duration_seconds"
    assert samples[(f"{name}_sum", (("outcome", "ready"),))] == pytest.approx(7.5)
    assert samples[(f"{name}_count", (("outcome", "ready"),))] == 2
    assert samples[(f"{name}_sum", (("outcome", "rejected"),))] == pytest.approx(40)
    File.objects.filter(state=File.State.REJECTED).delete()
    assert scrape()[(f"{name}_sum", (("outcome", "rejected"),))] == 0


def test_queue_depth_and_oldest_waiting_file(scrape, account, patient):
    """GIVEN two pending files (one 300 s old) and one processing WHEN scraped THEN the depth
    by state and the oldest one's age are reported."""
    a_file(account, patient, state=File.State.PENDING)
    a_file(
        account,
        patient,
        state=File.State.PENDING,
        created_at=timezone.now() - dt.timedelta(seconds=300),
    )
    a_file(account, patient, state=File.State.PROCESSING)
    samples = scrape()
    assert samples[("portal_files_waiting", (("state", "pending"),))] == 2
    assert samples[("portal_files_waiting", (("state", "processing"),))] == 1
    assert samples[("portal_oldest_waiting_file_age_seconds", ())] >= 300
    assert ("portal_broker_queue_length", ()) in samples  # the tests' broker is Redis


def test_webhook_deliveries_sms_sends_and_worker_heartbeats(scrape, account, patient):
    """GIVEN deliveries, text messages and two workers' heartbeats WHEN scraped THEN each
    is counted by outcome, and each worker's heartbeat age is reported."""
    event = Event.objects.create(account=account, type="file.ready")
    for index, status in enumerate(("succeeded", "succeeded", "failed", "pending")):
        Delivery.objects.create(
            account=account, event=event, url=f"https://x{index}.example/", status=status
        )
    request = FileRequestFactory(account=account, patient=patient)
    for status in ("sent", "failed"):
        Notification.objects.create(file_request=request, status=status)
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker="w1@a", seen_at=now - dt.timedelta(seconds=30))
    WorkerHeartbeat.objects.create(worker="w2@b", seen_at=now - dt.timedelta(seconds=200))
    samples = scrape()
    deliveries = {
        outcome: samples[("portal_webhook_deliveries_total", (("outcome", outcome),))]
        for outcome in ("succeeded", "failed", "pending")
    }
    assert deliveries == {"succeeded": 2, "failed": 1, "pending": 1}
    assert samples[("portal_sms_sends_total", (("outcome", "sent"),))] == 1
    assert samples[("portal_sms_sends_total", (("outcome", "failed"),))] == 1
    assert 30 <= samples[("portal_worker_heartbeat_age_seconds", (("worker", "w1@a"),))] < 200
    assert samples[("portal_worker_heartbeat_age_seconds", (("worker", "w2@b"),))] >= 200
    assert 30 <= samples[("portal_worker_heartbeat_newest_age_seconds", ())] < 200


def test_no_worker_ever_seen(scrape):
    """GIVEN no heartbeat at all WHEN scraped THEN the newest heartbeat age says -1."""
    assert scrape()[("portal_worker_heartbeat_newest_age_seconds", ())] == -1
