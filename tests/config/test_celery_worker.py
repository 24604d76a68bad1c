"""Tasks are queued only after their transaction commits, and a real worker on Redis runs them."""

from __future__ import annotations

import pytest
from django.db import transaction

from portal.ops.models import WorkerHeartbeat
from tests.support.worker import celery_worker, heartbeat_request, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_on_commit_task_runs_in_a_real_worker_on_redis(tmp_path, settings):
    """GIVEN a real Celery worker on Redis WHEN a heartbeat is requested inside a transaction
    THEN nothing is queued until commit, and after commit the worker records its heartbeat."""
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    with celery_worker(tmp_path) as worker:
        with transaction.atomic():
            heartbeat_request()
        wait_for(
            lambda: WorkerHeartbeat.objects.filter(worker=worker.name).exists(),
            timeout=30,
            message=f"the worker never ran the task:\n{worker.log()}",
        )


def test_rolled_back_transaction_queues_nothing(django_capture_on_commit_callbacks):
    """GIVEN a transaction that fails WHEN it asked for a task THEN no task is queued."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        try:
            with transaction.atomic():
                heartbeat_request()
                raise RuntimeError("the change failed")
        except RuntimeError:
            pass
    assert callbacks == []
