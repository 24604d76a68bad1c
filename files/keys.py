"""Storage keys from the outside world: refused unless already clean, before storage is touched.

A key names an object in S3 or a file under the embedded storage's root. The
portal builds its own keys (``files.models.temp_prefix``), but a ticket holder
chooses the last part of an upload's key, and a ``Location`` sent back by a
client names one. Such a key is never repaired: a key that is not already in its
one clean form is refused with a reason, because two spellings of one place
(``a/./b``, ``a//b``, ``a/x/../b``, ``%2e%2e``, a full-width dot, a decomposed
accent) are how a name that passed a ``starts-with`` check ends up somewhere else
(django-storages' S3 backend and Django's ``FileSystemStorage`` both normalise
``..`` away before they act). S3's own limit is 1,024 bytes of UTF-8.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

MAX_KEY_BYTES = 1024
# A file system holds 255 bytes per name; S3 would take more, but both storages must agree.
MAX_SEGMENT_BYTES = 255
# Unicode categories never allowed in a key: control, format (bidi overrides,
# zero-width), private use, surrogates, unassigned, line and paragraph separators.
FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}
# Characters whose meaning in a path a look-alike must not borrow.
STRUCTURAL = set("/\\.%")
# Percent-encodings of characters that change a path's shape (dot, slashes, percent
# itself, controls); decoded, they would move a key somewhere else.
ENCODED_STRUCTURE = re.compile(r"%(2e|2f|5c|25|[01][0-9a-f]|7f)", re.IGNORECASE)


class StorageKeyError(ValueError):
    """A key refused before storage is touched; ``message`` says why, for a person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _character_problem(char: str) -> str | None:
    if char == "\x00":
        return "contains a NUL character"
    if char == "\\":
        return "contains a backslash"
    category = unicodedata.category(char)
    if category in FORBIDDEN_CATEGORIES:
        return f"contains an invisible or control character (U+{ord(char):04X})"
    if char not in STRUCTURAL and STRUCTURAL & set(unicodedata.normalize("NFKC", char)):
        return f"contains a look-alike of a path character (U+{ord(char):04X})"
    return None


def path_problem(name: str, *, directory_allowed: bool = False) -> str | None:
    """Why ``name`` is not a clean storage name, or None.

    ``directory_allowed`` accepts the forms a listing needs: ``""`` (the root) and a
    trailing ``/`` (a folder). Everything else applies to both.
    """
    if not isinstance(name, str):
        return "is not text"
    if not name:
        return None if directory_allowed else "is empty"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        return f"is longer than {MAX_KEY_BYTES} bytes"
    # Printable ASCII other than a backslash has no character problem (no control, format
    # or unassigned character, and NFKC leaves it as it is): every key the portal builds,
    # checked on each download, skips the per-character look-ups.
    if not (name.isascii() and name.isprintable() and "\\" not in name):
        for char in name:
            if problem := _character_problem(char):
                return problem
    if unicodedata.normalize("NFC", name) != name:
        return "is not in Unicode normal form C"
    if name.startswith("/"):
        return "is absolute (starts with /)"
    body = name
    if name.endswith("/"):
        if not directory_allowed:
            return "ends with / (a folder, not a file)"
        body = name[:-1]
    for segment in body.split("/"):
        if segment == "":
            return "has an empty path segment (//)"
        if segment in (".", ".."):
            return f"has a {segment!r} path segment"
        if segment.strip() != segment or segment.rstrip(".") != segment:
            return "has a path segment that starts or ends with a space, or ends with a dot"
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            return f"has a path segment longer than {MAX_SEGMENT_BYTES} bytes"
    if ENCODED_STRUCTURE.search(name) or unquote(name) != unquote(unquote(name)):
        return "contains a percent-encoded path character"
    return None


def storage_key_check(key: str) -> str:
    """``key`` unchanged when it is a clean object key; ``StorageKeyError`` otherwise."""
    problem = path_problem(key)
    if problem:
        raise StorageKeyError(f"The storage key {problem}.")
    return key


def ticket_key_check(key: str, *, prefix: str) -> str:
    """``key`` when it is a clean key of one object directly under the ticket's ``prefix``.

    One ticket stores one object: its key is the prefix and a single name, never a
    deeper path (``prefix/a/b``) that a second object could hide under.
    """
    storage_key_check(key)
    if not key.startswith(prefix) or not prefix.endswith("/"):
        raise StorageKeyError("The storage key is not under its upload ticket's prefix.")
    if "/" in key[len(prefix) :]:
        raise StorageKeyError(
            "The storage key must be the upload ticket's prefix and one file name, "
            "with no further / (one ticket stores one file)."
        )
    return key
