"""Serving a file's bytes: ``serve``, the one function every door that sends bytes calls.

Each door finds its caller and the file its own way (an API key on one of the vendor
APIs, a staff member's session on the dashboard, a Django admin, a patient's verified
session, a FHIR client), because who may see which file differs from door to door. It then
hands the file, the form of it to send and the actor to ``serve``, which alone decides the
rest, identically for every door:

- whether the file may be sent now (``refusal``: ready, not expired, not purged);
- which stored form answers (the content, a named facet, the kept ``imageSize`` rendition);
- the headers: the form's own type (sniffed from the bytes at processing, never the
  name's), ``Content-Disposition: attachment`` with a safe name, ``nosniff`` and a
  sandboxing CSP so a browser never runs or renders the bytes as a page, ``private,
  no-store`` so no cache keeps a patient's bytes, the form's digest as its ``ETag``, Range;
- the ``file.download`` audit row, written before a byte is sent;
- the streaming, with the stored object opened first so a missing object or a storage that
  does not answer is a clean 410 or 503 rather than a cut connection.

It is on the portal's busiest path (an integrator fetching a kept thumbnail), so it asks
nothing of the database beyond the audit INSERT when the door has already found the form
to send, and that INSERT is one prepared statement.
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

import psycopg
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.db import connection
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone

from files import selectors
from files.keys import path_problem
from files.models import Facet, File
from files.names import safe_filename
from files.pipeline import renditions
from files.storage.objects import CHUNK, stored_bytes
from portal.api.errors import error_body
from portal.audit.services import Actor, audit_insert_statement, audit_values

logger = logging.getLogger(__name__)

# S3's codes for an object that is not there.
MISSING_OBJECT_CODES = {"NoSuchKey", "404", "NotFound"}
STORAGE_ERRORS = (OSError, BotoCoreError, ClientError, SuspiciousFileOperation)
RANGE = re.compile(r"bytes=(\d*)-(\d*)")
EXTENSIONS_FOR_TYPE = {
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/png": (".png",),
    "image/webp": (".webp",),
    "application/pdf": (".pdf",),
}
# On every answer that carries a file's bytes, whatever the door.
CACHE_CONTROL = "private, no-store"
SANDBOX = "sandbox; default-src 'none'"
DOWNLOAD = "file.download"


class ServedFile(Protocol):
    """What ``serve`` reads of a file: a ``File``, or the fast API door's row of one."""

    pk: uuid.UUID
    account_id: uuid.UUID
    original_name: str
    state: str
    expires_at: object
    purged_at: object
    rejection_reason: str


class ServedFacet(Protocol):
    """What ``serve`` reads of the stored form it sends: a ``Facet``, or a row of one."""

    name: str
    storage_key: str
    mime_type: str
    size: int
    sha256: str


class Refusal(enum.Enum):
    """Why a file cannot be sent now. Each door words it in its own dialect (the
    vendor APIs and pages with ``refusal_response``, FHIR as an OperationOutcome)."""

    GONE = "gone"  # expired, or its bytes removed by the retention sweep
    NOT_READY = "not_ready"  # still being checked
    REJECTED = "rejected"  # the checks refused it


def refusal(file: ServedFile) -> Refusal | None:
    """Whether ``file`` may be sent now: None when it is ready and neither expired nor
    purged (an expiry time is the first instant it is no longer served)."""
    if file.purged_at is not None or (
        file.expires_at is not None and timezone.now() >= file.expires_at
    ):
        return Refusal.GONE
    if file.state in (File.State.PENDING, File.State.PROCESSING):
        return Refusal.NOT_READY
    if file.state == File.State.REJECTED:
        return Refusal.REJECTED
    return None


def error_response(message: str, code: str, status: int, **headers) -> JsonResponse:
    response = JsonResponse(error_body(message, code), status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def refusal_response(file: ServedFile) -> JsonResponse | None:
    """The answer for a file that cannot be sent (410 expired, 409 not ready with
    ``Retry-After``, 409 rejected with the reason), or None when it can."""
    refused = refusal(file)
    if refused is Refusal.GONE:
        return error_response("This file has expired and is no longer available.", "gone", 410)
    if refused is Refusal.NOT_READY:
        return error_response(
            "This file is still being processed; try again shortly.",
            "not_ready",
            409,
            Retry_After=str(settings.FILES_NOT_READY_RETRY_AFTER),
        )
    if refused is Refusal.REJECTED:
        return error_response(f"This file was rejected: {file.rejection_reason}", "rejected", 409)
    return None


def content_disposition(name: str, mime_type: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987).

    The fallback keeps only printable ASCII minus quotes and backslashes, so no
    name can break out of the header or the quoted string.
    """
    name = safe_filename(name, default="file")
    extensions = EXTENSIONS_FOR_TYPE.get(mime_type)
    if extensions and not name.lower().endswith(extensions):
        # e.g. a HEIC photo served as its cleaned JPEG, or a name without extension
        stem = name.rsplit(".", 1)[0] if "." in name else name
        name = f"{stem}{extensions[0]}"
    ascii_name = "".join(c for c in name if 32 <= ord(c) < 127 and c not in '"\\') or "file"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(start, end inclusive) for one satisfiable range; None to send it all; "bad" for 416."""
    match = RANGE.fullmatch(header.strip())
    if not match or (not match[1] and not match[2]):
        return None  # several ranges or an unknown unit: the whole file is a valid answer
    if not match[1]:
        length = int(match[2])
        if length == 0:
            return "bad"
        return max(0, size - length), size - 1
    start = int(match[1])
    end = int(match[2]) if match[2] else size - 1
    if start >= size or end < start:
        return "bad"
    return start, min(end, size - 1)


class StoredBytesUnavailable(Exception):
    """The bytes cannot be read: ``response`` is the answer to send instead (410 when the
    object is gone, 503 when the storage does not answer)."""

    def __init__(self, response: JsonResponse):
        super().__init__(response.status_code)
        self.response = response


def gone_response() -> JsonResponse:
    return error_response(
        "This file's stored bytes are missing, so it cannot be sent. Ask the clinic to "
        "upload it again.",
        "gone",
        410,
    )


def storage_unavailable_response() -> JsonResponse:
    return error_response(
        "The file store is not answering; try again shortly.",
        "storage_unavailable",
        503,
        Retry_After=str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER),
    )


def storage_failure(error: BaseException, *, file_id) -> StoredBytesUnavailable:
    """What a storage error while opening a file's bytes means for the caller."""
    missing = isinstance(
        error, FileNotFoundError | IsADirectoryError | NotADirectoryError | SuspiciousFileOperation
    ) or (
        isinstance(error, ClientError)
        and str(error.response.get("Error", {}).get("Code")) in MISSING_OBJECT_CODES
    )
    return unreadable(file_id=file_id, missing=missing, why=type(error).__name__)


def unreadable(*, file_id, missing: bool, why: str) -> StoredBytesUnavailable:
    """The answer for bytes that cannot be sent (410 when gone, 503 when the store did not
    answer), logged by the file's id only: its name and key may say who the patient is."""
    logger.error(
        "Stored bytes of file %s could not be read (%s): %s",
        file_id,
        "missing" if missing else "storage error",
        why,
    )
    return StoredBytesUnavailable(gone_response() if missing else storage_unavailable_response())


def opened_stream(key: str, start: int, length: int, *, file_id) -> Iterator[bytes]:
    """The bytes, with the object already opened and its first chunk read, so a missing
    object or a storage that does not answer is known before any header is sent (once
    the headers are out, the only thing left to do is cut the connection)."""
    if problem := path_problem(key):
        # Never hand a name that is not a clean key to storage (it may normalise it into
        # another object's name, or a folder): the bytes are as good as gone.
        logger.error("File %s names a storage key that %s", file_id, problem)
        raise StoredBytesUnavailable(gone_response())
    chunks = stored_bytes(key, start, length, chunk_size=CHUNK)
    try:
        first = next(chunks, None)
    except STORAGE_ERRORS as error:
        raise storage_failure(error, file_id=file_id) from error
    if first is None:
        # Bytes were recorded (every stored form has some), none are there: the object was
        # emptied behind the portal's back. Gone, rather than a 200 with no body.
        raise unreadable(file_id=file_id, missing=True, why="empty object")
    return itertools.chain([first], chunks)


@contextlib.contextmanager
def _statement_cursor():
    """A cursor for the serving path's hand-built statements, and what its ``execute`` is
    told beside the SQL.

    On PostgreSQL a psycopg cursor of Django's own connection that binds the parameters on
    the server and prepares the statement (psycopg keeps it per connection): Django's cursor
    quotes every parameter into the SQL text in Python and PostgreSQL then parses and plans
    the text again on every request, which the serving benchmark showed as a large share of
    the request. Elsewhere (SQLite) Django's cursor."""
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        # Django's error wrapper: a database that stops answering is django.db's
        # OperationalError (a 503, as on every other path), not psycopg's own (a 500).
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            yield cursor, {"prepare": True}
    else:
        with connection.cursor() as cursor:
            yield cursor, {}


def run_statement(sql: str, params: list, *, fetch: bool) -> list[tuple] | None:
    """Run one of the serving path's hand-built statements (the audit INSERT here, the
    fast API door's look-up): its rows when ``fetch``."""
    with _statement_cursor() as (cursor, options):
        cursor.execute(sql, params, **options)
        return cursor.fetchall() if fetch else None


def download_audit(*, request, actor: Actor, file: ServedFile, detail: dict) -> None:
    """Write the ``file.download`` row: the row ``audit_record`` writes (its actor, the
    caller's address and User-Agent), as one prepared INSERT committed on its own. A
    download changes nothing else, so a transaction around it would only add BEGIN and
    COMMIT round trips, and the ORM's building of the statement costs more than the
    round trip itself. Audit rows are append-only: an INSERT is all one ever gets."""
    sql, fields = audit_insert_statement()
    values = {
        "id": uuid.uuid4(),
        "occurred_at": timezone.now(),
        "account_id": file.account_id,
        **audit_values(
            actor=actor,
            action=DOWNLOAD,
            target_type=File._meta.label_lower,
            target_id=str(file.pk),
            request=request,
            detail=detail,
        ),
    }
    params = [field.get_db_prep_save(values[field.attname], connection) for field in fields]
    run_statement(sql, params, fetch=False)


@dataclass(frozen=True)
class Envelope:
    """The bytes sent inside another document rather than as they are (FHIR's Binary
    resource as JSON, the bytes in Base64): its type and validator, and ``wrap``, which
    turns the stored bytes into the document's. Never partial, never a download."""

    content_type: str
    etag: str
    wrap: Callable[[Iterator[bytes]], Iterator[bytes]]
    format: str  # the audit row's name for it


def serve(
    request,
    *,
    file: ServedFile,
    actor: Actor,
    facet: ServedFacet | None = None,
    facet_name: str | None = None,
    image_size: tuple[int, int] | None = None,
    envelope: Envelope | None = None,
) -> HttpResponse:
    """The bytes of ``file`` the door's caller may have, streamed and audited as ``actor``.

    The form sent: ``facet`` when the door has found it already, else the ready facet
    ``facet_name`` (404 when there is none), else the aspect-fill rendition for
    ``image_size`` (images only; 409 with ``Retry-After`` while the worker makes it),
    else the content. A file that may not be sent is refused (``refusal_response``).
    """
    refused = refusal_response(file)
    if refused is not None:
        return refused
    try:
        if facet is None:
            facet = _facet_to_send(file, facet_name=facet_name, image_size=image_size)
            if isinstance(facet, HttpResponse):
                return facet
        return _send(request, file=file, facet=facet, actor=actor, envelope=envelope)
    except StoredBytesUnavailable as unavailable:
        return unavailable.response


def _facet_to_send(file: File, *, facet_name, image_size) -> Facet | HttpResponse:
    if facet_name is not None:
        facet = selectors.facet_get(file=file, name=facet_name)
        return facet or error_response("This file has no such form.", "not_found", 404)
    if image_size is not None and file.is_image:
        # Made by the worker (files.pipeline.renditions): this process never decodes an
        # image, nor touches storage while it waits (it reads the facet's row).
        facet = renditions.facet_rendition_wait(
            file=file,
            width=image_size[0],
            height=image_size[1],
            timeout=settings.FILES_RENDITION_WAIT_SECONDS,
        )
        return facet or error_response(
            "This size of the image is still being made; try again shortly.",
            "not_ready",
            409,
            Retry_After=str(settings.FILES_NOT_READY_RETRY_AFTER),
        )
    return selectors.facet_get(file=file, name=Facet.CONTENT) or gone_response()


def _send(request, *, file: ServedFile, facet: ServedFacet, actor: Actor, envelope):
    meta = request.META
    size = facet.size
    requested_range = None
    not_modified = False
    if envelope is None:
        etag = f'"{facet.sha256}"'
        # A Range is honoured only for the version the client holds (If-Range, by ETag).
        if meta.get("HTTP_RANGE") and meta.get("HTTP_IF_RANGE", etag) == etag:
            requested_range = parse_range(meta["HTTP_RANGE"], size)
        if_none_match = meta.get("HTTP_IF_NONE_MATCH")
        not_modified = if_none_match is not None and etag in (
            tag.strip() for tag in if_none_match.split(",")
        )
        detail = {"facet": facet.name, "range": requested_range is not None}
    else:
        etag = envelope.etag  # the document's validator; the door answered its conditionals
        detail = {"facet": facet.name, "format": envelope.format}

    body = None
    if not not_modified and requested_range != "bad":
        start, end = requested_range or (0, size - 1)
        body = opened_stream(facet.storage_key, start, end - start + 1, file_id=file.pk)

    download_audit(request=request, actor=actor, file=file, detail=detail)

    if not_modified:
        response = HttpResponse(status=304)
    elif requested_range == "bad":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    elif envelope is not None:
        response = StreamingHttpResponse(envelope.wrap(body), content_type=envelope.content_type)
    elif requested_range is not None:
        start, end = requested_range
        response = StreamingHttpResponse(body, status=206, content_type=facet.mime_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = StreamingHttpResponse(body, content_type=facet.mime_type)
        response["Content-Length"] = str(size)
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX
    if envelope is None:
        response["Content-Disposition"] = content_disposition(file.original_name, facet.mime_type)
        response["Accept-Ranges"] = "bytes"
    return response
