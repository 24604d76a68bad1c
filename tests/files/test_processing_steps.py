"""Processing as a chain of steps: a file that fails in any step, rejected for its bytes or
stopped by a storage or database that refuses, leaves nothing of that run behind (no
stored object, facet or event), and each step's time is logged."""

from __future__ import annotations

import logging
import re
import struct
import zlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import OperationalError, connection

from files.models import Facet, File
from portal.webhooks.models import Event
from tests.files import samples
from tests.files.conftest import stored_keys

pytestmark = pytest.mark.django_db

STEPS = ["verify", "sniff", "clean", "render", "promote", "mark"]
STEP_LINE = re.compile(r"file (\S+) (\w+): \d+\.\d ms")


@pytest.fixture
def step_log(caplog):
    """The names of the steps each file's run began, in order, read from the DEBUG log."""
    caplog.set_level(logging.DEBUG, logger="files.pipeline.processing")

    def steps(file: File) -> list[str]:
        found = []
        for record in caplog.records:
            match = STEP_LINE.fullmatch(record.getMessage())
            if match and match[1] == str(file.pk):
                assert record.levelno == logging.DEBUG, record.getMessage()
                found.append(match[2])
        return found

    return steps


def png_with_undecodable_pixels() -> bytes:
    """A 40x30 PNG whose chunks are whole (every CRC right) but whose pixel data does not
    inflate: it passes the sniff and the lossless clean, and fails when it is decoded for
    the thumbnail."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 40, 30, 8, 2, 0, 0, 0)
    pixels = b"\x78\x9c" + bytes(range(7, 250))
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def earlier_run_leftover(file: File) -> str:
    """An object a worker killed half-way through promoting left at the file's keys."""
    key = f"{file.permanent_prefix}content.jpg"
    default_storage.save(key, ContentFile(samples.jpeg()))
    return key


def object_missing(file: File) -> None:
    default_storage.delete(file.temp_key)


def allowed_size_exceeded(file: File) -> None:
    File.objects.filter(pk=file.pk).update(max_size=100)


def untouched(file: File) -> None:
    return None


REJECTED_IN_EACH_STEP = [
    pytest.param("verify", samples.jpeg(), object_missing, "not found", id="verify-gone"),
    pytest.param("verify", samples.jpeg(), allowed_size_exceeded, "larger than", id="verify-size"),
    pytest.param(
        "sniff", b"<!DOCTYPE html><html><body>hi</body></html>", untouched, "HTML", id="sniff-html"
    ),
    pytest.param("sniff", samples.jpeg() + samples.zip_bytes(), untouched, "ZIP", id="sniff-zip"),
    pytest.param("clean", samples.png_bomb(), untouched, "too large", id="clean-bomb"),
    pytest.param(
        "clean", samples.jpeg((400, 300))[:600], untouched, "damaged", id="clean-truncated"
    ),
    pytest.param("render", png_with_undecodable_pixels(), untouched, "pixels", id="render-pixels"),
]


@pytest.mark.parametrize("step,data,spoil,reason", REJECTED_IN_EACH_STEP)
def test_a_file_rejected_in_any_step_leaves_nothing_behind(
    storage_mode, upload, process, step_log, step, data, spoil, reason
):
    """GIVEN a file whose bytes (or object) fail in one step, and an object an earlier,
    unfinished run stored at its keys WHEN processed THEN it fails in that step, is
    rejected with a reason, and no object (temporary or permanent), facet or file.ready
    event is left; file.rejected is recorded."""
    png = data.startswith(b"\x89PNG")
    file = upload(
        data, name="photo.png" if png else "photo.jpg", declared=f"image/{'png' if png else 'jpeg'}"
    )
    earlier_run_leftover(file)
    spoil(file)

    file = process(file)

    assert step_log(file) == STEPS[: STEPS.index(step) + 1]
    assert file.state == File.State.REJECTED
    assert reason.lower() in file.rejection_reason.lower(), file.rejection_reason
    assert not Facet.objects.filter(file=file).exists()
    assert stored_keys() == []
    assert list(Event.objects.values_list("type", flat=True)) == ["file.rejected"]


def refuse_inserts(table: str) -> None:
    """Make the database refuse every new row of ``table`` as a cancelled statement (a
    fault worth another try), until the trigger is dropped or the test's transaction
    ends."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_row_for_test() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'refused by the test' USING ERRCODE = '57014'; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER refuse_row BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_row_for_test()"
        )


def assert_left_to_retry(file: File, temp_key: str, *, blockers=()) -> None:
    """Nothing of the failed run is left, and the file waits for its retry as it came:
    not finished, the attempt uncounted, its temporary object in place."""
    file.refresh_from_db()
    assert file.state == File.State.PROCESSING
    assert file.processing_attempts == 0
    assert not Facet.objects.filter(file=file).exists()
    assert stored_keys(file.permanent_prefix) == list(blockers)
    assert default_storage.exists(temp_key)
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "step,table", [("promote", "files_facet"), ("mark", "webhooks_event")], ids=["promote", "mark"]
)
def test_a_database_refusal_in_a_late_step_leaves_nothing_behind(
    storage_mode, upload, process, step_log, step, table
):
    """GIVEN a good photo and a database that refuses the facet rows (promote, after both
    objects are stored) or the outcome's event (mark, after the file is saved ready)
    WHEN processed THEN the fault goes on to be retried, and the stored objects, facets,
    ready state and events of that run are all gone; a retry once the database takes
    the rows again makes the file ready."""
    file = upload(samples.jpeg((800, 600)))
    temp_key = file.temp_key
    refuse_inserts(table)

    with pytest.raises(OperationalError, match="refused by the test"):
        process(file)

    assert step_log(file) == STEPS[: STEPS.index(step) + 1]
    assert_left_to_retry(file, temp_key)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER refuse_row ON {table}")
    assert process(file).state == File.State.READY


def test_a_storage_refusal_half_way_through_promote_leaves_nothing_behind(
    upload, process, step_log
):
    """GIVEN a storage that refuses the thumbnail's key (a folder with something in it
    stands there) WHEN a photo is processed THEN the content stored just before is
    removed again, no facet or event is written, and the file waits for its retry,
    which makes it ready once the storage takes the key."""
    file = upload(samples.jpeg((800, 600)))
    temp_key = file.temp_key
    blocker = f"{file.permanent_prefix}thumbnail.jpg/in-the-way"
    default_storage.save(blocker, ContentFile(b"x"))

    with pytest.raises(OSError):
        process(file)

    assert step_log(file) == STEPS[: STEPS.index("promote") + 1]
    assert_left_to_retry(file, temp_key, blockers=[blocker])
    default_storage.delete(blocker)
    default_storage.delete(blocker.rpartition("/")[0])
    assert process(file).state == File.State.READY


def test_each_step_time_is_logged(upload, process, caplog):
    """GIVEN a photo WHEN processed THEN the log has one DEBUG line per step with its time,
    and one INFO line for the file with its outcome, total and every step's time."""
    caplog.set_level(logging.DEBUG, logger="files.pipeline.processing")
    file = process(upload(samples.jpeg()))

    lines = [(r.levelno, r.getMessage()) for r in caplog.records if str(file.pk) in r.getMessage()]
    step_lines = [message for level, message in lines if level == logging.DEBUG]
    assert [STEP_LINE.fullmatch(line)[2] for line in step_lines] == STEPS
    summary = [message for level, message in lines if level == logging.INFO]
    assert len(summary) == 1
    assert re.fullmatch(
        rf"file {file.pk} processed: ready in \d+ ms \("
        + ", ".join(rf"{step} \d+" for step in STEPS)
        + r" ms\)",
        summary[0],
    ), summary[0]


def test_a_rejected_file_logs_the_steps_it_went_through(upload, process, caplog):
    """GIVEN an HTML page sent as a photo WHEN processed THEN the file's INFO line names it
    rejected and gives the times of verify and sniff, where it stopped."""
    caplog.set_level(logging.INFO, logger="files.pipeline.processing")
    file = process(upload(b"<!DOCTYPE html><html><body>hi</body></html>"))

    summary = [r.getMessage() for r in caplog.records if "processed:" in r.getMessage()]
    assert len(summary) == 1
    assert re.fullmatch(
        rf"file {file.pk} processed: rejected in \d+ ms \(verify \d+, sniff \d+ ms\)", summary[0]
    ), summary[0]
