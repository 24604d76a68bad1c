"""Redis, the Celery broker, killed and started again while tasks wait in its queue.

A dedicated redis-server (its own port, its own append-only file) so the suite's
shared broker is never touched. Uploads go through gunicorn; no worker runs until
the end, so every task is still queued when Redis dies.
"""

from __future__ import annotations

import pytest

from tests.faults.conftest import photo
from tests.support import clients
from tests.support.outcomes import all_final, assert_ready_exactly_once
from tests.support.stack import RedisServer, manage, portal_server
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_no_queued_task_is_lost_when_redis_restarts(tmp_path, s3_bucket, clinic):
    """GIVEN five uploads whose processing tasks wait in Redis
    WHEN Redis is killed (SIGKILL) and started again on its port, three more files are
    uploaded, then Redis is killed again and two files are uploaded while it is down
    THEN every upload answers 201 (an upload is never refused for the broker), the
    five queued tasks survive the restart, and once a worker runs and the stale-upload
    sweep has re-queued what the outage could not queue, all ten files are ready,
    each exactly once."""
    redis = RedisServer(tmp_path / "redis").start()
    broker = {"CELERY_BROKER_URL": redis.url}
    session = clients.keyed(clinic["key"])
    file_ids = []

    def upload(index: int) -> None:
        response = clients.xon_upload(
            session,
            server.url,
            user_id=clinic["patient"].id,
            name=f"photo-{index}.jpg",
            data=photo(index),
        )
        assert response.status_code == 201, (index, response.status_code, response.text)
        file_ids.append(response.json()[0]["id"])

    try:
        with portal_server(tmp_path, workers=1, extra_env=broker) as server:
            for index in range(5):
                upload(index)
            assert redis.queue_length() == 5

            redis.restart()
            assert redis.queue_length() == 5  # the queued tasks survived the restart
            for index in range(5, 8):
                upload(index)  # the web process reconnects to the broker by itself
            assert redis.queue_length() == 8

            redis.kill()
            for index in range(8, 10):
                upload(index)  # stored and committed; queueing failed and was logged
            redis.start()
            assert redis.queue_length() == 8

            with celery_worker(tmp_path, extra_env=broker) as worker:
                wait_for(
                    lambda: all_final(file_ids[:8]),
                    timeout=45,
                    message=f"queued files were not processed:\n{worker.log()}",
                )
                sweep = manage(
                    "shell",
                    "-c",
                    "from files.pipeline.sweeps import stale_upload_sweep; "
                    "print(stale_upload_sweep())",
                    extra_env={**broker, "FILES_REQUEUE_PENDING_AFTER_SECONDS": "0"},
                )
                assert sweep.returncode == 0, sweep.stderr
                assert "'requeued': 2" in sweep.stdout, sweep.stdout
                wait_for(
                    lambda: all_final(file_ids),
                    timeout=45,
                    message=f"the swept files were not processed:\n{worker.log()}",
                )
        assert redis.restarts == 1
        assert_ready_exactly_once(file_ids)
    finally:
        redis.stop()
