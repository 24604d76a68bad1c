"""``GET /healthz``: are the database, the broker and the storage reachable?"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.celery import app as celery_app
from portal.ops.services import heartbeat_latest

logger = logging.getLogger(__name__)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def check_storage() -> None:
    """Write, read back and remove a probe object: proves credentials and bucket too."""
    name = f"healthz/{uuid.uuid4().hex}"
    saved = default_storage.save(name, ContentFile(b"ok"))
    try:
        with default_storage.open(saved) as probe:
            if probe.read() != b"ok":
                raise RuntimeError("storage returned other bytes than were written")
    finally:
        default_storage.delete(saved)


CHECKS = {"database": check_database, "broker": check_broker, "storage": check_storage}


@never_cache
@require_GET
def healthz(request):
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # a health check reports every failure, whatever it is
            logger.warning("healthz: %s failed: %s", name, type(exc).__name__)
            results[name] = f"failed: {type(exc).__name__}"
    healthy = all(value == "ok" for value in results.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": results}
    if results["database"] == "ok":
        # Informational: a worker that stopped answering does not make the web
        # tier unhealthy, but it explains uploads that stay pending.
        heartbeat = heartbeat_latest()
        body["worker_last_seen"] = heartbeat.seen_at.isoformat() if heartbeat else None
    return JsonResponse(body, status=200 if healthy else 503)
