"""The dead-worker sweep: which files are queued again when a worker's heartbeat stops.

Called as the beat task calls it; what it queues is read from the after-commit callbacks
(``file_enqueue_processing`` queues only on commit). The real SIGKILL is proved in
tests/faults/test_dead_worker_recovery.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from files.models import File
from files.pipeline.sweeps import dead_worker_requeue
from portal.ops.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db

NOW = timezone.now()
W1 = "w1@host #a1"  # a worker's own heartbeat row: its name and the instance id
DEAD_AFTER = 60


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


def a_file(account, patient, *, state, worker="", started=None, created=None) -> File:
    return File.objects.create(
        account=account,
        patient=patient,
        original_name="wound.jpg",
        max_size=1024,
        state=state,
        processing_worker=worker,
        processing_started_at=started,
        created_at=created or ago(5),
    )


# name: (heartbeat age of worker W1 or None for no row, the file, requeued?)
CASES = {
    "processing, its worker's heartbeat fresh": (
        10,
        {"state": "processing", "worker": W1, "started": ago(300)},
        False,
    ),
    "processing, heartbeat just inside the window": (
        DEAD_AFTER - 1,
        {"state": "processing", "worker": W1, "started": ago(300)},
        False,
    ),
    "processing, heartbeat silent past the window": (
        DEAD_AFTER + 1,
        {"state": "processing", "worker": W1, "started": ago(90)},
        True,
    ),
    "processing, heartbeat silent for an hour": (
        3600,
        {"state": "processing", "worker": W1, "started": ago(3600)},
        True,
    ),
    "processing, worker has no heartbeat row, begun long ago": (
        None,
        {"state": "processing", "worker": W1, "started": ago(DEAD_AFTER + 1)},
        True,
    ),
    "processing, worker has no heartbeat row, just begun": (
        None,
        {"state": "processing", "worker": W1, "started": ago(5)},
        False,
    ),
    "processing, no worker recorded (left to the stale sweep)": (
        3600,
        {"state": "processing", "worker": "", "started": ago(3600)},
        False,
    ),
    "pending and old, a worker died (its reserved message)": (
        DEAD_AFTER + 1,
        {"state": "pending", "created": ago(DEAD_AFTER + 1)},
        True,
    ),
    "pending and new, a worker died": (
        DEAD_AFTER + 1,
        {"state": "pending", "created": ago(5)},
        False,
    ),
    "pending and old, every worker alive": (
        10,
        {"state": "pending", "created": ago(DEAD_AFTER + 1)},
        False,
    ),
    "processing, worker restarted under the same name": (
        None,
        {"state": "processing", "worker": "w1@host #old", "started": ago(DEAD_AFTER + 1)},
        True,
    ),
    "ready, its worker dead": (
        3600,
        {"state": "ready", "worker": W1, "started": ago(3600)},
        False,
    ),
    "rejected, its worker dead": (
        3600,
        {"state": "rejected", "worker": W1, "started": ago(3600)},
        False,
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_dead_worker_files_are_queued_again(
    case, settings, account, patient, django_capture_on_commit_callbacks
):
    """GIVEN a worker's heartbeat of some age and a file in some state WHEN the sweep runs
    THEN exactly the files of a worker silent past OPS_WORKER_DEAD_AFTER_SECONDS (and the
    old pending files it may have reserved) are queued again."""
    settings.OPS_WORKER_DEAD_AFTER_SECONDS = DEAD_AFTER
    heartbeat_age, file_options, requeued = CASES[case]
    if heartbeat_age is not None:
        WorkerHeartbeat.objects.create(worker=W1, seen_at=ago(heartbeat_age))
    WorkerHeartbeat.objects.create(worker="alive@host #b2", seen_at=ago(1))
    a_file(account, patient, **file_options)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        counts = dead_worker_requeue(now=NOW)
    assert (counts["requeued"], len(queued)) == ((1, 1) if requeued else (0, 0))


def test_a_dead_worker_is_handled_once(
    settings, account, patient, django_capture_on_commit_callbacks
):
    """GIVEN a dead worker with a file WHEN the sweep runs twice THEN the file is queued once
    and the dead worker's heartbeat row is gone; a live worker's row stays."""
    settings.OPS_WORKER_DEAD_AFTER_SECONDS = DEAD_AFTER
    WorkerHeartbeat.objects.create(worker=W1, seen_at=ago(DEAD_AFTER + 5))
    WorkerHeartbeat.objects.create(worker="alive@host #b2", seen_at=ago(1))
    a_file(account, patient, state="processing", worker=W1, started=ago(DEAD_AFTER + 5))
    with django_capture_on_commit_callbacks(execute=False) as first:
        assert dead_worker_requeue(now=NOW) == {"dead_workers": 1, "requeued": 1}
    with django_capture_on_commit_callbacks(execute=False) as second:
        assert dead_worker_requeue(now=NOW) == {"dead_workers": 0, "requeued": 0}
    assert (len(first), len(second)) == (1, 0)
    assert list(WorkerHeartbeat.objects.values_list("worker", flat=True)) == ["alive@host #b2"]
    assert File.objects.get().state == File.State.PENDING


def test_the_beat_schedule_runs_the_sweep_often_enough(settings):
    """GIVEN the default settings THEN the sweep runs at least every 30 s and a worker is
    dead after 60 s of silence: a lost worker's files wait at most about two minutes."""
    entry = settings.CELERY_BEAT_SCHEDULE["files-dead-worker-requeue"]
    assert entry["task"] == "files.dead_worker_requeue"
    assert entry["schedule"] + settings.OPS_WORKER_DEAD_AFTER_SECONDS <= 120
    assert settings.OPS_WORKER_DEAD_AFTER_SECONDS >= 3 * settings.OPS_WORKER_HEARTBEAT_SECONDS


def test_plain_name_rows_of_the_queued_heartbeat_task_are_not_taken_for_dead(
    settings, account, patient, django_capture_on_commit_callbacks
):
    """GIVEN an old row of the beat-queued ops.heartbeat task (a plain name, written by
    whichever worker took the task) and an old pending file WHEN the sweep runs THEN no
    worker is taken for dead and nothing is queued."""
    settings.OPS_WORKER_DEAD_AFTER_SECONDS = DEAD_AFTER
    WorkerHeartbeat.objects.create(worker="w1@host", seen_at=ago(3600))
    a_file(account, patient, state="pending", created=ago(3600))
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert dead_worker_requeue(now=NOW) == {"dead_workers": 0, "requeued": 0}
    assert queued == []
