"""An upload whose connection ends before its body does (a phone losing its signal half-way
through a photo) stores nothing at the embedded storage's endpoint, as S3 stores nothing:
``400 IncompleteBody``, the ticket still unused, and the same ticket then takes the whole
photo. Before, the part that arrived was stored as the photo, confirmed, and rejected by
processing as damaged, and the patient was asked to take a photo that was never damaged.

Sent over real sockets to the live server, cut where a signal can cut it: in the form's
fields, in the middle of the photo, and after the photo's last byte but before the closing
boundary. The API's own multipart door is held to the same: a body cut short makes no file.
"""

from __future__ import annotations

import io
import json
import socket
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from django.core.files.storage import default_storage
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test.client import encode_multipart

from files.models import File, UploadTicket
from files.tickets.policies import presigned_post_for
from portal.accounts.services import api_key_create
from tests.files import samples
from tests.files.conftest import stored_keys
from tests.support.multipart import NamedBytes

pytestmark = pytest.mark.django_db(transaction=True)
BOUNDARY = "PortalCutBoundary"


def form_for(ticket, photo: bytes) -> tuple[str, bytes]:
    post = presigned_post_for(ticket)
    body = encode_multipart(BOUNDARY, {**post["fields"], "file": NamedBytes("IMG_1.jpg", photo)})
    return urlsplit(post["url"]).path, body


def send(live_server, path: str, body: bytes, *, sent: int) -> tuple[int, str]:
    """POST ``body`` announcing its whole length, send only its first ``sent`` bytes, then
    close the sending side as a lost connection does; (status, S3 error code). ``body``
    may itself be cut, its length counted for what is left."""
    address = urlsplit(live_server.url)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(head + body[:sent])
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    payload = answer.split(b"\r\n\r\n", 1)[1]
    code = ElementTree.fromstring(payload).findtext("Code") if payload.strip() else ""
    return status, code


def cut_points(body: bytes, photo: bytes) -> dict[str, int]:
    start = body.index(photo)
    return {
        "in the form's fields": body.index(b"policy") + 20,
        "in the middle of the photo": start + len(photo) // 2,
        "after the photo, before the closing boundary": start + len(photo),
    }


@pytest.mark.parametrize(
    "cut",
    [
        "in the form's fields",
        "in the middle of the photo",
        "after the photo, before the closing boundary",
    ],
)
def test_a_body_cut_short_stores_nothing_and_the_ticket_then_takes_the_whole_photo(
    live_server, issue, cut
):
    """GIVEN a photo's ticket WHEN the connection ends before the body's announced length
    THEN 400 IncompleteBody, wherever it was cut, nothing is stored under the ticket,
    the ticket is unused; and the same ticket then stores the whole photo, byte for byte."""
    ticket = issue(max_size=1024 * 1024)
    photo = samples.jpeg()
    path, body = form_for(ticket, photo)

    status, code = send(live_server, path, body, sent=cut_points(body, photo)[cut])

    assert (status, code) == (400, "IncompleteBody")
    assert stored_keys(ticket.key_prefix) == []
    ticket.refresh_from_db()
    assert ticket.state == UploadTicket.State.ISSUED

    status, code = send(live_server, path, body, sent=len(body))
    assert status == 201, code
    [key] = stored_keys(ticket.key_prefix)
    with default_storage.open(key, "rb") as stored:
        assert stored.read() == photo


@pytest.mark.parametrize(
    "ends",
    [
        "after the photo",
        "in the closing boundary",
        "at the boundary, without its closing dashes",
    ],
)
def test_a_body_counted_for_a_cut_file_is_refused_as_malformed(live_server, issue, ends):
    """GIVEN a photo's ticket WHEN the body arrives whole but ends before the boundary that
    closes the file (a client that counted its Content-Length for a cut file) THEN 400
    MalformedPOSTRequest, nothing stored, the ticket unused; the whole body then stores
    the photo."""
    ticket = issue(max_size=1024 * 1024)
    photo = samples.jpeg()
    path, body = form_for(ticket, photo)
    after_photo = body.index(photo) + len(photo)
    closing = body.index(f"--{BOUNDARY}--".encode(), after_photo)
    cut_at = {
        "after the photo": after_photo,
        "in the closing boundary": closing + 8,
        "at the boundary, without its closing dashes": closing + len(BOUNDARY) + 2,
    }[ends]

    status, code = send(live_server, path, body[:cut_at], sent=cut_at)

    assert (status, code) == (400, "MalformedPOSTRequest")
    assert stored_keys(ticket.key_prefix) == []
    ticket.refresh_from_db()
    assert ticket.state == UploadTicket.State.ISSUED
    assert send(live_server, path, body, sent=len(body))[0] == 201
    [key] = stored_keys(ticket.key_prefix)
    with default_storage.open(key, "rb") as stored:
        assert stored.read() == photo


@pytest.mark.parametrize("cut", ["in the middle of the photo", "after the photo"])
def test_the_apis_multipart_door_makes_no_file_of_a_body_cut_short(account, patient, cut):
    """GIVEN X-on's multipart upload (`POST /api/v1/files`) WHEN its body ends before the
    announced length THEN 400 naming the missing file part, and no file is made: Django's
    parser drops a part that never ended. Through Django's WSGI handler with the body's
    stream ending early, as a dropped connection ends it."""
    request_started.disconnect(close_old_connections)  # keep the test's transaction open
    request_finished.disconnect(close_old_connections)
    try:
        photo = samples.jpeg()
        body = encode_multipart(
            BOUNDARY, {"userId": str(patient.id), "files": NamedBytes("IMG_1.jpg", photo)}
        )
        ends = body.index(photo) + (
            len(photo) // 2 if cut == "in the middle of the photo" else len(photo)
        )
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/v1/files",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "HTTP_HOST": "testserver",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body[:ends]),
            "wsgi.errors": io.StringIO(),
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
            "HTTP_X_API_KEY": api_key_create(account=account).plaintext,
        }
        statuses = []
        answer = b"".join(WSGIHandler()(environ, lambda status, headers: statuses.append(status)))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert statuses == ["400 Bad Request"]
    assert "files" in json.loads(answer)["fields"]
    assert not File.objects.filter(patient=patient).exists()
