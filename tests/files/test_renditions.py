"""``imageSize`` renditions: the exact aspect fill of the size asked (seed 001), made by the
worker from the nearest kept rendition, counted in the account's usage.

Seed 001: "The server does not perform cropping ... The image is resized using aspect fill
scaling, so that neither the width nor height of the returned image is smaller than the
requested dimensions (unless the resultant size is *larger* than the original image size,
in which case the original image size is returned)." So the answer is the whole picture,
scaled so that one side equals the box and the other is not smaller, or the original.

The worker keeps a ladder of sizes (the short side on one of ``RENDITION_SIDES``) made from
the original; an exact answer is made from the smallest kept size not smaller than it, so
the original is decoded once per kept size, never per size asked. The web process decodes
nothing: it serves a kept facet or asks the worker (409 with ``Retry-After`` meanwhile).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
from fractions import Fraction

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image, ImageChops, ImageOps, ImageStat

from config.celery import app as celery_app
from files.models import Facet
from files.pipeline import rendering
from files.pipeline.renditions import facet_rendition_render, rendition_name_for
from files.quota import trial_usage
from portal.accounts.models import Account
from tests.factories import FacetFactory, FileFactory
from tests.files import samples
from tests.files.conftest import stored_keys
from tests.support.worker import celery_worker

pytestmark = pytest.mark.django_db

ORIENTATION_TAG = 0x0112
# The stored pixels that, shown with EXIF orientation N, look like the upright picture.
STORED_FOR_ORIENTATION = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}
# Mean difference per channel (0-255) allowed between what the client receives and the
# whole upright picture scaled to that size: JPEG noise and two resampling steps. A crop,
# a shift or a turn of the picture is far above it (the picture is two gradients).
CONTENT_TOLERANCE = 8
# Under 16 pixels a side, JPEG's colour blocks span the whole image and its colours bleed
# into the brightness; a turned or shifted picture is still off by more than 30.
TINY_CONTENT_TOLERANCE = 16


def picture(width: int, height: int) -> Image.Image:
    """Red grows left to right, green top to bottom: any crop, shift or turn shows."""
    horizontal = Image.linear_gradient("L").transpose(Image.Transpose.TRANSPOSE)
    red = horizontal.resize((width, height), Image.Resampling.BILINEAR)
    green = Image.linear_gradient("L").resize((width, height), Image.Resampling.BILINEAR)
    blue = Image.new("L", (width, height), 90)
    return Image.merge("RGB", (red, green, blue))


def encoded(upright: Image.Image, orientation: int | None = None) -> bytes:
    """``upright`` as a camera would store it with EXIF ``orientation``."""
    stored = upright
    exif = Image.Exif()
    if orientation:
        stored = upright.transpose(STORED_FOR_ORIENTATION[orientation])
        exif[ORIENTATION_TAG] = orientation
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


ORIGINALS = {
    # name: (upright width, height, EXIF orientation of the stored photo)
    "landscape": (1600, 1200, None),
    "portrait": (1200, 1600, None),
    "orientation-6": (1200, 1600, 6),  # stored 1600x1200, shown portrait
    "orientation-8": (1600, 1200, 8),  # stored 1200x1600, shown landscape
    "orientation-3": (1600, 1200, 3),  # stored upside down
    "odd-panorama": (9001, 397, None),  # its 1x300 fill is 6802 wide
}
BOXES = [
    "1x1",
    "200x140",  # seed 001's example
    "300x300",  # square
    "1x4000",  # extreme ratios
    "4000x1",
    "4096x1",
    "1x300",  # a panorama's tall box: its fill is far wider than the box, not cropped
    "4096x4096",  # larger than any original here
    "256x192",  # a kept size of the landscape photo (short side on the ladder)
    "192x256",  # ... and of the portrait one
    "1600x1200",  # the original's own size
    "1599x1199",  # one pixel short of it
    "333x77",  # odd sizes
    "77x333",
]


@functools.cache
def original_photo(original: str) -> tuple[Image.Image, bytes]:
    """The upright picture of ``ORIGINALS[original]`` and the photo a camera stored of it:
    made once, for the fourteen boxes asked of each (the tests only read them)."""
    width, height, orientation = ORIGINALS[original]
    upright = picture(width, height)
    return upright, encoded(upright, orientation)


def contract_size(original: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """Seed 001 in numbers: the picture scaled, aspect kept, so that neither side is below
    the box and one side equals it (the other rounded up, so never short); the original
    when that would be larger than it."""
    (src_w, src_h), (box_w, box_h) = original, box
    scale_w, scale_h = Fraction(box_w, src_w), Fraction(box_h, src_h)
    if max(scale_w, scale_h) >= 1:
        return original
    if scale_w >= scale_h:
        return box_w, min(src_h, math.ceil(src_h * scale_w))
    return min(src_w, math.ceil(src_w * scale_h)), box_h


@pytest.fixture
def no_wait(settings):
    settings.FILES_RENDITION_WAIT_SECONDS = 0


@pytest.fixture
def worker_in_process():
    """Tasks queued by a request run here, once its transaction commits, exactly as the
    worker would run them (Celery's eager mode: same task, same arguments)."""
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


@pytest.fixture
def photo(account, patient):
    """A ready 800x600 photo."""
    return FileFactory(
        account=account, patient=patient, content=samples.jpeg((800, 600)), ready=True
    )


def download(api, file, size: str):
    return api.get(f"/api/v1/files/{file.id}", {"imageSize": size})


def received(api, file, size: str, capture) -> tuple[Image.Image, object]:
    """What a client gets for ``imageSize=size``: asked once (the worker is asked for a size
    not made yet, 409 meanwhile), and again once the worker has run."""
    with capture(execute=True):
        response = download(api, file, size)
    if response.status_code == 409:
        assert response.json()["code"] == "not_ready" and response["Retry-After"]
        response = download(api, file, size)
    assert response.status_code == 200, response.content[:300]
    # Shown as every browser shows it: a photo served as it was sent keeps its EXIF
    # orientation (files.pipeline.cleaning); renditions are upright pixels with no EXIF.
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(b"".join(response.streaming_content))))
    return image, response


def assert_whole_picture(image: Image.Image, upright: Image.Image) -> None:
    """``image`` is all of ``upright`` scaled to its size: nothing cropped, shifted or turned.
    Compared on brightness, and colour by colour once JPEG's colour blocks (its chroma is
    kept at half resolution) are small beside the image."""
    expected = upright.resize(image.size, Image.Resampling.LANCZOS)
    tiny = min(image.size) < 16
    for mode in ["L"] if tiny else ["L", "RGB"]:
        difference = ImageChops.difference(image.convert(mode), expected.convert(mode))
        mean = ImageStat.Stat(difference).mean
        assert max(mean) <= (TINY_CONTENT_TOLERANCE if tiny else CONTENT_TOLERANCE), (
            image.size,
            mode,
            mean,
        )


# --- what a client receives -------------------------------------------------------------


@pytest.mark.parametrize("box", BOXES)
@pytest.mark.parametrize("original", list(ORIGINALS))
def test_the_client_receives_the_exact_aspect_fill_of_the_size_asked(
    api, upload, process, no_wait, worker_in_process, django_capture_on_commit_callbacks,
    original, box,
):  # fmt: skip
    """GIVEN a ready photo (landscape, portrait, EXIF-rotated, an odd panorama) WHEN a client
    asks for imageSize=WxH THEN the image it decodes is exactly the aspect fill of WxH (one
    side equal to the box, the other not smaller) or the original when that would be
    larger, and it is the whole picture, upright, scaled: never a crop."""
    width, height, _orientation = ORIGINALS[original]
    upright, photo = original_photo(original)
    file = process(upload(photo))
    assert (file.width, file.height) == (width, height)
    box_w, box_h = rendering.parse_image_size(box)

    image, _ = received(api, file, box, django_capture_on_commit_callbacks)

    expected = contract_size((width, height), (box_w, box_h))
    assert image.size == expected
    if expected != (width, height):
        assert image.width >= box_w and image.height >= box_h
        assert box_w in image.size or box_h in image.size
    assert_whole_picture(image, upright)


@pytest.mark.parametrize(
    "original,box,answer",
    [
        ((1600, 1200), (200, 140), (200, 150)),  # the snapped answer was 256x192
        ((1600, 1200), (1, 1), (2, 1)),  # ... and 43x32
        ((4032, 3024), (200, 140), (200, 150)),  # a phone photo, the serving benchmark's
        ((3024, 4032), (200, 140), (200, 267)),
        ((1600, 1200), (320, 320), (427, 320)),  # the listing thumbnail's box
        ((9000, 300), (32, 200), (6000, 200)),  # not cropped to 4096 wide
        ((800, 600), (4000, 4000), (800, 600)),  # never larger than the original
    ],
)
def test_image_size_answer_is_the_aspect_fill_of_the_box_itself(original, box, answer):
    """GIVEN an image size and a box WHEN the answer to imageSize is worked out THEN it is
    the aspect fill of that box, not of a box rounded up to a kept size."""
    assert rendering.image_size_answer(*original, *box) == answer
    assert answer == contract_size(original, box)


def test_the_web_process_only_asks_the_worker(
    api, photo, no_wait, django_capture_on_commit_callbacks
):
    """GIVEN a ready photo WHEN a new size is asked for THEN the answer is 409 not_ready with
    Retry-After, a pending facet holds the place and one task is queued; asking again for a
    box with the same answer queues nothing more; nothing is decoded or stored by the web
    process."""
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = download(api, photo, "200x140")
        again = download(api, photo, "200x150")  # the same answer: 200x150
    assert first.status_code == 409 and again.status_code == 409
    assert first.json()["code"] == "not_ready" and first["Retry-After"] == "5"
    assert len(queued) == 1
    facet = photo.facets.get(name="rendition:200x150")
    assert (facet.state, facet.storage_key, facet.size) == (Facet.State.PENDING, "", None)
    assert not photo.facets.filter(name__startswith="rendition:").exclude(pk=facet.pk).exists()


def test_the_answer_is_made_from_the_kept_rendition_without_the_original(
    api, upload, process, no_wait, worker_in_process, django_capture_on_commit_callbacks
):
    """GIVEN a photo whose kept 256x192 rendition is made, and then its original's stored
    object gone WHEN sizes whose nearest kept size is 256x192 are asked for THEN each is
    answered at its exact size, the whole picture: made from the kept rendition, the
    original never read."""
    upright = picture(1600, 1200)
    file = process(upload(encoded(upright)))
    image, _ = received(api, file, "256x192", django_capture_on_commit_callbacks)
    assert image.size == (256, 192)
    content = file.facets.get(name=Facet.CONTENT)
    default_storage.delete(content.storage_key)
    assert not default_storage.exists(content.storage_key)

    for box, answer in (("200x140", (200, 150)), ("250x10", (250, 188)), ("255x100", (255, 192))):
        image, _ = received(api, file, box, django_capture_on_commit_callbacks)
        assert image.size == answer, box
        assert_whole_picture(image, upright)
    assert api.get(f"/api/v1/files/{file.id}").status_code == 410  # the original is gone


def test_the_worker_keeps_the_ladder_size_and_the_exact_answer(
    api, photo, no_wait, worker_in_process, django_capture_on_commit_callbacks
):
    """GIVEN an 800x600 photo WHEN 200x140 is asked for THEN the worker keeps the ladder size
    it was made from (256x192) and the answer (200x150), once each; asked again, the kept
    answer is served as it is (the same bytes, no new facet)."""
    _, first = received(api, photo, "200x140", django_capture_on_commit_callbacks)
    names = set(photo.facets.filter(name__startswith="rendition:").values_list("name", flat=True))
    assert names == {"rendition:256x192", "rendition:200x150"}
    again = download(api, photo, "200x140")
    assert again.status_code == 200 and again["ETag"] == first["ETag"]
    assert photo.facets.filter(name__startswith="rendition:").count() == 2


def test_a_lost_ask_is_asked_again(
    api, photo, no_wait, settings, django_capture_on_commit_callbacks
):
    """GIVEN a rendition asked for longer ago than FILES_RENDITION_REQUEUE_SECONDS and
    still pending (its message lost) WHEN asked again THEN the task is queued again once."""
    FacetFactory(
        file=photo,
        name="rendition:200x150",
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
    FacetFactory(file=photo, name="rendition:200x150", failed=True)
    response = download(api, photo, "200x140")
    assert response.status_code == 200
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (800, 600)


def test_the_worker_makes_it_once(api, photo, no_wait):
    """GIVEN the worker's task WHEN it runs twice for one size THEN one stored facet, served
    afterwards with its own size."""
    first = facet_rendition_render(file_id=photo.pk, width=200, height=140)
    second = facet_rendition_render(file_id=photo.pk, width=200, height=140)
    assert first.pk == second.pk and (first.width, first.height) == (200, 150)
    response = download(api, photo, "200x140")
    assert response.status_code == 200 and response["ETag"] == f'"{first.sha256}"'


@pytest.mark.parametrize("box", [(5000, 10), (0, 32), (32, -1), (4097, 4097)])
def test_the_worker_only_makes_sizes_a_client_may_ask(photo, box):
    """GIVEN a task for a size no imageSize can name (a forged message) WHEN it runs
    THEN nothing is made."""
    assert facet_rendition_render(file_id=photo.pk, width=box[0], height=box[1]) is None
    assert not photo.facets.filter(name__startswith="rendition:").exists()


def test_exact_sizes_kept_per_file_are_bounded(
    api, photo, no_wait, settings, worker_in_process, django_capture_on_commit_callbacks
):
    """GIVEN a cap of 3 exact sizes kept per file WHEN a client asks for 6 different sizes
    THEN each answer is exact, but the file keeps its ladder sizes and only the 3 latest
    exact ones (facets and stored objects): asking for every width cannot pile up storage.
    An exact size dropped is made again when asked."""
    settings.FILES_RENDITION_EXACT_SIZES_KEPT = 3
    widths = (200, 201, 202, 203, 204, 205)
    for width in widths:
        image, _ = received(api, photo, f"{width}x1", django_capture_on_commit_callbacks)
        assert image.size == contract_size((800, 600), (width, 1))
    names = set(photo.facets.filter(name__startswith="rendition:").values_list("name", flat=True))
    exact = {rendition_name_for(800, 600, width, 1) for width in widths}
    assert names == {"rendition:256x192"} | set(sorted(exact)[-3:])
    stored = stored_keys(photo.permanent_prefix)
    assert len(stored) == 2 + len(names), stored  # content, thumbnail and these
    image, _ = received(api, photo, "200x1", django_capture_on_commit_callbacks)
    assert image.size == (200, 150)


def test_rendition_bytes_count_in_the_trial_usage(account, photo):
    """GIVEN a trial account with a photo WHEN a rendition is made THEN the account's usage
    grows by the bytes of the renditions kept (the ladder size and the answer)."""
    Account.objects.filter(pk=account.pk).update(plan=Account.Plan.TRIAL)
    account.refresh_from_db()
    before = trial_usage(account=account).bytes
    facet = facet_rendition_render(file_id=photo.pk, width=500, height=300)
    kept = sum(f.size for f in photo.facets.filter(name__startswith="rendition:"))
    assert kept > facet.size > 0
    assert trial_usage(account=account).bytes == before + kept


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_one_request_gets_the_rendition_from_a_real_worker(tmp_path, api, process_committed):
    """GIVEN a real worker WHEN a new size is asked for once THEN the request waits for the
    worker and answers 200 with the exact aspect fill."""
    file = process_committed(samples.jpeg((800, 600)))
    with celery_worker(tmp_path) as worker:
        response = download(api, file, "200x140")
        assert response.status_code == 200, (response.content[:300], worker.log()[-2000:])
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (200, 150)
