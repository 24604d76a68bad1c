"""What the one serving function (files.serving) answers at the edges of what it decides:
which part of the bytes a Range asks for, when a client's copy is current, the instant a
file expires, and the name a download is saved under. Asked through the X-on files API's
DRF view (a Basic key), which hands each request to ``serve`` as every door does."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from rest_framework.test import APIClient

from files.models import Facet, File
from portal.audit.models import AuditEvent
from tests.factories import FileFactory
from tests.files import samples
from tests.support.sqlite_run import pytest_on_sqlite

pytestmark = pytest.mark.django_db


@pytest.fixture
def photo(account, patient):
    return FileFactory(
        account=account,
        patient=patient,
        original_name="wound.jpg",
        content=samples.jpeg((320, 240)),
        ready=True,
    )


@pytest.fixture
def fetch(api_key, photo):
    client = APIClient()
    credentials = base64.b64encode(f"{api_key.plaintext}:".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {credentials}")

    def get(**headers):
        return client.get(f"/api/v1/files/{photo.pk}", **headers)

    return get


@pytest.fixture
def content(photo) -> bytes:
    return default_storage.open(photo.facets.get(name=Facet.CONTENT).storage_key).read()


def body(response) -> bytes:
    return b"".join(response.streaming_content)


# (Range header, the part sent as (first, last) with a 206; "whole" for a 200 of all of it;
# 416 for none). {n} is the size.
RANGES = {
    "the first byte": ("bytes=0-0", (0, 0)),
    "one byte in the middle": ("bytes=5-5", (5, 5)),
    "the last byte": ("bytes={last}-", ("last", "last")),
    "the last byte by suffix": ("bytes=-1", ("last", "last")),
    "a suffix longer than the file": ("bytes=-{more}", (0, "last")),
    "an end past the file": ("bytes=0-{more}", (0, "last")),
    "spaces around it": ("  bytes=2-3  ", (2, 3)),
    "a start at the size": ("bytes={n}-", 416),
    "a start past the size": ("bytes={more}-", 416),
    "an end before the start": ("bytes=5-4", 416),
    "an empty suffix": ("bytes=-0", 416),
    "neither start nor end": ("bytes=-", "whole"),
    "several ranges": ("bytes=0-1,4-5", "whole"),
    "another unit": ("items=0-1", "whole"),
}


@pytest.mark.parametrize("name", list(RANGES))
def test_a_range_sends_exactly_the_part_asked_for(fetch, content, name):
    header, expected = RANGES[name]
    size = len(content)
    response = fetch(
        HTTP_RANGE=header.format(n=size, last=size - 1, more=size + 100),
    )
    if expected == 416:
        assert response.status_code == 416
        assert response["Content-Range"] == f"bytes */{size}"
        assert not response.streaming
        return
    if expected == "whole":
        assert response.status_code == 200
        assert body(response) == content
        assert response["Content-Length"] == str(size)
        assert not response.has_header("Content-Range")
        return
    first, last = (size - 1 if end == "last" else end for end in expected)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{size}"
    assert response["Content-Length"] == str(last - first + 1)
    assert body(response) == content[first : last + 1]


@pytest.mark.parametrize(
    ("if_range", "partial"),
    [("{etag}", True), ('"an older version"', False), ("W/{etag}", False)],
    ids=["the current version", "an older version", "a weak tag"],
)
def test_a_range_is_honoured_only_for_the_version_the_client_holds(
    fetch, photo, content, if_range, partial
):
    etag = f'"{photo.facets.get(name=Facet.CONTENT).sha256}"'
    response = fetch(HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=if_range.format(etag=etag))
    assert response.status_code == (206 if partial else 200)
    assert body(response) == (content[:10] if partial else content)


@pytest.mark.parametrize(
    ("if_none_match", "current"),
    [
        ("{etag}", True),
        ('"x", {etag}', True),
        ('"x",{etag} ,"y"', True),
        ('"x"', False),
        ("", False),
        ("W/{etag}", False),
    ],
    ids=["its tag", "among others", "without spaces", "another tag", "empty", "a weak tag"],
)
def test_a_client_holding_the_current_bytes_gets_304(fetch, photo, if_none_match, current):
    etag = f'"{photo.facets.get(name=Facet.CONTENT).sha256}"'
    response = fetch(HTTP_IF_NONE_MATCH=if_none_match.format(etag=etag))
    assert response.status_code == (304 if current else 200)
    assert response["ETag"] == etag
    # Even a 304 is a recorded look at the file.
    assert AuditEvent.objects.filter(action="file.download").count() == 1


@pytest.mark.parametrize(
    ("expires_in", "status"),
    [(1, 200), (0, 410), (-1, 410)],
    ids=["a microsecond before", "at the instant", "a microsecond after"],
)
def test_a_file_is_sent_until_it_expires_and_not_at_that_instant(
    fetch, photo, clock, expires_in, status
):
    File.objects.filter(pk=photo.pk).update(
        expires_at=clock.now + dt.timedelta(microseconds=expires_in)
    )
    response = fetch()
    assert response.status_code == status
    if status == 410:
        assert response.json()["code"] == "gone"


@pytest.mark.parametrize(
    ("state", "status", "code"),
    [
        (File.State.PENDING, 409, "not_ready"),
        (File.State.PROCESSING, 409, "not_ready"),
        (File.State.REJECTED, 409, "rejected"),
    ],
)
def test_a_file_not_ready_or_rejected_is_refused_in_words(
    settings, fetch, photo, state, status, code
):
    settings.FILES_SYNC_WAIT_SECONDS = 0
    settings.FILES_NOT_READY_RETRY_AFTER = 7
    File.objects.filter(pk=photo.pk).update(state=state, rejection_reason="Not a photo.")
    response = fetch()
    assert response.status_code == status
    assert response.json()["code"] == code
    if code == "not_ready":
        assert response["Retry-After"] == "7"
    else:
        assert response.json()["error"] == "This file was rejected: Not a photo."
    assert not AuditEvent.objects.filter(action="file.download").exists()


@pytest.mark.parametrize(
    ("name", "mime_type", "header"),
    [
        (
            "wound.jpg",
            "image/jpeg",
            "attachment; filename=\"wound.jpg\"; filename*=UTF-8''wound.jpg",
        ),
        ("IMG.HEIC", "image/jpeg", "attachment; filename=\"IMG.jpg\"; filename*=UTF-8''IMG.jpg"),
        ("scan", "application/pdf", "attachment; filename=\"scan.pdf\"; filename*=UTF-8''scan.pdf"),
        (
            "photo.JPEG",
            "image/jpeg",
            "attachment; filename=\"photo.JPEG\"; filename*=UTF-8''photo.JPEG",
        ),
        (
            'a"b c é.png',
            "image/png",
            # The stored name's quote is already a safe character; the rest is ASCII-folded.
            "attachment; filename=\"a_b c .png\"; filename*=UTF-8''a_b%20c%20%C3%A9.png",
        ),
        (
            "éé.webp",
            "image/webp",
            "attachment; filename=\".webp\"; filename*=UTF-8''%C3%A9%C3%A9.webp",
        ),
        ("ééé", "text/plain", "attachment; filename=\"file\"; filename*=UTF-8''%C3%A9%C3%A9%C3%A9"),
    ],
    ids=[
        "as named",
        "its served type's extension",
        "no extension",
        "upper case",
        "quotes",
        "non-ASCII",
        "all non-ASCII",
    ],
)
def test_the_download_is_saved_under_a_safe_name_with_the_served_types_extension(
    fetch, photo, name, mime_type, header
):
    File.objects.filter(pk=photo.pk).update(original_name=name)
    Facet.objects.filter(file=photo, name=Facet.CONTENT).update(mime_type=mime_type)
    response = fetch()
    assert response.status_code == 200
    assert response["Content-Disposition"] == header
    assert response["Content-Type"] == mime_type


@pytest.mark.slow
def test_zz_the_same_on_sqlite(tmp_path):
    """GIVEN the embedded shape's database (SQLite: the serving path's own statements, the
    audit INSERT and the fast door's look-up, run through Django's cursor there) WHEN this
    file's tests and the fast door's run on it THEN each passes."""
    if connection.vendor == "sqlite":
        pytest.skip("this run is the SQLite one")
    pytest_on_sqlite(
        tmp_path,
        __file__,
        str(Path(__file__).with_name("test_lean_download.py")),
        # The DRF comparison runs on S3 too, which this run has not started.
        "-k",
        "not the_same_on_sqlite and not lean_answer_is_the_drf_answer",
    )
