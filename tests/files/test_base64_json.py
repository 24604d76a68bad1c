"""X-on's Base64 JSON door read as the body arrives (files.parsers): what it accepts and refuses.

The memory it saves is measured by ``make bench`` (benchmarks/ingest.py), not here; these tests
hold its behaviour: the same answers as the whole-body parser it replaced, and bodies past
Django's in-memory limit (2.5 MB) accepted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os

import pytest
from django.core.files.storage import default_storage

from files import parsers
from files.models import File
from files.parsers import INVALID, TOO_LARGE, base64_upload_from_text
from tests.files import samples

pytestmark = pytest.mark.django_db


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def post_raw(api, body: bytes | str):
    return api.generic(
        "POST",
        "/api/v1/files",
        body.encode() if isinstance(body, str) else body,
        content_type="application/json",
    )


def stored_bytes(file: File) -> bytes:
    with default_storage.open(file.temp_key, "rb") as stored:
        return stored.read()


def test_body_larger_than_djangos_memory_limit_is_accepted(api, patient, settings):
    """GIVEN a 3 MB file as Base64 JSON (a 4 MB body, past DATA_UPLOAD_MAX_MEMORY_SIZE, which
    refused it as malformed before) WHEN posted THEN 201 and the stored bytes are the file's."""
    data = os.urandom(3 * 1024 * 1024)
    assert len(data) * 4 / 3 > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = {
        "files": [{"name": "scan.pdf", "type": "application/pdf", "contents": b64(data)}],
        "userId": str(patient.id),
    }
    response = api.post("/api/v1/files", body, format="json")
    assert response.status_code == 201, response.content
    file = File.objects.get(pk=response.json()[0]["id"])
    assert file.size == len(data)
    assert hashlib.sha256(stored_bytes(file)).digest() == hashlib.sha256(data).digest()


def test_json_escapes_line_breaks_and_key_order_are_json(api, patient):
    """GIVEN Base64 as other encoders write it: MIME line breaks, "/" escaped as "\\/" (PHP),
    "+" as "\\u002B" (.NET), and userId before files WHEN posted THEN 201, the same bytes."""
    data = samples.jpeg((120, 90)) + bytes(range(256)) * 8  # "+" and "/" in its Base64
    text = base64.encodebytes(data).decode()
    assert "+" in text and "/" in text
    escaped = json.dumps(text).replace("/", "\\/").replace("+", "\\u002B")
    body = (
        f'{{"userId": "{patient.id}", "files": [{{"name": "a.jpg", '
        f'"type": "image/jpeg", "contents": {escaped}}}]}}'
    )
    response = post_raw(api, body)
    assert response.status_code == 201, response.content
    assert stored_bytes(File.objects.get(pk=response.json()[0]["id"])) == data


@pytest.mark.parametrize(
    "contents",
    ["###", "QUJD=A==", "QUJDRA", "QQ===", "=QUJD", "QUJD\u00e9", "QU JD RA= =="],
)
def test_bad_base64_is_400_naming_contents(api, patient, contents):
    """GIVEN contents that are not Base64 (wrong alphabet, data after padding, a length that
    is not a multiple of four, too much padding) WHEN posted THEN 400 on files.0.contents."""
    body = {
        "files": [{"name": "a.jpg", "type": "image/jpeg", "contents": contents}],
        "userId": str(patient.id),
    }
    response = api.post("/api/v1/files", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["fields"]["files.0.contents"] == ["contents is not valid Base64."]
    assert File.objects.count() == 0


@pytest.mark.parametrize("contents", [12, None, True, {"data": "QUJD"}, ["QUJD"]])
def test_contents_of_the_wrong_type_is_400(api, patient, contents):
    """GIVEN contents that is not a string WHEN posted THEN 400 naming it, nothing stored."""
    body = {
        "files": [{"name": "a.jpg", "type": "image/jpeg", "contents": contents}],
        "userId": str(patient.id),
    }
    response = api.post("/api/v1/files", body, format="json")
    assert response.status_code == 400, response.content
    assert "files.0.contents" in response.json()["fields"]
    assert File.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        '{"files": [{"name": "a.jpg", "contents": "QUJD"',  # cut short
        "{'files': []}",  # not JSON
        '{"userId": NaN}',  # not JSON either (Python's json would take it)
        "[1, 2]",  # JSON, but not an object
        '"QUJD"',
        '{"files": "QUJD", "userId": "x"}',
    ],
)
def test_malformed_or_misshapen_json_is_400(api, patient, body):
    """GIVEN a body that is not JSON, or JSON of the wrong shape WHEN posted THEN 400."""
    response = post_raw(api, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]
    assert File.objects.count() == 0


def test_oversize_file_is_413_and_decoding_stops_at_the_limit(api, patient, settings):
    """GIVEN a 1 KB limit WHEN a 64 KB file is posted as Base64 THEN 413 with the limit, and
    the parser stopped decoding just past it."""
    settings.FILES_MAX_UPLOAD_BYTES = 1024
    upload = base64_upload_from_text(b64(os.urandom(64 * 1024)))
    assert upload.error == TOO_LARGE and upload.file is None and upload.size <= 256 * 1024
    body = {
        "files": [{"name": "a.pdf", "type": "application/pdf", "contents": b64(b"x" * 2048)}],
        "userId": str(patient.id),
    }
    response = api.post("/api/v1/files", body, format="json")
    assert response.status_code == 413
    assert "larger than the 1 KB allowed" in response.json()["error"]


def test_slices_join_exactly(monkeypatch):
    """GIVEN slices far smaller than the text (every boundary falls mid-quantum, mid-padding
    and mid-whitespace) WHEN decoded THEN the bytes are the same, and broken text is invalid."""
    monkeypatch.setattr(parsers, "SLICE_CHARS", 7)
    for size in (0, 1, 2, 3, 4, 100, 1001):
        data = os.urandom(size)
        text = base64.encodebytes(data).decode()  # line breaks every 76 characters
        upload = base64_upload_from_text(text)
        assert upload.error == "" and upload.size == size
        assert upload.file.read() == data
        upload.close()
    assert base64_upload_from_text(b64(b"ab") + b64(b"cd")).error == INVALID  # "YWI=Y2Q="
    assert base64_upload_from_text("QQ=\n=").error == ""
    assert base64_upload_from_text("QQ=\n=\n=").error == INVALID
