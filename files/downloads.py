"""Serving a file's bytes: through the portal only, audited, with headers that keep the
bytes inert in a browser. Attachment routes of every dialect reuse ``file_response``."""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse

from files import renditions, selectors
from files.keys import path_problem
from files.models import Facet, File
from files.names import safe_filename
from files.storage import stored_bytes
from portal.api.errors import error_body
from portal.audit.services import audit_record

logger = logging.getLogger(__name__)

CHUNK = 256 * 1024
# S3's codes for an object that is not there.
MISSING_OBJECT_CODES = {"NoSuchKey", "404", "NotFound"}
RANGE = re.compile(r"bytes=(\d*)-(\d*)")
EXTENSIONS_FOR_TYPE = {
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/png": (".png",),
    "image/webp": (".webp",),
    "application/pdf": (".pdf",),
}


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


def error_response(message: str, code: str, status: int, **headers) -> JsonResponse:
    response = JsonResponse(error_body(message, code), status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def file_state_response(file: File) -> JsonResponse | None:
    """The answer for a file that cannot be served (expired, not ready, rejected), or None."""
    if file.is_expired or file.purged_at is not None:
        return error_response("This file has expired and is no longer available.", "gone", 410)
    if file.state in (File.State.PENDING, File.State.PROCESSING):
        return error_response(
            "This file is still being processed; try again shortly.",
            "not_ready",
            409,
            Retry_After=str(settings.FILES_NOT_READY_RETRY_AFTER),
        )
    if file.state == File.State.REJECTED:
        return error_response(f"This file was rejected: {file.rejection_reason}", "rejected", 409)
    return None


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


def stream(key: str, start: int, length: int):
    return stored_bytes(key, start, length, chunk_size=CHUNK)


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


def storage_failure(error: BaseException, *, file: File) -> StoredBytesUnavailable:
    """What a storage error while opening a file's bytes means for the caller."""
    missing = isinstance(
        error, FileNotFoundError | IsADirectoryError | NotADirectoryError | SuspiciousFileOperation
    ) or (
        isinstance(error, ClientError)
        and str(error.response.get("Error", {}).get("Code")) in MISSING_OBJECT_CODES
    )
    # The file's id only: its name and key may say who the patient is.
    logger.error(
        "Stored bytes of file %s could not be read (%s): %s",
        file.pk,
        "missing" if missing else "storage error",
        type(error).__name__,
    )
    return StoredBytesUnavailable(gone_response() if missing else storage_unavailable_response())


STORAGE_ERRORS = (OSError, BotoCoreError, ClientError, SuspiciousFileOperation)


def opened_stream(key: str, start: int, length: int, *, file: File) -> Iterator[bytes]:
    """The bytes, with the object already opened and its first chunk read, so a missing
    object or a storage that does not answer is known before any header is sent (once
    the headers are out, the only thing left to do is cut the connection)."""
    if problem := path_problem(key):
        # Never hand a name that is not a clean key to storage (it may normalise it into
        # another object's name, or a folder): the bytes are as good as gone.
        logger.error("File %s names a storage key that %s", file.pk, problem)
        raise StoredBytesUnavailable(gone_response())
    chunks = stream(key, start, length)
    try:
        first = next(chunks, None)
    except STORAGE_ERRORS as error:
        raise storage_failure(error, file=file) from error
    if first is None:
        return iter(())
    return itertools.chain([first], chunks)


def file_response(
    request,
    *,
    file: File,
    image_size: tuple[int, int] | None = None,
    facet_name: str | None = None,
):
    """The bytes of ``file`` (or its aspect-fill rendition), streamed, audited.

    410 when expired, 409 with ``Retry-After`` while processing, 409 when rejected.
    ``image_size`` is ignored for files that are not images; ``facet_name`` serves a
    stored facet (``thumbnail``) as it is.
    """
    refusal = file_state_response(file)
    if refusal is not None:
        return refusal
    try:
        return facet_response(request, file=file, image_size=image_size, facet_name=facet_name)
    except StoredBytesUnavailable as unavailable:
        return unavailable.response


def facet_response(request, *, file: File, image_size, facet_name):
    if facet_name is not None:
        facet = selectors.facet_get(file=file, name=facet_name)
        if facet is None:
            return error_response("This file has no such form.", "not_found", 404)
    elif image_size is not None and file.is_image:
        try:
            # Made by the worker (files.renditions): this process never decodes an image.
            facet = renditions.facet_rendition_wait(
                file=file,
                width=image_size[0],
                height=image_size[1],
                timeout=settings.FILES_RENDITION_WAIT_SECONDS,
            )
        except STORAGE_ERRORS as error:
            raise storage_failure(error, file=file) from error
        if facet is None:
            return error_response(
                "This size of the image is still being made; try again shortly.",
                "not_ready",
                409,
                Retry_After=str(settings.FILES_NOT_READY_RETRY_AFTER),
            )
    else:
        facet = file.facets.filter(name=Facet.CONTENT, state=Facet.State.READY).first()
        if facet is None:
            return gone_response()

    etag = f'"{facet.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Content-Disposition": content_disposition(file.original_name, facet.mime_type),
        "Accept-Ranges": "bytes",
    }
    requested_range = None
    if_range = request.headers.get("If-Range")
    if request.headers.get("Range") and (if_range is None or if_range == etag):
        requested_range = parse_range(request.headers["Range"], facet.size)

    body = None
    not_modified = etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]
    if not not_modified and requested_range != "bad":
        start, end = requested_range or (0, facet.size - 1)
        body = opened_stream(facet.storage_key, start, end - start + 1, file=file)

    # One INSERT, committed on its own before any byte is sent: a download changes nothing
    # else, so a transaction around it would only add BEGIN and COMMIT round trips.
    audit_record(
        account=file.account,
        actor=actor_of(request),
        action="file.download",
        target=file,
        request=request,
        detail={"facet": facet.name, "range": requested_range is not None},
    )

    if not_modified:
        response = HttpResponse(status=304)
    elif requested_range == "bad":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{facet.size}"
    elif requested_range is not None:
        start, end = requested_range
        response = StreamingHttpResponse(body, status=206, content_type=facet.mime_type)
        response["Content-Range"] = f"bytes {start}-{end}/{facet.size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = StreamingHttpResponse(body, content_type=facet.mime_type)
        response["Content-Length"] = str(facet.size)
    for name, value in headers.items():
        response[name] = value
    return response


def actor_of(request):
    from portal.api.caller import Caller
    from portal.audit.services import Actor

    caller = getattr(request, "auth", None)
    if isinstance(caller, Caller):
        return caller.actor
    actor = getattr(request, "portal_actor", None)
    return actor if actor is not None else Actor.anonymous()
