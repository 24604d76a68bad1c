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

String lengths are capped while the bytes stream in, before ijson has the string whole
(`StringLengthGuard`): yajl re-reads a string that spans its read buffer at every read,
so its time grows with the square of one string's length (a 150 MB string cost 69 s of
CPU). Every string but ``files[].contents`` stops at ``XON_MAX_TEXT_BYTES`` (400 naming
it); ``contents`` at the Base64 length of ``FILES_MAX_UPLOAD_BYTES`` plus room for line
breaks (413). ijson reads 4 MB at a time, so the longest allowed string costs well under
a second.
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

from files.services import UploadTooLarge
from portal.api.errors import PayloadTooLarge
from portal.api.parsers import MAX_JSON_DEPTH, TOO_DEEP

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
# The longest string (in raw JSON bytes) anywhere but files[].contents: names, types,
# descriptions and ids are far shorter.
XON_MAX_TEXT_BYTES = 64 * 1024
# ijson's read size: yajl's cost for one long string falls with the square of this.
READ_BYTES = 4 * 1024 * 1024
STRING_SPECIAL = re.compile(rb'["\\]')
STRUCTURE = re.compile(rb'["{}\[\]:,]')


def contents_max_json_bytes(limit: int) -> int:
    """The longest ``contents`` string a file of ``limit`` bytes can need: its Base64
    length, plus an eighth for line breaks written as JSON escapes (``\\r\\n`` every
    76 characters is about 5 %), plus a little."""
    base64_length = 4 * ((limit + 2) // 3)
    return base64_length + base64_length // 8 + 1024


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


class JsonTooDeep(Exception):
    pass


class StringTooLong(Exception):
    def __init__(self, path: str, is_contents: bool):
        self.path = path
        self.is_contents = is_contents


class StringLengthGuard:
    """A file-like wrapper that reads the body for ijson and stops any string that grows
    past its cap, while it is still arriving.

    It follows just enough of JSON's structure (containers, keys, where a string starts
    and ends, backslash escapes) to know the path of each string, at C speed: regular
    expressions find the next quote, backslash or structural character. A key is
    ``contents`` here only when written plainly, so the guard's ``files[].contents`` is
    never wider than ijson's; an escaped spelling of the key gets the short cap, which
    only refuses sooner. Malformed JSON is left for ijson to report.
    """

    def __init__(self, stream, *, contents_max_bytes: int):
        self.stream = stream
        self.contents_max_bytes = contents_max_bytes
        self.path: list = []  # as the parser keeps it: "item" in arrays, the key in maps
        self.expect_key = False  # inside a map, before its ":"
        self.in_string = False
        self.escaped = False  # the last byte read was a backslash inside a string
        self.string_is_key = False
        self.string_cap = 0
        self.string_length = 0
        self.key = bytearray()

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        if chunk:
            self.scan(chunk)
        return chunk

    def scan(self, chunk: bytes) -> None:
        position, end = 0, len(chunk)
        while position < end:
            if self.in_string:
                if self.escaped:  # the byte after a backslash is never a quote
                    self.escaped = False
                    self.grow(chunk, position, position + 1)
                    position += 1
                    continue
                found = STRING_SPECIAL.search(chunk, position)
                stop = found.start() if found else end
                self.grow(chunk, position, stop)
                if found is None:
                    return
                if chunk[stop] == 0x5C:  # backslash
                    self.grow(chunk, stop, stop + 1)
                    self.escaped = True
                else:
                    self.string_end()
                position = stop + 1
                continue
            found = STRUCTURE.search(chunk, position)
            if found is None:
                return
            self.structure(chunk[found.start()])
            position = found.start() + 1

    def structure(self, byte: int) -> None:
        if byte == 0x22:  # '"'
            self.string_start()
        elif byte == 0x7B:  # '{'
            self.path.append(None)
            self.expect_key = True
            self.depth_check()
        elif byte == 0x5B:  # '['
            self.path.append("item")
            self.expect_key = False
            self.depth_check()
        elif byte in (0x7D, 0x5D):  # '}' ']'
            if self.path:
                self.path.pop()
            self.expect_key = False
        elif byte == 0x3A:  # ':'
            self.expect_key = False
        elif byte == 0x2C:  # ','
            self.expect_key = bool(self.path) and self.path[-1] != "item"

    def depth_check(self) -> None:
        if len(self.path) > MAX_JSON_DEPTH:
            raise JsonTooDeep

    def string_start(self) -> None:
        self.in_string = True
        self.string_is_key = self.expect_key
        self.string_length = 0
        self.key.clear()
        is_contents = not self.string_is_key and tuple(self.path) == CONTENTS_PATH
        self.string_cap = self.contents_max_bytes if is_contents else XON_MAX_TEXT_BYTES

    def grow(self, chunk: bytes, start: int, stop: int) -> None:
        self.string_length += stop - start
        if self.string_is_key and len(self.key) <= XON_MAX_TEXT_BYTES:
            self.key += chunk[start:stop]
        if self.string_length > self.string_cap:
            where = ".".join(
                "0" if part == "item" else str(part) for part in self.path if part is not None
            )
            is_contents = self.string_cap == self.contents_max_bytes and not self.string_is_key
            raise StringTooLong("a key" if self.string_is_key else where, is_contents)

    def string_end(self) -> None:
        self.in_string = False
        if self.string_is_key and self.path:
            self.path[-1] = self.key.decode("utf-8", "replace")


def string_too_long_error(error: StringTooLong, limit: int) -> Exception:
    if error.is_contents:
        return PayloadTooLarge(UploadTooLarge(limit).args[0])
    return ParseError(
        f"{error.path or 'A value'} is longer than the {XON_MAX_TEXT_BYTES // 1024} KB "
        "allowed for any text other than a file's contents."
    )


class XonBase64JsonParser(BaseParser):
    """``application/json`` for X-on's upload door: the document as ``json.load`` would give it,
    except that each ``files[].contents`` string is a `Base64Upload` already decoded to disk."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        builder = ijson.ObjectBuilder()
        path: list = []
        uploads: list[Base64Upload] = []
        limit = settings.FILES_MAX_UPLOAD_BYTES
        guarded = StringLengthGuard(stream, contents_max_bytes=contents_max_json_bytes(limit))
        try:
            for event, value in basic_parse(guarded, use_float=False, buf_size=READ_BYTES):
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
        except StringTooLong as error:
            for upload in uploads:
                upload.close()
            raise string_too_long_error(error, limit) from None
        except JsonTooDeep:
            for upload in uploads:
                upload.close()
            raise ParseError(TOO_DEEP) from None
        except BaseException:
            for upload in uploads:
                upload.close()
            raise
        return builder.value
