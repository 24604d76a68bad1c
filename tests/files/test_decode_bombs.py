"""Images that cost far more to decode than their size says are refused from their
header, before a pixel is decoded, at every door: a lossless WebP of 16383x3900 in
3 KB, a PNG of 7999x7999 in 268 KB, a PNG over the pixel limit, and a photo larger than
any phone takes sent through a patient's link. A patient link and an API key each have
an hourly budget of decoded pixels; past it, further images are refused with a reason.
Each limit is pinned at its boundary. (A real worker, its memory limit and its bounds in
time and memory: test_decode_bombs_worker.py.)"""

from __future__ import annotations

import datetime as dt
import io
import math
import time
import zlib

import pytest
from django.utils import timezone
from PIL import Image

from files.models import File
from files.pipeline.processing import file_process
from files.services import file_create_from_stream
from portal.audit.services import Actor
from tests.factories import FileRequestFactory
from tests.files import bombs, samples

pytestmark = pytest.mark.django_db

WEBP_BOMB = (
    "The image claims 16383x3900 pixels from only 3 KB of data, far more than any photo "
    "or scan of that size holds, so it is not accepted."
)
PNG_BOMB = (
    "The image claims 7999x7999 pixels from only 261 KB of data, far more than any photo "
    "or scan of that size holds, so it is not accepted."
)
OVER_64_MP = "The image is too large: at most 64 megapixels are accepted."
PHONE_LIMIT = (
    "The photo is too large ({size} pixels): photos sent from a phone may have at most "
    "{limit} megapixels."
)
LINK_BUDGET = (
    "Too many photos have been processed for this request in the last hour. "
    "Send this photo again in an hour, or call the clinic."
)


@pytest.fixture
def file_request(account, patient):
    return FileRequestFactory(account=account, patient=patient)


@pytest.fixture
def send(account, patient, file_request, api_key, staff):
    """Create a pending file as one door does: a patient's link, an API key or staff."""

    def make(data: bytes, *, door: str, name="photo.png", declared="image/png", link=None):
        link = link or file_request
        sender, request = {
            "patient link": (Actor.for_patient_link(link.pk), link),
            "API key": (api_key.api_key, None),
            "staff": (staff, None),
        }[door]
        return file_create_from_stream(
            account=account,
            patient=patient,
            purpose="photo",
            original_name=name,
            declared_type=declared,
            stream=io.BytesIO(data),
            uploaded_by=sender,
            file_request=request,
        )

    return make


BOMBS = {
    "lossless WebP 16383x3900 in 3 KB": (
        lambda: bombs.webp_lossless(),
        "bomb.webp",
        "image/webp",
        {"patient link": PHONE_LIMIT, "API key": WEBP_BOMB, "staff": WEBP_BOMB},
    ),
    "PNG 7999x7999 in 261 KB": (
        lambda: bombs.png_of_one_colour(7999, 7999),
        "bomb.png",
        "image/png",
        {"patient link": PHONE_LIMIT, "API key": PNG_BOMB, "staff": PNG_BOMB},
    ),
    "PNG over the 64 MP limit": (
        lambda: bombs.png_of_one_colour(8001, 8000),
        "bomb.png",
        "image/png",
        {"patient link": OVER_64_MP, "API key": OVER_64_MP, "staff": OVER_64_MP},
    ),
}
SIZES = {"lossless WebP 16383x3900 in 3 KB": "16383x3900", "PNG 7999x7999 in 261 KB": "7999x7999"}


@pytest.mark.parametrize("door", ["patient link", "API key", "staff"])
@pytest.mark.parametrize("bomb", list(BOMBS))
def test_bomb_is_refused_from_its_header(send, process, bomb, door):
    """GIVEN an image whose header claims tens of megapixels for a few KB WHEN it is sent
    through a patient's link, with an API key or by staff, and processed THEN it is
    rejected with a reason (for a patient's photo: larger than any phone takes; else: too
    many pixels for its size), the upload and the processing each in well under the
    seconds its decoding took, nothing stored and nothing charged to the sender's
    budget."""
    make, name, declared, reasons = BOMBS[bomb]
    data = make()
    started = time.monotonic()
    pending = send(data, door=door, name=name, declared=declared)
    sent = time.monotonic()
    file = process(pending)
    # Reading the header took milliseconds; decoding these took 2 to 5 seconds, in the
    # web process too for a PNG (its EXIF was looked for after its pixels).
    assert (sent - started, time.monotonic() - sent) < (1.5, 1.5)
    reason = reasons[door].format(size=SIZES.get(bomb, ""), limit=51)
    assert (file.state, file.rejection_reason) == (File.State.REJECTED, reason)
    assert not file.facets.exists()
    assert file.processing_pixels == 0


def test_four_bombs_in_one_request_are_each_refused(api, patient, process):
    """GIVEN four 3 KB lossless WebPs of 16383x3900 in one X-on request (17 KB) WHEN
    processed THEN all four are rejected for their pixels per byte."""
    import base64

    contents = base64.b64encode(bombs.webp_lossless()).decode()
    response = api.post(
        "/api/v1/files",
        {
            "files": [
                {"name": f"IMG_{index}.webp", "type": "image/webp", "contents": contents}
                for index in range(4)
            ],
            "userId": str(patient.id),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    for answer in response.json():
        file = process(File.objects.get(pk=answer["id"]))
        assert (file.state, file.rejection_reason) == (File.State.REJECTED, WEBP_BOMB)


def test_phone_photo_limit_holds_at_its_boundary(send, process, settings):
    """GIVEN the patient door's pixel limit set to 64x48 WHEN a patient sends a 64x48 photo
    THEN it is ready; WHEN 64x49 THEN rejected, the reason giving the limit; and the same
    64x49 photo sent with an API key is ready (the limit is the patient door's)."""
    settings.FILES_PATIENT_MAX_IMAGE_PIXELS = 64 * 48
    ready = process(send(samples.jpeg((64, 48)), door="patient link", name="a.jpg"))
    assert ready.state == File.State.READY, ready.rejection_reason
    refused = process(send(samples.jpeg((64, 49)), door="patient link", name="b.jpg"))
    assert refused.rejection_reason == PHONE_LIMIT.format(size="64x49", limit="0.0")
    by_key = process(send(samples.jpeg((64, 49)), door="API key", name="c.jpg"))
    assert by_key.state == File.State.READY, by_key.rejection_reason


def test_default_phone_photo_limit_admits_a_50_megapixel_photo(settings):
    """The largest phone photo, 8192x6144, is within the patient door's default limit;
    one more row of it is not far past it (the limit is 51 MP)."""
    assert 8192 * 6144 <= settings.FILES_PATIENT_MAX_IMAGE_PIXELS < 8192 * 6300


def test_free_size_holds_at_its_boundary(send, process, settings):
    """GIVEN images up to 200x200 decoded whatever their size, and one pixel per byte
    allowed above it WHEN a one-colour PNG of 200x200 (a few KB) is sent THEN it is ready;
    WHEN 200x201 THEN rejected for its pixels per byte."""
    settings.FILES_DECODE_FREE_PIXELS = 200 * 200
    settings.FILES_MAX_PIXELS_PER_BYTE = 1
    ready = process(send(bombs.png_of_one_colour(200, 200), door="API key"))
    assert ready.state == File.State.READY, ready.rejection_reason
    refused = process(send(bombs.png_of_one_colour(200, 201), door="API key"))
    assert refused.state == File.State.REJECTED
    assert refused.rejection_reason.startswith("The image claims 200x201 pixels from only ")


def test_pixels_per_byte_hold_at_their_boundary(send, process, settings):
    """GIVEN no free size WHEN an image has exactly the pixels per byte allowed THEN it is
    ready; WHEN the allowance is one less per byte THEN the same image is rejected."""
    settings.FILES_DECODE_FREE_PIXELS = 0
    data = samples.png((300, 200))
    first = process(send(data, door="API key"))
    assert first.state == File.State.READY, first.rejection_reason
    per_byte = math.ceil(300 * 200 / first.size)  # the size of the image data kept
    settings.FILES_MAX_PIXELS_PER_BYTE = per_byte
    assert process(send(data, door="API key")).state == File.State.READY
    settings.FILES_MAX_PIXELS_PER_BYTE = per_byte - 1
    refused = process(send(data, door="API key"))
    assert refused.rejection_reason.startswith("The image claims 300x200 pixels from only ")


PHOTO = (1000, 800)  # 0.8 MP


def photo(index: int) -> bytes:
    return samples.jpeg(PHOTO, colour=(index * 40 % 256, 90, 120))


def test_patient_link_budget_refuses_photos_past_it(send, process, settings, account, patient):
    """GIVEN a budget of 2.4 MP an hour per patient link WHEN a link's photos of 0.8 MP are
    processed THEN the first three are ready and the fourth is rejected with a reason for
    the patient; another link's photo is ready; an hour later the link's next is ready."""
    settings.FILES_DECODE_BUDGET_PIXELS_PER_LINK = 3 * PHOTO[0] * PHOTO[1]
    files = [process(send(photo(index), door="patient link", name="p.jpg")) for index in range(4)]
    assert [file.state for file in files] == [File.State.READY] * 3 + [File.State.REJECTED]
    assert files[3].rejection_reason == LINK_BUDGET
    assert [file.processing_pixels for file in files] == [800_000] * 3 + [0]

    other = FileRequestFactory(account=account, patient=patient)
    elsewhere = process(send(photo(5), door="patient link", name="p.jpg", link=other))
    assert elsewhere.state == File.State.READY, elsewhere.rejection_reason

    File.objects.filter(pk__in=[file.pk for file in files]).update(
        processing_started_at=timezone.now() - dt.timedelta(minutes=61)
    )
    later = process(send(photo(6), door="patient link", name="p.jpg"))
    assert later.state == File.State.READY, later.rejection_reason


def test_api_key_budget_refuses_images_past_it(send, process, settings):
    """GIVEN a budget of 2 MP an hour per API key WHEN the key's images of 0.8 MP are
    processed THEN two are ready and the third is rejected, the reason giving what was
    used and what is allowed; a staff upload is never counted against it."""
    settings.FILES_DECODE_BUDGET_PIXELS_PER_API_KEY = 2_000_000
    files = [process(send(photo(index), door="API key", name="k.jpg")) for index in range(3)]
    assert [file.state for file in files] == [File.State.READY] * 2 + [File.State.REJECTED]
    assert files[2].rejection_reason == (
        "This API key has had 1.6 megapixels of images processed in the last hour; at most "
        "2.0 are allowed. Send the file again later."
    )
    staff_files = [process(send(photo(i), door="staff", name="s.jpg")) for i in range(3)]
    assert {file.state for file in staff_files} == {File.State.READY}


def damaged_webp(width: int, height: int) -> bytes:
    """A lossless WebP whose header is right but whose pixel data is not: refused only
    once its decoding has begun."""
    out = io.BytesIO()
    Image.effect_noise((width, height), 40).convert("RGB").save(out, "WEBP", lossless=True)
    data = bytearray(out.getvalue())
    data[40:-10:7] = b"\xff" * len(data[40:-10:7])
    return bytes(data)


def test_an_image_refused_after_decoding_began_still_counts(send, process, settings):
    """GIVEN a budget of 1.2 MP an hour per API key WHEN a 0.8 MP WebP whose pixel data is
    damaged is rejected once its decoding began THEN it used 0.8 MP of the budget: the
    key's next 0.8 MP photo is refused."""
    settings.FILES_DECODE_BUDGET_PIXELS_PER_API_KEY = 1_200_000
    damaged = process(
        send(damaged_webp(*PHOTO), door="API key", name="d.webp", declared="image/webp")
    )
    assert damaged.rejection_reason == "The image is damaged: its pixels cannot be decoded."
    assert damaged.processing_pixels == 800_000
    refused = process(send(photo(1), door="API key", name="k.jpg"))
    assert refused.state == File.State.REJECTED
    assert refused.rejection_reason.startswith("This API key has had 0.8 megapixels")


def test_patient_is_told_to_wait_when_the_link_budget_is_spent(settings, account, patient):
    """GIVEN a budget of one 0.8 MP photo an hour per link WHEN a patient sends two such
    photos through the page and both are processed THEN the page shows the first ready
    and the second refused, in words that tell the patient to wait or call."""
    from tests.filerequests.test_filerequests_patient_status import DOB, send, verified_client

    settings.FILES_DECODE_BUDGET_PIXELS_PER_LINK = PHOTO[0] * PHOTO[1]
    patient.date_of_birth = DOB
    patient.save()
    client = verified_client(FileRequestFactory(account=account, patient=patient))
    sent = [send(client, f"IMG_{index}.jpg", photo(index)) for index in range(2)]
    for file_id in sent:
        file_process(file_id=file_id)
    shown = {item["id"]: item for item in client.get("/r/upload/status").json()["files"]}
    assert shown[sent[0]]["state"] == "ready"
    assert (shown[sent[1]]["state"], shown[sent[1]]["reason"]) == (
        "rejected",
        "Too many photos were sent for this request in the last hour. Please send this one "
        "again in an hour, or call the clinic.",
    )


def damaged_png(width: int, height: int) -> bytes:
    """A PNG whose header and chunk checksums are right but whose compressed pixels are
    not: nothing short of decoding them tells."""
    out = io.BytesIO()
    Image.effect_noise((width, height), 40).convert("RGB").save(out, "PNG")
    data = bytearray(out.getvalue())
    start = data.index(b"IDAT") + 4
    length = int.from_bytes(data[start - 8 : start - 4], "big")
    data[start + 64 : start + length - 64] = b"\x00" * (length - 128)
    crc = zlib.crc32(bytes(data[start - 4 : start + length]))
    data[start + length : start + length + 4] = crc.to_bytes(4, "big")
    return bytes(data)


@pytest.mark.parametrize("door", ["patient link", "API key", "staff"])
def test_a_png_whose_pixels_do_not_decode_is_rejected(send, process, door):
    """GIVEN a PNG whose compressed pixels are damaged (its checksums still right)
    WHEN it is processed THEN it is rejected as damaged, never stored ready with a blank
    thumbnail."""
    damaged = process(send(damaged_png(*PHOTO), door=door, name="scan.png"))
    assert damaged.state == File.State.REJECTED
    assert damaged.rejection_reason == "The image is damaged: its pixels cannot be decoded."
