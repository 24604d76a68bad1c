"""``POST /storage/upload``: the embedded storage's answer to S3's browser-based POST upload.

Reads the multipart form as a stream, in order: every field before the file is
checked against the signed policy (signature, expiry, key prefix, fixed values,
no unsigned extra fields), then the file streams to a spooled temporary file
while its size is held to ``content-length-range``, then it is saved at its key.
Answers as S3 does: 201 with a ``PostResponse`` XML, or an XML ``Error``.
Fields after the file are ignored, as S3 ignores them.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.files import File as DjangoFile
from django.core.files.storage import default_storage
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

from files import selectors, services
from files.names import safe_filename
from files.tickets import PostPolicyError, check_fields, location_for

logger = logging.getLogger(__name__)

MAX_FIELD_BYTES = 20 * 1024
MAX_FIELDS = 30


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

    stream = LazyStream(ChunkIter(request, 64 * 1024))
    fields: dict[str, str] = {}
    try:
        for item_type, meta_data, part in Parser(stream, boundary.encode("ascii")):
            name, filename = part_name(meta_data)
            if item_type == RAW or not name:
                continue  # the preamble or epilogue around the parts
            if name.lower() == "file" or item_type == FILE:
                return receive_file(fields, filename or "", part)
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
    raise PostPolicyError(
        400, "InvalidArgument", "POST requires exactly one file upload per request."
    )


def receive_file(fields: dict[str, str], filename: str, part) -> HttpResponse:
    if "key" in fields:
        fields["key"] = fields["key"].replace("${filename}", safe_filename(filename))
    policy = check_fields(fields)
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
        if size < policy.min_size:
            raise PostPolicyError(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                {"ProposedSize": size, "MinSizeAllowed": policy.min_size},
            )
        spool.seek(0)
        # S3 overwrites an object posted twice to one key; so does this endpoint.
        if default_storage.exists(policy.key):
            default_storage.delete(policy.key)
        saved_key = default_storage.save(policy.key, DjangoFile(spool, name=policy.key))
    ticket = selectors.upload_ticket_for_key(key=saved_key)
    if ticket is not None:
        services.upload_ticket_mark_uploaded(ticket=ticket, key=saved_key, size=size)
    logger.info("embedded storage accepted an upload of %d bytes", size)
    if policy.success_action_status == "201":
        return post_response(key=saved_key, etag=digest.hexdigest())
    if policy.success_action_status == "200":
        return HttpResponse(status=200)
    return HttpResponse(status=204)
