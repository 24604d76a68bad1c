"""Beat on two hosts, one active: the lease in the database (portal.ops.beat), the metric
that shows beat alive, and two real beat processes handing over when the active one is
killed outright."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from portal.ops.models import BeatLease
from portal.ops.services import beat_lease_release, beat_lease_take
from tests.support.worker import wait_for, worker_env

BASE_DIR = Path(settings.BASE_DIR)
TOKEN = "m3tr1cs-t0ken-for-beat-tests-0123456789"


# --- the lease ------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_holder_at_a_time_until_its_lease_lapses():
    """GIVEN beat A holding the lease WHEN B asks THEN B is refused, A renews; once A has not
    ticked for the lease's length B gets it and A is refused; a released lease goes at once."""
    assert beat_lease_take(holder="a", lease_seconds=30)
    assert not beat_lease_take(holder="b", lease_seconds=30)
    assert beat_lease_take(holder="a", lease_seconds=30)
    assert BeatLease.objects.get().holder == "a"

    BeatLease.objects.update(ticked_at=timezone.now() - dt.timedelta(seconds=31))
    assert beat_lease_take(holder="b", lease_seconds=30)
    assert not beat_lease_take(holder="a", lease_seconds=30)
    lease = BeatLease.objects.get()
    assert lease.holder == "b" and lease.taken_at is not None

    beat_lease_release(holder="a")  # not the holder: changes nothing
    assert not beat_lease_take(holder="c", lease_seconds=30)
    beat_lease_release(holder="b")
    assert beat_lease_take(holder="c", lease_seconds=30)
    assert BeatLease.objects.count() == 1


@pytest.mark.django_db
def test_a_lease_just_inside_its_length_is_kept():
    """GIVEN the holder's last tick 25 s ago (lease 30 s) WHEN another asks THEN refused."""
    assert beat_lease_take(holder="a", lease_seconds=30)
    BeatLease.objects.update(ticked_at=timezone.now() - dt.timedelta(seconds=25))
    assert not beat_lease_take(holder="b", lease_seconds=30)


# --- the metric ------------------------------------------------------------------------


def beat_metric(client) -> float:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if sample.name == "portal_beat_last_tick_seconds":
                return sample.value
    raise AssertionError("portal_beat_last_tick_seconds is not in /metrics")


@pytest.mark.django_db
def test_metric_shows_the_last_tick_as_unix_time(client, settings):
    """GIVEN no beat yet, then a beat that ticked 42 s ago WHEN /metrics is scraped THEN
    portal_beat_last_tick_seconds is 0, then that tick's Unix time."""
    settings.METRICS_TOKEN = TOKEN
    assert beat_metric(client) == 0
    beat_lease_take(holder="a", lease_seconds=30)
    ticked = timezone.now() - dt.timedelta(seconds=42)
    BeatLease.objects.update(ticked_at=ticked)
    assert beat_metric(client) == pytest.approx(ticked.timestamp(), abs=0.01)
    assert time.time() - beat_metric(client) >= 42


# --- two beat processes --------------------------------------------------------------

PHOTO_COLLECT = "attachments.photo_uploads_collect"


def start_beat(tmp_path: Path, name: str, broker_url: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    env = worker_env({"CELERY_BROKER_URL": broker_url})
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--loglevel=INFO",
            f"--schedule={tmp_path / f'{name}-schedule'}",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return process, log


def photo_collect_sends(broker: redis.Redis) -> list[float]:
    """When each queued photo-collector message was sent (oldest first): its expiry, set
    by beat at sending to twice the interval, less that."""
    sent = []
    interval = settings.ATTACHMENTS_PHOTO_COLLECT_SECONDS
    for raw in reversed(broker.lrange("celery", 0, -1)):  # LPUSH: the newest is first
        headers = json.loads(raw)["headers"]
        if headers["task"] == PHOTO_COLLECT:
            sent.append(dt.datetime.fromisoformat(headers["expires"]).timestamp() - 2 * interval)
    return sent


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_standby_beat_takes_over_within_a_minute_and_never_both_send(tmp_path):
    """GIVEN two beat processes (two hosts) on one database and one broker WHEN they run,
    then the active one is SIGKILLed THEN only one ever sends (no photo-collector message
    within a second of another: two beats would each send one every 2 s), the standby's
    messages start within 60 s of the kill, and it says it took over."""
    db_index = 40 + int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    broker_url = f"{os.environ['TEST_REDIS_URL']}/{db_index}"
    broker = redis.Redis.from_url(broker_url)
    broker.flushdb()
    first, first_log = start_beat(tmp_path, "beat-a", broker_url)
    time.sleep(2)  # a has started (and most likely taken the lease) before b
    second, second_log = start_beat(tmp_path, "beat-b", broker_url)
    beats = {"a": (first, first_log), "b": (second, second_log)}
    try:

        def roles():
            found = {}
            for name, (_, log) in beats.items():
                text = log.read_text()
                if "is active; it sends" in text:
                    found[name] = "active"
                elif "is a standby" in text:
                    found[name] = "standby"
            return found if len(found) == 2 else None

        found = wait_for(roles, timeout=60, interval=0.5, message="the beats did not start")
        assert sorted(found.values()) == ["active", "standby"], found
        active = next(name for name, role in found.items() if role == "active")
        standby = "b" if active == "a" else "a"
        time.sleep(12)  # both running: six photo-collector periods
        both_running = photo_collect_sends(broker)
        assert len(both_running) >= 4, both_running

        beats[active][0].send_signal(signal.SIGKILL)
        beats[active][0].wait()
        killed_at = time.time()
        wait_for(
            lambda: "is active; it sends" in beats[standby][1].read_text(),
            timeout=60,
            interval=0.5,
            message="the standby did not take over within 60 s:\n"
            + beats[standby][1].read_text()[-2000:],
        )
        wait_for(
            lambda: any(sent > killed_at for sent in photo_collect_sends(broker)),
            timeout=max(1.0, killed_at + 60 - time.time()),
            interval=0.5,
            message="no periodic task was sent within 60 s of the active beat's death",
        )
        taken_over = min(sent for sent in photo_collect_sends(broker) if sent > killed_at)
        assert taken_over - killed_at < 60
        time.sleep(6)
        sends = photo_collect_sends(broker)
        gaps = [later - earlier for earlier, later in itertools.pairwise(sends)]
        assert min(gaps) > 1.0, (gaps, sends)
        assert not re.search(r"Traceback|ERROR", beats[standby][1].read_text())
    finally:
        for process, _ in beats.values():
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        broker.flushdb()
