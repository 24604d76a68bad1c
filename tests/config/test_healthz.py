"""``/healthz`` checks the database, the broker and the storage, and says which one failed;
probes that arrive together, or within a second of a check, share it."""

from __future__ import annotations

import collections
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import Client

from config import health
from tests.support.commands import python_in_a_fresh_process

pytestmark = pytest.mark.django_db


def test_healthy_on_filesystem_storage(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}
    assert "worker_last_seen" in body


def test_healthy_on_s3(client, s3_bucket):
    assert client.get("/healthz").json()["checks"]["storage"] == "ok"


def test_unreachable_broker_answers_503_naming_it(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["broker"].startswith("failed")
    assert body["checks"]["database"] == "ok"


def test_missing_bucket_answers_503_naming_storage(client, s3_bucket, settings):
    from config.settings import storage_settings_for

    settings.STORAGES = {
        **settings.STORAGES,
        "default": storage_settings_for("no-such-bucket-here"),
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"].startswith("failed")


# --- Probes share checks: they need no sign-in, and a storage check writes an object ----


@pytest.fixture
def checks_counted(monkeypatch):
    """How many times each dependency was checked: the real checks, counted as they run."""
    counted = collections.Counter()
    for name, check in list(health.CHECKS.items()):

        def counting(check=check, name=name):
            counted[name] += 1
            check()

        monkeypatch.setitem(health.CHECKS, name, counting)
    return counted


EVERY_DEPENDENCY_ONCE = {"database": 1, "broker": 1, "storage": 1}


def test_a_flood_of_probes_checks_each_dependency_once_while_a_result_is_fresh(
    client, settings, checks_counted
):
    """GIVEN a result kept for an hour WHEN forty probes arrive, on both routes THEN all are
    answered 200 from one check of each dependency."""
    settings.HEALTH_PROBE_REUSE_SECONDS = 3600
    answers = [client.get(route) for route in ["/healthz", "/readyz"] * 20]
    assert {answer.status_code for answer in answers} == {200}
    assert checks_counted == EVERY_DEPENDENCY_ONCE


def test_probes_at_once_wait_for_the_one_check_in_flight(db, settings, checks_counted):
    """GIVEN twelve probes sent at the same moment WHEN none has a result to take THEN one
    check of each dependency answers them all."""
    settings.HEALTH_PROBE_REUSE_SECONDS = 3600
    start = threading.Barrier(12)

    def probe():
        start.wait()
        try:
            return Client().get("/readyz").status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(lambda _: probe(), range(12)))
    assert statuses == [200] * 12
    assert checks_counted == EVERY_DEPENDENCY_ONCE


def test_without_reuse_every_probe_checks_again(client, settings, checks_counted):
    settings.HEALTH_PROBE_REUSE_SECONDS = 0
    for _ in range(3):
        assert client.get("/readyz").status_code == 200
    assert checks_counted == {"database": 3, "broker": 3, "storage": 3}


def test_a_kept_result_goes_when_what_is_checked_changes(settings, checks_counted):
    """GIVEN a healthy result kept for an hour WHEN the broker setting changes to one that
    does not answer THEN the next probe checks again and names the broker."""
    settings.HEALTH_PROBE_REUSE_SECONDS = 3600
    assert Client().get("/readyz").status_code == 200
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    answer = Client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["failed"] == ["broker"]
    assert checks_counted["broker"] == 2


RANGE = "PORTAL_HEALTH_PROBE_REUSE_SECONDS must be a number of seconds from 0 to 10, not "


@pytest.mark.slow  # starts fresh processes
@pytest.mark.parametrize(
    "value, words",
    [
        # Not read as a number at all: NaN would keep the first result for ever.
        ("nan", "PORTAL_HEALTH_PROBE_REUSE_SECONDS must be a number, not 'nan'."),
        ("inf", "PORTAL_HEALTH_PROBE_REUSE_SECONDS must be a number, not 'inf'."),
        # Numbers out of the range: an hour would hide an outage for an hour.
        ("-1", RANGE + "-1.0"),
        ("3600", RANGE + "3600.0"),
    ],
)
def test_a_reuse_that_would_hide_an_outage_is_refused_at_start_in_words(value, words):
    """GIVEN PORTAL_HEALTH_PROBE_REUSE_SECONDS not a number of seconds from 0 to 10 WHEN the
    portal reads its settings THEN it refuses to start, naming the variable and what it
    must be; 10 is taken."""
    code = "from django.conf import settings; print(settings.HEALTH_PROBE_REUSE_SECONDS)"
    refused = python_in_a_fresh_process(
        code, env_changes={"PORTAL_HEALTH_PROBE_REUSE_SECONDS": value}
    )
    assert refused.returncode != 0
    said = refused.stderr.strip().splitlines()[-1]
    assert said.startswith(f"django.core.exceptions.ImproperlyConfigured: {words}")
    taken = python_in_a_fresh_process(code, env_changes={"PORTAL_HEALTH_PROBE_REUSE_SECONDS": "10"})
    assert (taken.returncode, taken.stdout.strip()) == (0, "10.0")
