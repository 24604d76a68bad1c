"""Reading X-on's Base64-in-JSON uploads (``POST /api/v1/files``) as the body arrives.

DRF's ``JSONParser`` reads the whole body into memory (so Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE``, 2.5 MB, refused any larger upload as malformed), decodes it
to text, parses it, and the view then copied the Base64 text again to strip whitespace: five
or more copies of a file in the web process. This parser reads the body in chunks with ijson
(yajl's C parser) and decodes each file's ``contents`` into a temporary file, in slices, as
soon as its string is parsed. What the process holds of a file is its Base64 text twice (the
token in yajl's buffer and the ``str`` made from it, about 2.7 times the file) for one file at
a time, and never its decoded bytes. ijson has no way to hand a long string over in pieces;
that floor is the price of a well-kept parser. The body's size is bounded before parsing by
``FILES_MAX_REQUEST_BYTES`` (the view checks ``Content-Length`` first).

Base64 is checked exactly as before: the alphabet, padding only at the end (at most two
``=``), a length that is a multiple of four once whitespace is removed; anything else is
``contents is not valid Base64.`` (400), and a file past ``FILES_MAX_UPLOAD_BYTES`` is 413.
"""

from __future__ import annotations

import binascii
import re
import tempfile
from dataclasses import dataclass, field
from typing import IO

import ijson
from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

try:
    basic_parse = ijson.get_backend("yajl2_c").basic_parse
except ImportError:  # the wheel without its C extension: pure Python, slower, same results
    basic_parse = ijson.basic_parse

# Where the Base64 text of a file sits in X-on's body: {"files": [{"contents": "..."}]}.
CONTENTS_PATH = ("files", "item", "contents")
# Base64 characters decoded per slice (a multiple of 4 keeps most slices aligned).
SLICE_CHARS = 256 * 1024
WHITESPACE = re.compile(r"\s+")
BASE64_SLICE = re.compile(r"[A-Za-z0-9+/]*(=*)")
INVALID = "invalid"
TOO_LARGE = "too_large"


@dataclass
class Base64Upload:
    """One file's bytes, decoded from its Base64 ``contents`` into a temporary file.

    ``error`` is ``"invalid"`` (not Base64) or ``"too_large"`` (past ``limit``; decoding
    stopped there), and then ``file`` is None. Close it when the request is done.
    """

    file: IO[bytes] | None
    size: int
    limit: int
    error: str = ""
    closed: bool = field(default=False, repr=False)

    def close(self) -> None:
        if self.file is not None and not self.closed:
            self.file.close()
        self.closed = True


def base64_upload_from_text(text: str, *, limit: int | None = None) -> Base64Upload:
    """Decode Base64 ``text`` slice by slice into a spooled temporary file."""
    limit = settings.FILES_MAX_UPLOAD_BYTES if limit is None else limit
    spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed by Base64Upload.close)
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, dir=settings.FILE_UPLOAD_TEMP_DIR
    )
    pending = ""  # characters left over from the last slice (fewer than four)
    padding = 0
    size = 0
    try:
        for start in range(0, len(text), SLICE_CHARS):
            compact = WHITESPACE.sub("", text[start : start + SLICE_CHARS])
            if not compact:
                continue
            match = BASE64_SLICE.fullmatch(compact)
            # Padding ends the text: after an "=", only more "=" (two at most) may follow.
            if match is None or (padding and len(match[1]) != len(compact)):
                return _failed(spool, INVALID, limit)
            padding += len(match[1])
            if padding > 2:
                return _failed(spool, INVALID, limit)
            pending += compact
            whole = len(pending) // 4 * 4
            decoded = binascii.a2b_base64(pending[:whole], strict_mode=True)
            pending = pending[whole:]
            size += len(decoded)
            if size > limit:
                return _failed(spool, TOO_LARGE, limit, size=size)
            spool.write(decoded)
    except binascii.Error:
        return _failed(spool, INVALID, limit)
    if pending:  # the length was not a multiple of four
        return _failed(spool, INVALID, limit)
    spool.seek(0)
    return Base64Upload(spool, size, limit)


def _failed(spool, error: str, limit: int, *, size: int = 0) -> Base64Upload:
    spool.close()
    return Base64Upload(None, size, limit, error=error)


def base64_uploads_close(data) -> None:
    """Close every Base64Upload in parsed X-on data (also after a validation error)."""
    files = data.get("files") if isinstance(data, dict) else None
    for item in files if isinstance(files, list) else []:
        contents = item.get("contents") if isinstance(item, dict) else None
        if isinstance(contents, Base64Upload):
            contents.close()


class XonBase64JsonParser(BaseParser):
    """``application/json`` for X-on's upload door: the document as ``json.load`` would give it,
    except that each ``files[].contents`` string is a `Base64Upload` already decoded to disk."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        builder = ijson.ObjectBuilder()
        path: list = []
        uploads: list[Base64Upload] = []
        try:
            for event, value in basic_parse(stream, use_float=False):
                if event in ("start_map", "start_array"):
                    path.append("item" if event == "start_array" else None)
                elif event in ("end_map", "end_array"):
                    path.pop()
                elif event == "map_key":
                    path[-1] = value
                if event == "string" and tuple(path) == CONTENTS_PATH:
                    upload = base64_upload_from_text(value)
                    uploads.append(upload)
                    del value  # the Base64 text: only its decoded bytes are kept, on disk
                    builder.event(event, upload)
                else:
                    builder.event(event, value)
        except ijson.JSONError as error:
            for upload in uploads:
                upload.close()
            raise ParseError(f"JSON parse error - {error}") from None
        return builder.value
