"""``imageSize`` renditions (issue 13, finding 12): sizes snapped to a few boxes, made by
the worker (the web process never decodes an image), counted in the account's usage.

What ``imageSize=WxH`` answers (seed 001): each side is rounded up to the next of
``RENDITION_SIDES``, and the image is aspect-filled to that box, so neither side is
smaller than asked, unless that would upscale the original, which then comes back as it
is. Never more than 4096 on a side.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from PIL import Image

from files import rendering
from files.models import Facet, File
from files.quota import trial_usage
from files.renditions import facet_rendition_render, rendition_for
from portal.accounts.models import Account
from tests.files import samples
from tests.support.worker import celery_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def photo(upload, process):
    """A ready 800x600 photo."""
    file = process(upload(samples.jpeg((800, 600))))
    assert file.state == File.State.READY
    return file


@pytest.fixture
def no_wait(settings):
    settings.FILES_RENDITION_WAIT_SECONDS = 0


def download(api, file, size: str):
    return api.get(f"/api/v1/files/{file.id}", {"imageSize": size})


@pytest.mark.parametrize(
    "requested,box,answer",
    [
        ((200, 140), (256, 192), (256, 192)),  # seed 001's example
        ((1, 1), (32, 32), (43, 32)),
        ((256, 192), (256, 192), (256, 192)),  # a box itself is not moved
        ((257, 193), (384, 256), (384, 288)),
        ((100, 300), (128, 384), (512, 384)),
        ((30, 700), (32, 768), (800, 600)),  # would upscale: the original
        ((4000, 4000), (4096, 4096), (800, 600)),
        ((4096, 1), (4096, 32), (800, 600)),
    ],
)
def test_requested_size_snaps_to_the_nearest_box_not_smaller(requested, box, answer):
    """GIVEN an 800x600 image and a requested size WHEN snapped THEN the box is the next
    rung up on each side, and the answer is its aspect-fill: never smaller than asked on
    either side, or the original when that would mean upscaling."""
    assert rendering.snap_image_size(*requested) == box
    assert rendering.rendition_size(800, 600, *box) == answer
    assert answer == (800, 600) or (answer[0] >= requested[0] and answer[1] >= requested[1])


def test_any_number_of_requested_sizes_makes_a_few_renditions(photo):
    """GIVEN every size from 1x1 to 300x300 in steps of 7 WHEN their renditions are named
    THEN at most two per rung exist (the binding side is the width or the height)."""
    names = {
        rendition_for(file=photo, width=w, height=h)[0]
        for w in range(1, 301, 7)
        for h in range(1, 301, 7)
    }
    assert len(names) <= 2 * len(rendering.RENDITION_SIDES)
    assert len(names) < 20, sorted(names, key=str)


def test_the_web_process_only_asks_the_worker(
    api, photo, no_wait, django_capture_on_commit_callbacks
):
    """GIVEN a ready photo WHEN a new size is asked for THEN the answer is 409 not_ready with
    Retry-After, a pending facet holds the place and one task is queued; asking again while
    it is pending queues nothing more; nothing is decoded or stored by the web process."""
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = download(api, photo, "200x140")
        again = download(api, photo, "210x150")  # snaps to the same box
    assert first.status_code == 409 and again.status_code == 409
    assert first.json()["code"] == "not_ready" and first["Retry-After"] == "5"
    assert len(queued) == 1
    facet = photo.facets.get(name="rendition:256x192")
    assert (facet.state, facet.storage_key, facet.size) == (Facet.State.PENDING, "", None)


def test_a_lost_ask_is_asked_again(
    api, photo, no_wait, settings, django_capture_on_commit_callbacks
):
    """GIVEN a rendition asked for longer ago than FILES_RENDITION_REQUEUE_SECONDS and
    still pending (its message lost) WHEN asked again THEN the task is queued again once."""
    Facet.objects.create(
        file=photo,
        name="rendition:256x192",
        state=Facet.State.PENDING,
        created_at=timezone.now()
        - dt.timedelta(seconds=settings.FILES_RENDITION_REQUEUE_SECONDS + 1),
    )
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert download(api, photo, "200x140").status_code == 409
        assert download(api, photo, "200x140").status_code == 409
    assert len(queued) == 1


def test_a_rendition_the_worker_could_not_make_answers_the_original(api, photo, no_wait):
    """GIVEN a rendition the worker marked failed WHEN asked for THEN the original is the
    answer (a valid aspect-fill answer), not an error."""
    Facet.objects.create(file=photo, name="rendition:256x192", state=Facet.State.FAILED)
    response = download(api, photo, "200x140")
    assert response.status_code == 200
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (800, 600)


def test_the_worker_makes_it_once(api, photo, no_wait):
    """GIVEN the worker's task WHEN it runs twice for one box THEN one stored facet, served
    afterwards with its own size."""
    first = facet_rendition_render(file_id=photo.pk, box_w=256, box_h=192)
    second = facet_rendition_render(file_id=photo.pk, box_w=256, box_h=192)
    assert first.pk == second.pk and (first.width, first.height) == (256, 192)
    response = download(api, photo, "200x140")
    assert response.status_code == 200 and response["ETag"] == f'"{first.sha256}"'


@pytest.mark.parametrize("box", [(200, 140), (5000, 10), (0, 32)])
def test_the_worker_only_makes_boxes_the_portal_hands_out(photo, box):
    """GIVEN a task for a size that is not a snapped box (a forged message) WHEN it runs
    THEN nothing is made."""
    assert facet_rendition_render(file_id=photo.pk, box_w=box[0], box_h=box[1]) is None
    assert not photo.facets.filter(name__startswith="rendition:").exists()


def test_rendition_bytes_count_in_the_trial_usage(account, photo):
    """GIVEN a trial account with a photo WHEN a rendition is made THEN the account's usage
    grows by the rendition's bytes."""
    Account.objects.filter(pk=account.pk).update(plan=Account.Plan.TRIAL)
    account.refresh_from_db()
    before = trial_usage(account=account).bytes
    facet = facet_rendition_render(file_id=photo.pk, box_w=512, box_h=384)
    assert trial_usage(account=account).bytes == before + facet.size > before


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_one_request_gets_the_rendition_from_a_real_worker(tmp_path, api, process_committed):
    """GIVEN a real worker WHEN a new size is asked for once THEN the request waits for the
    worker and answers 200 with the rendition."""
    file = process_committed(samples.jpeg((800, 600)))
    with celery_worker(tmp_path) as worker:
        response = download(api, file, "200x140")
        assert response.status_code == 200, (response.content[:300], worker.log()[-2000:])
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (256, 192)
