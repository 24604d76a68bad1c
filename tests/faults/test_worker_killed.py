"""A Celery worker killed with SIGKILL in the middle of processing a file.

Processing is held half-way (content stored, thumbnail not yet, transaction open)
with the ``FILES_PROCESSING_PAUSE_SECONDS`` hook, and the worker is killed there.
With ``acks_late`` and ``task_reject_on_worker_lost`` the message is not lost:
a pool child's death re-queues it at once; a whole worker's death leaves it
unacknowledged in Redis until the visibility timeout hands it to the next worker.
"""

from __future__ import annotations

import os
import signal

import pytest

from files.models import TEMP_ROOT, File
from tests.faults.conftest import photo
from tests.support import clients
from tests.support.outcomes import assert_ready_exactly_once
from tests.support.stack import portal_server
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

QUICK_RESTORE = {"CELERY_VISIBILITY_TIMEOUT": "3", "CELERY_UNACKED_RESTORE_SECONDS": "1"}


def upload_one(server, clinic, data: bytes) -> str:
    response = clients.xon_upload(
        clients.keyed(clinic["key"]),
        server.url,
        user_id=clinic["patient"].id,
        name="wound.jpg",
        data=data,
    )
    assert response.status_code == 201, response.text
    return response.json()[0]["id"]


class HeldProcessing:
    """Processing held half-way for as long as a file exists (at most 120 s), so a kill
    is sure to land while the work is held, however slow the machine: ``release`` lets
    the next delivery go on at once."""

    def __init__(self, tmp_path):
        self.path = tmp_path / "hold-processing"
        self.path.touch()
        self.env = {
            "PORTAL_FILES_PROCESSING_PAUSE_SECONDS": "120",
            "PORTAL_FILES_PROCESSING_HOLD_PATH": str(self.path),
        }

    def release(self) -> None:
        self.path.unlink()


def wait_until_paused(worker, file_id: str) -> None:
    wait_for(
        lambda: f"file {file_id} paused half-way" in worker.log(),
        timeout=30,
        message=f"the worker never reached the middle of processing:\n{worker.log()}",
    )


def check_the_one_outcome(server, clinic, bucket: str, file_id: str, data: bytes) -> None:
    [file] = assert_ready_exactly_once([file_id])
    assert file.processing_attempts == 2  # the killed run, then the one that finished
    download = clients.keyed(clinic["key"]).get(f"{server.url}/api/v1/files/{file_id}", timeout=30)
    assert download.status_code == 200
    assert clients.sha256(download.content) == file.sha256
    # Only what the finished run stored: no temporary object, no orphan from the killed run.
    keys = clients.bucket_keys(bucket)
    assert not [key for key in keys if key.startswith(TEMP_ROOT)], keys
    assert sorted(key.rsplit("/", 1)[-1] for key in keys if file_id in key) == [
        "content.jpg",
        "thumbnail.jpg",
    ]


def test_pool_child_killed_mid_processing_is_requeued(tmp_path, s3_bucket, clinic):
    """GIVEN a worker whose pool child is half-way through processing a photo
    WHEN the child is killed with SIGKILL
    THEN the parent re-queues the task, a new child processes it, and the file ends
    ready exactly once: one content and one thumbnail facet, one file.ready event."""
    data = photo(1)
    hold = HeldProcessing(tmp_path)
    with (
        portal_server(tmp_path, workers=1) as server,
        celery_worker(tmp_path, extra_env=hold.env) as worker,
    ):
        file_id = upload_one(server, clinic, data)
        wait_until_paused(worker, file_id)
        [child] = worker.child_pids()
        os.kill(child, signal.SIGKILL)
        hold.release()  # the child died while the work was held; the next run goes on
        wait_for(
            lambda: File.objects.filter(pk=file_id, state="ready", temp_key="").exists(),
            timeout=45,
            message=f"the file never became ready after the kill:\n{worker.log()}",
        )
        assert "signal 9 (SIGKILL)" in worker.log()
        check_the_one_outcome(server, clinic, s3_bucket, file_id, data)


def test_whole_worker_killed_mid_processing_is_finished_by_the_next(tmp_path, s3_bucket, clinic):
    """GIVEN a worker half-way through processing a photo
    WHEN the worker and its pool child are killed with SIGKILL (a lost machine)
    THEN the file stays unfinished, and once a new worker starts, the unacknowledged
    task passes the visibility timeout and is redelivered, and the file ends ready
    exactly once with no duplicate facet."""
    data = photo(2)
    with portal_server(tmp_path, workers=1) as server:
        with celery_worker(tmp_path, extra_env={"FILES_PROCESSING_PAUSE_SECONDS": "60"}) as lost:
            file_id = upload_one(server, clinic, data)
            wait_until_paused(lost, file_id)
            children = lost.child_pids()
            lost.process.send_signal(signal.SIGKILL)
            for child in children:
                os.kill(child, signal.SIGKILL)
            lost.process.wait(timeout=10)
        assert File.objects.get(pk=file_id).state == File.State.PROCESSING

        with celery_worker(tmp_path, extra_env=QUICK_RESTORE) as worker:
            wait_for(
                lambda: File.objects.filter(pk=file_id, state="ready", temp_key="").exists(),
                timeout=45,
                message=f"the next worker never finished the file:\n{worker.log()}",
            )
        check_the_one_outcome(server, clinic, s3_bucket, file_id, data)
