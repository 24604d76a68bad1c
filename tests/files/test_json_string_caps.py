"""X-on's Base64 JSON door caps every string while it streams in (files.parsers).

yajl re-reads a string that spans its buffer at every read, so one long string cost
time growing with the square of its length. The cap stops a string as soon as it passes
its limit, before the rest of the body is read: 64 KB for anything but a file's
``contents`` (400, naming where), and the Base64 length of the upload limit for
``contents`` (413). Tests read the body through a stream that counts what was read, so
"stopped early" is a number of bytes, not a time.
"""

from __future__ import annotations

import base64
import io
import json
import os

import pytest
from rest_framework.exceptions import ParseError

from files import parsers
from files.models import File
from files.parsers import XON_MAX_TEXT_BYTES, XonBase64JsonParser, base64_uploads_close
from portal.api.errors import PayloadTooLarge

pytestmark = pytest.mark.django_db

LONG = XON_MAX_TEXT_BYTES + 1


class CountingBody(io.RawIOBase):
    """A request body made of pieces, one of them ``repeat`` bytes of ``fill``, produced
    as read (no test holds a huge body in memory); ``read_bytes`` says how far it got."""

    def __init__(self, before: bytes, fill: bytes, repeat: int, after: bytes):
        self.pieces = [before, (fill, repeat), after]
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        size = 1 << 20 if size is None or size < 0 else size
        out = bytearray()
        while len(out) < size and self.pieces:
            piece = self.pieces[0]
            if isinstance(piece, tuple):
                fill, left = piece
                take = min(max(1, (size - len(out)) // len(fill)), left)
                out += fill * take
                self.pieces[0] = (fill, left - take)
                if left - take == 0:
                    self.pieces.pop(0)
            else:
                take = piece[: size - len(out)]
                out += take
                self.pieces[0] = piece[len(take) :]
                if not self.pieces[0]:
                    self.pieces.pop(0)
        self.read_bytes += len(out)
        return bytes(out)

    def readable(self) -> bool:
        return True


# Where a long string can sit in X-on's body: (text before it, text after it, path named).
PLACES = {
    "files.0.name": ('{"files":[{"name":"', '","contents":"QQ=="}],"userId":"x"}', "files.0.name"),
    "files.0.type": ('{"files":[{"type":"', '","contents":"QQ=="}],"userId":"x"}', "files.0.type"),
    "files.0.description": (
        '{"files":[{"name":"a","description":"',
        '","contents":"QQ=="}],"userId":"x"}',
        "files.0.description",
    ),
    "userId": ('{"files":[{"name":"a","contents":"QQ=="}],"userId":"', '"}', "userId"),
    "fileRequestId": ('{"fileRequestId":"', '","userId":"x"}', "fileRequestId"),
    "an unknown field": ('{"userId":"x","notes":"', '"}', "notes"),
    "a string in a list": ('{"userId":"x","tags":["a","', '"]}', "tags.0"),
    "second file's name": (
        '{"files":[{"name":"a","contents":"QQ=="},{"name":"',
        '"}],"userId":"x"}',
        "files.0.name",
    ),
    "a key": ('{"userId":"x","', '":1}', "a key"),
    "contents under an escaped key": ('{"files":[{"cont\\u0065nts":"', '"}]}', "files.0"),
    "contents outside files": ('{"contents":"', '"}', "contents"),
    "contents of a nested object": ('{"files":[{"meta":{"contents":"', '"}}]}', "meta.contents"),
    "the whole body": ('"', '"', "A value"),
}


@pytest.mark.parametrize("place", PLACES.values(), ids=PLACES.keys())
def test_a_long_string_anywhere_but_contents_stops_the_parse_early(place):
    """GIVEN a 40 MB string anywhere in the body but a file's contents WHEN parsed THEN a
    400 that names where it is, after reading little more than the 64 KB cap."""
    before, after, named = place
    body = CountingBody(before.encode(), b"A", 40 * 1024 * 1024, after.encode())

    with pytest.raises(ParseError) as refused:
        XonBase64JsonParser().parse(body)

    assert "64 KB allowed" in str(refused.value.detail)
    assert named.split(".")[0] in str(refused.value.detail)
    assert body.read_bytes <= XON_MAX_TEXT_BYTES + 2 * parsers.READ_BYTES


@pytest.mark.parametrize("fill", [b"A", b"\\n", b"\\\\", b'\\"', b"\\u0041"])
def test_escapes_do_not_hide_a_long_string(fill):
    """GIVEN a long name made of JSON escapes (an escaped quote must not end it for the
    guard) WHEN parsed THEN it is stopped at the cap like any other."""
    body = CountingBody(b'{"userId":"', fill, 10 * 1024 * 1024, b'"}')

    with pytest.raises(ParseError):
        XonBase64JsonParser().parse(body)
    assert body.read_bytes <= XON_MAX_TEXT_BYTES + 2 * parsers.READ_BYTES


def test_contents_past_the_upload_limit_is_413_before_the_rest_is_read(settings):
    """GIVEN a 1 MB upload limit WHEN a 100 MB contents string arrives THEN 413 naming the
    limit, read no further than the limit's Base64 length and one read."""
    settings.FILES_MAX_UPLOAD_BYTES = 1024 * 1024
    body = CountingBody(b'{"files":[{"name":"a","contents":"', b"A", 100 * 1024 * 1024, b'"}]}')

    with pytest.raises(PayloadTooLarge) as refused:
        XonBase64JsonParser().parse(body)

    assert "larger than the 1 MB allowed" in str(refused.value.detail)
    assert body.read_bytes <= parsers.contents_max_json_bytes(1024 * 1024) + parsers.READ_BYTES


def test_long_strings_through_the_api_get_the_error_shape(api, patient, settings):
    """GIVEN the X-on upload door WHEN a body carries a 64 KB + 1 name, or contents past
    the limit THEN 400 / 413 with the portal's error body, and no file is stored."""
    settings.FILES_MAX_UPLOAD_BYTES = 4096
    long_name = {
        "files": [{"name": "a" * LONG, "type": "image/png", "contents": "QQ=="}],
        "userId": str(patient.id),
    }
    too_big = {
        "files": [{"name": "a.pdf", "contents": base64.b64encode(os.urandom(8192)).decode()}],
        "userId": str(patient.id),
    }

    refused_name = api.post("/api/v1/files", long_name, format="json")
    refused_size = api.post("/api/v1/files", too_big, format="json")

    assert refused_name.status_code == 400
    assert refused_name.json()["code"] == "parse_error"
    assert "files.0.name is longer than the 64 KB allowed" in refused_name.json()["error"]
    assert refused_size.status_code == 413
    assert refused_size.json()["code"] == "payload_too_large"
    assert "larger than the 4 KB allowed" in refused_size.json()["error"]
    assert File.objects.count() == 0


def test_a_file_at_the_limit_with_mime_line_breaks_is_accepted(api, patient, settings):
    """GIVEN contents of exactly the upload limit, Base64 with a line break every 76
    characters (JSON-escaped as \\r\\n) WHEN posted THEN 201: the cap leaves room for them."""
    settings.FILES_MAX_UPLOAD_BYTES = 64 * 1024
    data = os.urandom(64 * 1024)
    contents = base64.encodebytes(data).decode().replace("\n", "\r\n")
    body = {
        "files": [{"name": "a.pdf", "type": "application/pdf", "contents": contents}],
        "userId": str(patient.id),
    }

    response = api.post("/api/v1/files", body, format="json")

    assert response.status_code == 201, response.content
    assert File.objects.get().size == len(data)


@pytest.mark.parametrize("read_bytes", [1, 2, 7, 64])
def test_the_guard_follows_json_across_every_read_boundary(monkeypatch, read_bytes):
    """GIVEN a body with escaped quotes and backslashes in keys and values, nested
    containers, numbers and a contents string WHEN parsed in reads of 1, 2, 7 and 64 bytes
    THEN the document is exactly json.loads' (contents decoded), and nothing is refused."""
    monkeypatch.setattr(parsers, "READ_BYTES", read_bytes)
    document = {
        'we\\ird "key"': ['a "quoted" \\ value', {"nested": [1, 2.5, None, True]}],
        "files": [
            {"name": 'x\\"y.pdf', "contents": base64.b64encode(b"hello").decode()},
            {"name": "z", "type": "a/b", "contents": "QQ=="},
        ],
        "userId": "\u00e9\u4e2d",
    }
    raw = json.dumps(document).replace("/", "\\/").encode()

    parsed = XonBase64JsonParser().parse(io.BytesIO(raw))
    try:
        assert parsed["files"][0]["contents"].file.read() == b"hello"
        assert parsed["files"][1]["contents"].file.read() == b"A"
        for item in parsed["files"]:
            item.pop("contents")
        for item in document["files"]:
            item.pop("contents")
        assert parsed == document
    finally:
        base64_uploads_close(parsed)
