"""Two posts of one upload ticket, the second arriving while the first is still sending.

The embedded storage's POST endpoint checks that a ticket is unused when the form's fields
have arrived, then reads the file; a second post of the same ticket can pass that check
while the first is still streaming its bytes. Whichever finishes second must be refused
as S3 refuses a used policy (403, the ticket already used), never a server error, and the
ticket must keep the first object stored. The first post's body is held part-way through
its file, after the endpoint has read its fields, so the order is certain.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.client import encode_multipart

from files import services
from files.models import UploadTicket
from files.tickets.policies import presigned_post_for
from portal.audit.services import Actor
from tests.support.multipart import NamedBytes

BOUNDARY = "UploadRaceBoundary"
# Larger than the endpoint's 64 KB reads, so the first post is held inside its file part.
SLOW_BYTES = b"s" * (256 * 1024)
FAST_BYTES = b"fast photo bytes"
HOLD_AT = 192 * 1024


class HeldBody:
    """A request body that stops at ``hold_at`` bytes (telling ``reached``) until ``go``."""

    def __init__(self, body: bytes, hold_at: int):
        self.body, self.position, self.hold_at = body, 0, hold_at
        self.reached, self.go = threading.Event(), threading.Event()

    def _wait(self, size: int) -> int:
        if self.position + size > self.hold_at and not self.go.is_set():
            self.reached.set()
            assert self.go.wait(timeout=60), "the held post was never let go"
        return size

    def read(self, size: int = -1) -> bytes:
        size = len(self.body) - self.position if size is None or size < 0 else size
        self._wait(size)
        chunk = self.body[self.position : self.position + size]
        self.position += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        end = self.body.find(b"\n", self.position)
        end = len(self.body) if end < 0 else end + 1
        if size is not None and size >= 0:
            end = min(end, self.position + size)
        return self.read(end - self.position)


def form(ticket_post: dict, name: str, data: bytes) -> bytes:
    return encode_multipart(BOUNDARY, {**ticket_post["fields"], "file": NamedBytes(name, data)})


def post(body, length: int, path: str):
    response = Client(raise_request_exception=False).generic(
        "POST",
        path,
        b"x" * length if isinstance(body, HeldBody) else body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        **({"wsgi.input": body} if isinstance(body, HeldBody) else {}),
    )
    return response


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("second_name", ["a.jpg", "b.jpg"], ids=["same-name", "other-name"])
def test_a_post_that_finishes_after_another_of_its_ticket_is_refused_as_used(
    account, patient, second_name
):
    """GIVEN one ticket and a post of it held while sending its file (its fields already
    read) WHEN a second post of the ticket is stored meanwhile and the first then finishes
    THEN the first is refused as used (403, the S3 error and the person's sentence), the
    second's object is the ticket's, and nothing else is stored."""
    ticket = services.upload_ticket_issue(
        account=account, patient=patient, purpose="photo", issued_by=Actor.system()
    )
    ticket_post = presigned_post_for(ticket)
    path = urlsplit(ticket_post["url"]).path
    held = HeldBody(form(ticket_post, "a.jpg", SLOW_BYTES), HOLD_AT)
    answers = {}

    def send_held() -> None:
        try:
            answers["held"] = post(held, len(held.body), path)
        finally:
            held.reached.set()
            connection.close()

    first = threading.Thread(target=send_held)
    first.start()
    try:
        assert held.reached.wait(timeout=60)
        assert "held" not in answers, answers["held"].content
        fast = post(form(ticket_post, second_name, FAST_BYTES), 0, path)
    finally:
        held.go.set()
        first.join(timeout=60)

    assert fast.status_code == 201, fast.content
    refused = answers["held"]
    assert refused.status_code == 403, refused.content
    assert b"<Code>AccessDenied</Code>" in refused.content
    assert b"This upload ticket has already been used" in refused.content
    ticket.refresh_from_db()
    assert ticket.state == UploadTicket.State.UPLOADED
    with default_storage.open(ticket.uploaded_key) as stored:
        assert stored.read() == FAST_BYTES
    _, names = default_storage.listdir(ticket.key_prefix.rstrip("/"))
    assert len(names) == 1
