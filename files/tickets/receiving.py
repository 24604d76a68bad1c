"""``POST /storage/upload``: the embedded storage's answer to S3's browser-based POST upload.

Reads the multipart form as a stream, in order: every field before the file is
checked against the signed policy (signature, expiry, key prefix, fixed values,
no unsigned extra fields), then the file streams to a spooled temporary file
while its size is held to ``content-length-range``, then it is saved at its key.
The key is checked before storage is touched (``ticket_for_key``): clean, one name
under its ticket's prefix, and the ticket not yet used.
Answers as S3 does: 201 with a ``PostResponse`` XML, or an XML ``Error``.
Fields after the file are ignored, as S3 ignores them.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpResponse
from django.http.multipartparser import (
    FILE,
    RAW,
    ChunkIter,
    LazyStream,
    MultiPartParserError,
    Parser,
)
from django.utils.http import parse_header_parameters
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from files import selectors
from files.keys import MAX_KEY_BYTES, StorageKeyError, storage_key_check, ticket_key_check
from files.models import UploadTicket
from files.names import safe_filename
from files.tickets.policies import PostPolicyError, check_fields, location_for, ticket_refusal
from files.tickets.services import UploadTicketUsed, upload_ticket_store
from portal.read_deadline import set_read_deadline

logger = logging.getLogger(__name__)

MAX_FIELD_BYTES = 20 * 1024
MAX_FIELDS = 30
# Anyone may send the form fields: until the signed policy is checked nothing is known of
# the sender, so they have a total deadline (enforced by the embedded web server) whatever
# their byte rate. A ticket's fields are about 2 KB: a second on a very poor phone network.
FIELDS_SECONDS = 10.0


def xml_error(error: PostPolicyError) -> HttpResponse:
    extra = "".join(
        f"<{name}>{escape(str(value))}</{name}>" for name, value in (error.extra or {}).items()
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{error.code}</Code><Message>{escape(error.message)}</Message>"
        f"{extra}<RequestId>embedded</RequestId></Error>"
    )
    return HttpResponse(body, status=error.status, content_type="application/xml")


def post_response(*, key: str, etag: str) -> HttpResponse:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<PostResponse>"
        f"<Location>{escape(location_for(key))}</Location>"
        f"<Bucket>{escape(settings.FILES_EMBEDDED_BUCKET)}</Bucket>"
        f"<Key>{escape(key)}</Key>"
        f"<ETag>&quot;{etag}&quot;</ETag>"
        "</PostResponse>"
    )
    response = HttpResponse(body, status=201, content_type="application/xml")
    response["ETag"] = f'"{etag}"'
    return response


def part_name(meta_data) -> tuple[str, str | None]:
    _, params = meta_data.get("content-disposition", ("", {}))
    name = params.get("name", b"").decode("utf-8", "replace")
    filename = params.get("filename")
    return name, filename.decode("utf-8", "replace") if filename is not None else None


@csrf_exempt
@require_http_methods(["POST"])
def storage_upload(request, key=None):
    try:
        return receive_upload(request)
    except PostPolicyError as error:
        return xml_error(error)


def receive_upload(request) -> HttpResponse:
    content_type = request.META.get("CONTENT_TYPE", "")
    _, options = parse_header_parameters(content_type)
    boundary = options.get("boundary", "")
    if not content_type.startswith("multipart/form-data") or not boundary:
        raise PostPolicyError(
            412,
            "PreconditionFailed",
            "Bucket POST must be of the enclosure-type multipart/form-data.",
        )
    try:
        content_length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        content_length = 0
    if content_length <= 0:
        raise PostPolicyError(
            411, "MissingContentLength", "You must provide the Content-Length HTTP header."
        )

    body = BodyReader(request, content_length)
    stream = LazyStream(ChunkIter(body, 64 * 1024))
    fields: dict[str, str] = {}
    set_read_deadline(request, FIELDS_SECONDS, what="the form fields before the file")
    try:
        for item_type, meta_data, part in Parser(stream, boundary.encode("ascii")):
            name, filename = part_name(meta_data)
            if item_type == RAW or not name:
                continue  # the preamble or epilogue around the parts
            if name.lower() == "file" or item_type == FILE:
                # The file's own pace is held to the server's byte rate; the policy checked
                # next says who may send it, and how much.
                set_read_deadline(request, None)
                return receive_file(fields, filename or "", part, body, stream)
            value = part.read(MAX_FIELD_BYTES + 1)
            if len(value) > MAX_FIELD_BYTES or len(fields) >= MAX_FIELDS:
                raise PostPolicyError(
                    400,
                    "MaxPostPreDataLengthExceeded",
                    "Your POST request fields preceding the upload file were too large.",
                )
            fields[name.lower()] = value.decode("utf-8", "replace")
    except MultiPartParserError:
        raise PostPolicyError(
            400,
            "MalformedPOSTRequest",
            "The body of your POST request is not well-formed multipart/form-data.",
        ) from None
    if body.ended_early:  # the connection ended among the fields, before any file
        raise incomplete_body()
    raise PostPolicyError(
        400, "InvalidArgument", "POST requires exactly one file upload per request."
    )


class BodyReader:
    """The request's body, read for the multipart parser, counting what arrived.

    A phone that loses its signal half-way through a photo closes the connection, and the
    server then reads the end of the body early, as if the photo had ended there: the
    parser, finding no boundary, hands over the bytes that came as the whole file. S3
    refuses such a body (``IncompleteBody``); so does this endpoint, by comparing what
    arrived with the ``Content-Length`` the client announced.
    """

    def __init__(self, request, content_length: int) -> None:
        self.request = request
        self.content_length = content_length
        self.received = 0
        self.ended_early = False

    def read(self, size: int = -1) -> bytes:
        data = self.request.read(size)
        self.received += len(data)
        if not data and size != 0 and self.received < self.content_length:
            self.ended_early = True
        return data


def incomplete_body() -> PostPolicyError:
    return PostPolicyError(
        400,
        "IncompleteBody",
        "You did not provide the number of bytes specified by the Content-Length HTTP header.",
    )


def ticket_for_key(key: str) -> UploadTicket:
    """The upload ticket this key may be stored under, or an S3-style refusal.

    Runs before a byte is stored or a name is looked up in storage: the key must be
    clean (``files.keys``), be its ticket's prefix and one name, and the ticket must
    not have been used (one ticket stores one object; S3 would overwrite, this
    endpoint refuses, so a ticket holder cannot store a second object or replace
    the first after it was confirmed).
    """
    try:
        storage_key_check(key)
    except StorageKeyError as refused:
        if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
            raise PostPolicyError(400, "KeyTooLongError", "Your key is too long.") from None
        raise PostPolicyError(400, "InvalidArgument", refused.message) from None
    ticket = selectors.upload_ticket_for_key(key=key)
    if ticket is None:
        raise PostPolicyError(
            400, "InvalidArgument", "The storage key does not belong to an upload ticket."
        )
    try:
        ticket_key_check(key, prefix=ticket.key_prefix)
    except StorageKeyError as refused:
        raise PostPolicyError(400, "InvalidArgument", refused.message) from None
    if ticket.state != UploadTicket.State.ISSUED:
        raise ticket_used()
    # A photo for a request that was cancelled or has expired since the ticket was issued
    # is refused like the request's other doors refuse it: the apps above
    # ``files`` register why a ticket may no longer be used (files.tickets.policies).
    refusal = ticket_refusal(ticket)
    if refusal:
        raise PostPolicyError(403, "AccessDenied", refusal)
    return ticket


def ticket_used() -> PostPolicyError:
    return PostPolicyError(
        403,
        "AccessDenied",
        "This upload ticket has already been used: one ticket stores one file. "
        "Ask for a new upload ticket to send another file.",
    )


def receive_file(
    fields: dict[str, str], filename: str, part, body: BodyReader, stream: LazyStream
) -> HttpResponse:
    if "key" in fields:
        fields["key"] = fields["key"].replace("${filename}", safe_filename(filename))
    policy = check_fields(fields)
    ticket = ticket_for_key(policy.key)
    digest = hashlib.md5(usedforsecurity=False)  # S3's ETag of a single-part upload
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE) as spool:
        for chunk in part:
            size += len(chunk)
            if size > policy.max_size:
                raise PostPolicyError(
                    400,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size",
                    {"MaxSizeAllowed": policy.max_size},
                )
            digest.update(chunk)
            spool.write(chunk)
        if body.ended_early:  # the file "ended" where the connection did: nothing is kept
            raise incomplete_body()
        if not stream.read(1):
            # Everything announced arrived, but the file never met its boundary: a body
            # whose Content-Length was counted for a cut file. What came is not the file.
            raise PostPolicyError(
                400,
                "MalformedPOSTRequest",
                "The body of your POST request ended inside the file: the multipart "
                "boundary that closes it is missing.",
            )
        if size < policy.min_size:
            raise PostPolicyError(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                {"ProposedSize": size, "MinSizeAllowed": policy.min_size},
            )
        spool.seek(0)
        try:
            saved_key = upload_ticket_store(ticket=ticket, key=policy.key, content=spool, size=size)
        except UploadTicketUsed:
            raise ticket_used() from None
    logger.info("embedded storage accepted an upload of %d bytes", size)
    if policy.success_action_status == "201":
        return post_response(key=saved_key, etag=digest.hexdigest())
    if policy.success_action_status == "200":
        return HttpResponse(status=200)
    return HttpResponse(status=204)
