"""Decompression bombs against a real Celery worker: each ends rejected with a reason,
in bounded time, while the pool process stays small; the operating system holds the pool
process to its memory limit, which still lets a 50 MP photo through and stops a decoder
that the header checks were set to let pass."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from PIL import Image

from files.models import Facet, File
from tests.factories import FileRequestFactory
from tests.filerequests.test_filerequests_patient_status import DOB, send, verified_client
from tests.files import bombs
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MIB = 1024 * 1024
DEFAULT_LIMIT = 1536 * MIB
TOO_MANY_PER_BYTE = re.compile(
    r"The image claims \d+x\d+ pixels from only \d+ KB of data, far more than any photo "
    r"or scan of that size holds, so it is not accepted\."
)


def pool_process(worker) -> int:
    return wait_for(lambda: (worker.child_pids() or [None])[0], message="no pool process")


UNLIMITED = (-1, -1)


def pool_data_limit(worker) -> tuple[int, int]:
    """The pool process's data limit, once its start-up has set one. A pool process sets it
    before its first task (``worker_process_init``), but can be seen before that, just
    forked, with its parent's: none."""
    pid = pool_process(worker)
    return wait_for(
        lambda: (limit := data_limit(pid)) != UNLIMITED and limit,
        message=f"the pool process {pid} set no data limit",
    )


def data_limit(pid: int) -> tuple[int, int]:
    """The soft and hard RLIMIT_DATA of a process, as /proc shows them."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max data size"):
            soft, hard = line.split()[3:5]
            return tuple(-1 if value == "unlimited" else int(value) for value in (soft, hard))
    raise AssertionError("no data limit line")


def peak_resident(pid: int) -> int:
    """The most memory the process has had resident (VmHWM), in bytes."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) * 1024


def xon_upload(api, patient, files: list[tuple[str, str, bytes]]) -> list[str]:
    response = api.post(
        "/api/v1/files",
        {
            "files": [
                {"name": name, "type": kind, "contents": base64.b64encode(data).decode()}
                for name, kind, data in files
            ],
            "userId": str(patient.id),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return [answer["id"] for answer in response.json()]


def finished(file_ids, *, timeout: float, worker) -> list[File]:
    def all_final():
        files = list(File.objects.filter(pk__in=file_ids))
        done = [f for f in files if f.state in (File.State.READY, File.State.REJECTED)]
        return len(done) == len(file_ids) and files

    files = wait_for(all_final, timeout=timeout, message=f"not finished:\n{worker.log()[-3000:]}")
    return sorted(files, key=lambda file: file_ids.index(str(file.pk)))


@pytest.fixture
def patient_page(account, patient):
    patient.date_of_birth = DOB
    patient.save()
    return verified_client(FileRequestFactory(account=account, patient=patient))


def test_bombs_end_rejected_in_bounded_time_and_memory(tmp_path, api, patient, patient_page):
    """GIVEN a real worker WHEN a patient's page sends a 3 KB lossless WebP of 16383x3900,
    a 261 KB PNG of 7999x7999, a PNG over the 64 MP limit and a one-colour PNG of 53 MP,
    and an API client sends four of the WebPs in one 17 KB request THEN all eight end
    rejected with their reasons within 60 seconds, and the pool process that judged them
    is the same one, never more than 400 MB resident (decoding one took a gigabyte)."""
    with celery_worker(tmp_path) as worker:
        child = pool_process(worker)
        sent = [
            send(patient_page, "wide.webp", bombs.webp_lossless()),
            send(patient_page, "square.png", bombs.png_of_one_colour(7999, 7999)),
            send(patient_page, "huge.png", bombs.png_of_one_colour(8001, 8000)),
            send(patient_page, "phone.png", bombs.png_of_one_colour(7300, 7300)),
        ]
        sent += xon_upload(
            api, patient, [(f"IMG_{i}.webp", "image/webp", bombs.webp_lossless()) for i in range(4)]
        )
        files = finished(sent, timeout=60, worker=worker)
        assert worker.child_pids() == [child], "the pool process was replaced"
        assert peak_resident(child) < 400 * MIB

    reasons = [file.rejection_reason for file in files]
    assert {file.state for file in files} == {File.State.REJECTED}
    assert reasons[0] == (
        "The photo is too large (16383x3900 pixels): photos sent from a phone may have at "
        "most 51 megapixels."
    )
    assert reasons[1] == (
        "The photo is too large (7999x7999 pixels): photos sent from a phone may have at "
        "most 51 megapixels."
    )
    assert reasons[2] == "The image is too large: at most 64 megapixels are accepted."
    assert reasons[3] == (
        "The photo is too large (7300x7300 pixels): photos sent from a phone may have at "
        "most 51 megapixels."
    )
    assert all(TOO_MANY_PER_BYTE.fullmatch(reason) for reason in reasons[4:]), reasons[4:]
    shown = patient_page.get("/r/upload/status").json()["files"]
    assert {item["reason"] for item in shown} == {
        "This photo is too large. Please take it again or choose a smaller one."
    }


def photo_50_mp(image_format: str, **options) -> bytes:
    """A 8192x6144 photo-like picture: smooth noise over a gradient."""
    size = (8192, 6144)
    noise = Image.effect_noise((size[0] // 16, size[1] // 16), 50).resize(size)
    gradient = Image.linear_gradient("L").resize(size)
    picture = Image.merge(
        "RGB", (noise, gradient, noise.transpose(Image.Transpose.FLIP_TOP_BOTTOM))
    )
    out = io.BytesIO()
    picture.save(out, image_format, **options)
    return out.getvalue()


def test_a_50_megapixel_photo_is_processed_under_the_memory_limit(
    tmp_path, api, patient, patient_page
):
    """GIVEN a real worker with the default settings WHEN a patient sends a 50 MP JPEG
    (8192x6144, the largest phone photo) and an API client the same as a WebP (the most
    memory any accepted format takes to decode) THEN the pool process is held to 1.5 GiB
    of data memory by the operating system, and both photos are ready with thumbnails."""
    jpeg = photo_50_mp("JPEG", quality=88)
    webp = photo_50_mp("WEBP", quality=80, method=0)
    with celery_worker(tmp_path) as worker:
        assert pool_data_limit(worker) == (DEFAULT_LIMIT, DEFAULT_LIMIT)
        sent = [send(patient_page, "IMG_0001.jpg", jpeg)]
        sent += xon_upload(api, patient, [("IMG_0002.webp", "image/webp", webp)])
        files = finished(sent, timeout=180, worker=worker)
    for file in files:
        assert file.state == File.State.READY, file.rejection_reason
        assert (file.width, file.height) == (8192, 6144)
        assert file.facets.filter(name=Facet.THUMBNAIL, state=Facet.State.READY).exists()


def test_the_memory_limit_stops_a_decoder_the_header_checks_let_through(tmp_path, api, patient):
    """GIVEN a real worker whose pixels-per-byte check is set out of the way and whose pool
    process may have 700 MB of data memory WHEN the 3 KB WebP of 16383x3900 is sent THEN
    its decoding fails inside the limit and the file is rejected for the memory it needs
    (without the limit it took a gigabyte and was made ready)."""
    env = {"FILES_MAX_PIXELS_PER_BYTE": str(10**9), "FILES_WORKER_MEMORY_LIMIT_MB": "700"}
    with celery_worker(tmp_path, extra_env=env) as worker:
        assert pool_data_limit(worker) == (700 * MIB, 700 * MIB)
        sent = xon_upload(api, patient, [("wide.webp", "image/webp", bombs.webp_lossless())])
        (file,) = finished(sent, timeout=60, worker=worker)
    assert file.state == File.State.REJECTED
    assert file.rejection_reason == (
        "The image needs more memory to process than this server allows for one image."
    )
