"""``/healthz`` checks the database, the broker and the storage, and says which one failed."""

from __future__ import annotations

import pytest
from django.test import Client

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
