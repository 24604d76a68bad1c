"""Poison images end ``ready`` or ``rejected``, never stuck.

A 65600x1 PNG (300 bytes) made the thumbnail encoder raise OSError, which the task took
for a storage fault: 8 retries, then the stale sweep queued it again every 5 minutes,
forever. Now: renditions are cropped to their box; a side past JPEG's 65,500 is refused
from the header; any decoder or encoder error is a rejection with a reason; a file begun
``FILES_PROCESSING_MAX_ATTEMPTS`` times without finishing is rejected, by the next run or
by the sweep. The heaviest cases also run in a child process under a memory cap
(RLIMIT_AS) and a hard timeout: they must finish, however long they take.
"""

from __future__ import annotations

import datetime as dt
import io
import resource
import subprocess
import sys

import pytest
from django.core.files.storage import default_storage
from django.test import override_settings
from django.utils import timezone

from files.models import Facet, File
from files.pipeline.sweeps import stale_upload_sweep
from files.services import file_create_from_stream
from portal.audit.services import Actor
from portal.webhooks.models import Event
from tests.files import poison, samples
from tests.support.worker import BASE_DIR, worker_env

THUMBNAIL_BOX = (320, 320)
# The child's address space: the interpreter with Django, psycopg and boto3 takes about
# 300 MB of it; the old code needed 1.6 GB for the 1x60,000,000 PNG alone.
CHILD_ADDRESS_SPACE = 1024 * 1024 * 1024
CHILD_HARD_TIMEOUT_SECONDS = 300


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(poison.CORPUS))
def test_pathological_image_ends_ready_or_rejected(upload, process, name):
    """GIVEN a pathological image (extreme ratio, one-pixel side, odd palette, truncated,
    10,000-frame APNG, CMYK, 16-bit, grey+alpha, interlaced, bomb, odd HEIC) WHEN the
    processing task's function runs THEN it returns (nothing raised, so nothing retried)
    with the file ready and its thumbnail inside the box, or rejected with a reason."""
    filename, declared, make = poison.CORPUS[name]
    file = process(
        upload(make(), name=filename, declared=declared, purpose=poison.purpose_of(declared))
    )

    assert file.state in (File.State.READY, File.State.REJECTED)
    if file.state == File.State.REJECTED:
        assert len(file.rejection_reason) > 20 and file.rejection_reason.endswith("."), (
            file.rejection_reason
        )
        assert not file.facets.exists()
        return
    if file.mime_type == poison.PDF:
        return
    thumbnail = file.facets.get(name=Facet.THUMBNAIL)
    assert thumbnail.width <= THUMBNAIL_BOX[0] and thumbnail.height <= THUMBNAIL_BOX[1]
    assert default_storage.exists(thumbnail.storage_key)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "size,expected",
    [((800, 600), (320, 320)), ((200, 100), (200, 100)), ((60_000, 30), (320, 30))],
)
def test_thumbnail_is_cropped_to_its_box(upload, process, size, expected):
    """GIVEN a photo WHEN processed THEN the thumbnail is aspect-filled and cropped to at
    most 320x320 (never upscaled), whatever the photo's shape."""
    file = process(
        upload(poison.encoded(poison.Image.new("RGB", size, "red"), "PNG"), name="a.png")
    )
    thumbnail = file.facets.get(name=Facet.THUMBNAIL)
    assert (thumbnail.width, thumbnail.height) == expected


@pytest.mark.django_db
def test_a_file_begun_too_often_is_rejected_without_another_try(upload, process, settings):
    """GIVEN a file whose processing was begun FILES_PROCESSING_MAX_ATTEMPTS times and never
    finished (its worker killed each time) WHEN the task runs again (the broker redelivers)
    THEN it is rejected with a reason, nothing stored, the temporary object removed."""
    file = upload(samples.jpeg((64, 48)))
    temp_key = file.temp_key
    File.objects.filter(pk=file.pk).update(
        state=File.State.PROCESSING, processing_attempts=settings.FILES_PROCESSING_MAX_ATTEMPTS
    )
    file = process(file)
    assert file.state == File.State.REJECTED
    assert "could not be processed" in file.rejection_reason
    assert not file.facets.exists()
    assert not default_storage.exists(temp_key)


@pytest.mark.django_db
@pytest.mark.parametrize("attempts,ends", [(0, "requeued"), (2, "requeued"), (3, "rejected")])
def test_stale_sweep_gives_up_after_the_bounded_attempts(
    upload, django_capture_on_commit_callbacks, attempts, ends
):
    """GIVEN a file stuck in processing long past the requeue time WHEN the stale sweep runs
    THEN it is queued again while under FILES_PROCESSING_MAX_ATTEMPTS (3) unfinished
    attempts, and rejected with a reason (not queued) once it reaches them."""
    file = upload(samples.jpeg((64, 48)))
    File.objects.filter(pk=file.pk).update(
        state=File.State.PROCESSING,
        processing_attempts=attempts,
        created_at=timezone.now() - dt.timedelta(hours=2),
    )
    with (
        override_settings(FILES_PROCESSING_MAX_ATTEMPTS=3),
        django_capture_on_commit_callbacks(execute=False),
    ):
        counts = stale_upload_sweep()
    file.refresh_from_db()
    if ends == "requeued":
        assert counts["requeued"] == 1 and file.state != File.State.REJECTED
        return
    assert counts["requeued"] == 0 and counts["given_up"] == 1
    assert file.state == File.State.REJECTED and "3 attempts" in file.rejection_reason
    assert Event.objects.filter(type="file.rejected", payload__data__fileId=str(file.id)).exists()


CHILD = """
import resource, sys
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import django
django.setup()
from files.pipeline.processing import file_process
file = file_process(file_id=sys.argv[1])
print("OUTCOME", file.state, file.rejection_reason)
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", poison.HEAVY)
def test_heavy_image_finishes_under_a_memory_cap(account, patient, name):
    """GIVEN one of the heaviest pathological images, committed as a pending file
    WHEN the processing function runs in a child process limited to 1 GiB of address space
    and a hard timeout THEN the child finishes cleanly and the file is ready or rejected.
    (Whether it finishes, never how fast.)"""
    filename, declared, make = poison.CORPUS[name]
    file = file_create_from_stream(
        account=account,
        patient=patient,
        purpose=poison.purpose_of(declared),
        original_name=filename,
        declared_type=declared,
        stream=io.BytesIO(make()),
        uploaded_by=Actor.system(),
    )
    env = worker_env({"DJANGO_SETTINGS_MODULE": "config.settings"})
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(file.pk), str(CHILD_ADDRESS_SPACE)],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=CHILD_HARD_TIMEOUT_SECONDS,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    file.refresh_from_db()
    assert file.state in (File.State.READY, File.State.REJECTED), child.stdout
    assert f"OUTCOME {file.state}" in child.stdout


def test_the_memory_cap_is_real():
    """The harness's own check: the cap does stop a child that asks for more."""
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import resource; cap = {CHILD_ADDRESS_SPACE}; "
            "resource.setrlimit(resource.RLIMIT_AS, (cap, cap)); bytearray(2 * cap)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode != 0 and "MemoryError" in child.stderr
    assert resource.RLIMIT_AS  # the platform has the limit


def test_worker_children_are_replaced_past_the_memory_bound(settings):
    """GIVEN the settings WHEN Celery reads its configuration THEN a pool child is replaced
    once its resident memory passes CELERY_WORKER_MAX_MEMORY_PER_CHILD (512 MiB)."""
    from config.celery import app

    assert settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD == 512 * 1024
    assert app.conf.worker_max_memory_per_child == settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD
