"""A whole worker SIGKILLed (a lost machine) with the default settings: its file is
finished by another worker within about two minutes, found by the dead worker's silent
heartbeat, not after the hour-long Redis visibility timeout nor the 15-minute stale sweep.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from files.models import File
from portal.ops.models import WorkerHeartbeat
from tests.faults.conftest import photo
from tests.faults.test_worker_killed import check_the_one_outcome, upload_one, wait_until_paused
from tests.support.stack import portal_server
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_whole_worker_killed_is_recovered_by_its_heartbeat_with_default_settings(
    tmp_path, s3_bucket, clinic
):
    """GIVEN a worker half-way through a photo, and a second worker with beat running on
    the default settings (visibility timeout an hour, stale sweep after 15 minutes)
    WHEN the first worker and its pool child are killed with SIGKILL
    THEN its heartbeat goes silent, the dead-worker sweep queues the file again, and the
    second worker finishes it exactly once, well before either long timeout."""
    data = photo(7)
    with portal_server(tmp_path, workers=1) as server:
        with celery_worker(tmp_path, extra_env={"FILES_PROCESSING_PAUSE_SECONDS": "600"}) as lost:
            file_id = upload_one(server, clinic, data)
            wait_until_paused(lost, file_id)
            instance = File.objects.get(pk=file_id).processing_worker
            assert instance.startswith(f"{lost.name} #")
            assert WorkerHeartbeat.objects.filter(worker=instance).exists()
            children = lost.child_pids()
            lost.process.send_signal(signal.SIGKILL)
            for child in children:
                os.kill(child, signal.SIGKILL)
            killed_at = time.monotonic()
            lost.process.wait(timeout=10)
        assert File.objects.get(pk=file_id).state == File.State.PROCESSING

        with celery_worker(tmp_path, beat=True) as survivor:
            wait_for(
                lambda: File.objects.filter(pk=file_id, state="ready", temp_key="").exists(),
                timeout=180,
                interval=0.5,
                message=f"the dead worker's file was never finished:\n{survivor.log()}",
            )
            recovered_after = time.monotonic() - killed_at
        print(f"recovered {recovered_after:.0f} s after the whole-worker SIGKILL")
        check_the_one_outcome(server, clinic, s3_bucket, file_id, data)
        # The dead worker's heartbeat was handled once and removed.
        assert not WorkerHeartbeat.objects.filter(worker=instance).exists()
