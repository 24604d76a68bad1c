"""What the one serving function (files.serving.respond) answers at the edges of what it decides:
which part of the bytes a Range asks for, when a client's copy is current, the instant a
file expires, and the name a download is saved under. Asked through the X-on files API's
DRF view (a Basic key), which hands each request to ``serve`` as every door does."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.db import connection
from django.test import RequestFactory
from rest_framework.test import APIClient

from config.settings import storage_settings_for
from deploy.services import free_port
from files.models import Facet, File
from files.serving.respond import storage_failure
from files.storage.objects import storage_put
from portal.audit.models import AuditEvent
from portal.audit.services import Actor, audit_record
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
    "a start at the size, an end past it": ("bytes={n}-{more}", 416),
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
        (
            "x-ray.2024.heic",
            "image/jpeg",
            "attachment; filename=\"x-ray.2024.jpg\"; filename*=UTF-8''x-ray.2024.jpg",
        ),
        ("scan", "image/png", "attachment; filename=\"scan.png\"; filename*=UTF-8''scan.png"),
        (
            "IMG_1.heic",
            "image/webp",
            "attachment; filename=\"IMG_1.webp\"; filename*=UTF-8''IMG_1.webp",
        ),
        (
            "mole~left arm.jpg",
            "image/jpeg",
            "attachment; filename=\"mole~left arm.jpg\"; filename*=UTF-8''mole~left%20arm.jpg",
        ),
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
        "two dots, the last one's extension replaced",
        "no extension, a PNG",
        "another extension, a WebP",
        "a tilde",
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


@pytest.mark.parametrize(
    "user_agent, kept",
    [("curl/8\x00evil", "curl/8evil"), ("\x00" * 400, ""), ("x\x00" * 400, "x" * 300)],
    ids=["a NUL inside", "only NULs", "NULs between 400 letters"],
)
def test_a_user_agent_with_nul_is_downloaded_and_audited_without_it(fetch, photo, user_agent, kept):
    """GIVEN a User-Agent carrying NUL (which PostgreSQL cannot store) WHEN the file is
    downloaded THEN it is sent, and its audit row keeps the User-Agent without the NULs."""
    response = fetch(HTTP_USER_AGENT=user_agent)
    assert response.status_code == 200
    assert body(response)
    download = AuditEvent.objects.get(action="file.download", target_id=str(photo.pk))
    assert download.user_agent == kept


# What the serving function answers for each way reading the stored bytes can fail: 410
# (the bytes are gone: asking again will not help) or 503 with Retry-After (the store did
# not answer: it may next time). Real exceptions, as botocore and the file system raise them.
def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "..."}}, "GetObject")


STORAGE_FAILURES = {
    "S3: no such key": (client_error("NoSuchKey"), 410),
    "S3: 404 (a HEAD's answer)": (client_error("404"), 410),
    "S3: not found": (client_error("NotFound"), 410),
    "S3: no such bucket": (client_error("NoSuchBucket"), 503),
    "S3: access denied": (client_error("AccessDenied"), 503),
    "S3: slow down": (client_error("SlowDown"), 503),
    "S3: internal error": (client_error("InternalError"), 503),
    "S3: a numeric 503": (client_error("503"), 503),
    "S3: no code at all": (ClientError({}, "GetObject"), 503),
    "S3 unreachable": (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), 503),
    "S3 too slow": (ReadTimeoutError(endpoint_url="http://127.0.0.1:9"), 503),
    "file gone": (FileNotFoundError(2, "No such file"), 410),
    "a folder where the file was": (IsADirectoryError(21, "Is a directory"), 410),
    "a file where a folder was": (NotADirectoryError(20, "Not a directory"), 410),
    "a name outside the store": (SuspiciousFileOperation("outside"), 410),
    "disk unreadable": (OSError(5, "Input/output error"), 503),
    "connection reset": (ConnectionResetError(104, "reset"), 503),
}


@pytest.mark.parametrize("name", list(STORAGE_FAILURES))
def test_a_storage_failure_is_gone_or_unavailable_by_what_failed(name, caplog):
    error, status = STORAGE_FAILURES[name]
    response = storage_failure(error, file_id="f1").response
    assert response.status_code == status
    body = json.loads(response.content)
    if status == 410:
        assert body["code"] == "gone"
        assert "stored bytes are missing" in body["error"]
        assert "Retry-After" not in response
    else:
        assert body["code"] == "storage_unavailable"
        assert "try again shortly" in body["error"]
        assert int(response["Retry-After"]) >= 1
    # The log names the file by its id and the kind of failure, never a key or a name.
    assert "Stored bytes of file f1 could not be read" in caplog.text
    assert ("missing" if status == 410 else "storage error") in caplog.text


def test_a_store_that_does_not_answer_is_a_503_with_retry_after(fetch, photo, s3_bucket, settings):
    """GIVEN the file's store at an address nothing listens on WHEN the file is asked for
    THEN 503 with Retry-After and words to try again, and nothing audited."""
    nothing_listens = free_port()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": storage_settings_for(
            s3_bucket, endpoint_url=f"http://127.0.0.1:{nothing_listens}"
        ),
    }
    response = fetch()
    assert response.status_code == 503, response.content[:300]
    assert response.json()["code"] == "storage_unavailable"
    assert response["Retry-After"] == str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER)
    assert not AuditEvent.objects.filter(action="file.download").exists()


def test_a_store_that_refuses_the_portal_is_a_503_not_a_missing_file(
    fetch, api_key, account, patient, s3_bucket, settings
):
    """GIVEN a file stored on S3, then the portal's secret key for the store wrong
    WHEN the file is asked for THEN 503 (the store refused: the bytes may well be there),
    never 410 (which tells the client they are lost)."""
    stored = FileFactory(
        account=account, patient=patient, content=samples.jpeg((64, 48)), ready=True
    )
    wrong = storage_settings_for(s3_bucket)
    wrong["OPTIONS"] = {**wrong["OPTIONS"], "secret_key": "not-the-secret"}
    settings.STORAGES = {**settings.STORAGES, "default": wrong}
    client = APIClient()
    credentials = base64.b64encode(f"{api_key.plaintext}:".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {credentials}")
    response = client.get(f"/api/v1/files/{stored.pk}")
    assert response.status_code == 503, response.content[:300]
    assert response.json()["code"] == "storage_unavailable"


def test_a_stored_object_emptied_behind_the_portals_back_is_gone(fetch, photo):
    """GIVEN the content's object replaced by zero bytes WHEN the file is asked for, whole
    or in part THEN 410 before any byte, not a 200 whose body is missing."""
    key = photo.facets.get(name=Facet.CONTENT).storage_key
    storage_put(key, io.BytesIO(b""))
    for headers in ({}, {"HTTP_RANGE": "bytes=0-9"}):
        response = fetch(**headers)
        assert response.status_code == 410
        assert not response.streaming
        assert "stored bytes are missing" in response.json()["error"]


# A stored form's key as the database might hold it after a bad import or a hand edit:
# each is refused before storage is asked (a storage normalises "x/../y" to y, another
# object; an encoded dot, a leading slash and a backslash mean other names elsewhere).
UNCLEAN_KEYS = {
    "a climb into another object": "{folder}/any/../{thumbnail}",
    "an encoded climb": "{folder}/%2e%2e/{folder}/{content}",
    "an absolute path": "/{folder}/{content}",
    "a backslash": "{folder}\\{content}",
}


@pytest.mark.parametrize("shape", list(UNCLEAN_KEYS))
def test_a_stored_form_whose_key_is_unclean_is_gone_and_storage_is_never_asked(
    fetch, photo, caplog, shape
):
    """GIVEN the content's key rewritten to an unclean one (one of them resolving to the
    thumbnail's object) WHEN the file is asked for THEN 410 before any byte, the log says
    the key is unclean (storage was not asked), and no other object's bytes are sent."""
    content = photo.facets.get(name=Facet.CONTENT)
    thumbnail = photo.facets.get(name=Facet.THUMBNAIL)
    folder, _, content_name = content.storage_key.rpartition("/")
    thumbnail_folder, _, thumbnail_name = thumbnail.storage_key.rpartition("/")
    assert thumbnail_folder == folder
    key = UNCLEAN_KEYS[shape].format(folder=folder, content=content_name, thumbnail=thumbnail_name)
    Facet.objects.filter(pk=content.pk).update(storage_key=key)
    response = fetch()
    assert response.status_code == 410
    assert not response.streaming
    assert f"File {photo.pk} names a storage key that" in caplog.text
    assert "could not be read" not in caplog.text


def test_a_stored_object_that_grew_sends_only_the_bytes_recorded(fetch, photo, content):
    """GIVEN bytes appended to the content's object after it was checked WHEN the whole
    file is asked for THEN exactly the recorded bytes, as many as Content-Length says."""
    key = photo.facets.get(name=Facet.CONTENT).storage_key
    storage_put(key, io.BytesIO(content + b"appended later"))
    response = fetch()
    assert response.status_code == 200
    sent = body(response)
    assert len(sent) == int(response["Content-Length"]) == len(content)
    assert sent == content


@pytest.mark.parametrize("user_agent_length", [299, 300, 301, 2000])
def test_the_download_row_is_the_row_every_other_audit_writer_writes(
    fetch, photo, api_key, settings, user_agent_length
):
    """GIVEN a download through a trusted proxy, with a User-Agent of the given length
    WHEN the row it audits is read beside the row ``audit_record`` writes for the same
    request THEN they agree on every column but id, time, action and target: the key as
    actor, the caller's address (not the proxy's), the first 300 characters of the
    User-Agent."""
    settings.PORTAL_TRUSTED_PROXIES = ["10.0.0.0/8"]
    headers = {
        "REMOTE_ADDR": "10.1.2.3",
        "HTTP_X_FORWARDED_FOR": "203.0.113.9",
        "HTTP_USER_AGENT": "u" * user_agent_length,
    }
    assert fetch(**headers).status_code == 200
    download = AuditEvent.objects.get(action="file.download", target_id=str(photo.pk))
    request = RequestFactory().get("/", **headers)
    other = audit_record(
        account=photo.account,
        actor=Actor.for_api_key(api_key.api_key),
        action="test.compare",
        request=request,
    )
    columns = ["account_id", "actor_kind", "actor_id", "actor_label", "ip_address", "user_agent"]
    assert [getattr(download, c) for c in columns] == [getattr(other, c) for c in columns]
    assert download.ip_address == "203.0.113.9"
    assert download.user_agent == "u" * min(user_agent_length, 300)
    assert download.actor_label == f"key {api_key.api_key.prefix}"


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
