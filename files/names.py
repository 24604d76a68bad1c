"""File names from the outside world, made safe to store, to put in a key and to send back.

A name is never trusted for anything but display: the type comes from the bytes
and the storage key from the portal. Still, a name is shown to staff and sent
back in ``Content-Disposition``, so path parts, control characters, bidirectional
overrides (``evil\u202egnp.exe``), Windows device names and absurd lengths go.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

from files.keys import ENCODED_STRUCTURE, STRUCTURAL

MAX_NAME_LENGTH = 150
MAX_NAME_BYTES = 200
WINDOWS_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}
# Characters that are unsafe in a name on some system or in a header.
UNSAFE = re.compile(r'[<>:"/\\|?*]')


def _is_invisible(char: str) -> bool:
    # Cc: control (NUL, CR, LF...), Cf: format (RTL override, zero width), Co/Cs: private/surrogate,
    # Cn: unassigned, Zl/Zp: line and paragraph separators.
    return unicodedata.category(char) in {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}


def _is_lookalike(char: str) -> bool:
    """A full-width dot, slash or backslash and their kin: shown as path characters, and
    turned into them by NFKC normalisation (``files.keys`` refuses them in a key)."""
    return char not in STRUCTURAL and bool(STRUCTURAL & set(unicodedata.normalize("NFKC", char)))


def safe_filename(name: str | None, *, default: str = "upload") -> str:
    """A display- and key-safe version of ``name``, keeping its extension where possible."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = "".join(" " if _is_invisible(c) else "_" if _is_lookalike(c) else c for c in text)
    # A percent-encoded dot, slash or control would decode into a different path.
    text = ENCODED_STRUCTURE.sub(lambda match: "_" + match.group(1), text)
    # Only the last path segment (either separator) is the name.
    text = re.split(r"[\\/]", text)[-1]
    text = UNSAFE.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .-")
    text = re.sub(r"\.{2,}", ".", text)
    if not text:
        return default
    stem, dot, extension = text.rpartition(".")
    if not dot:
        stem, extension = text, ""
    if stem.split(".")[0].upper() in WINDOWS_RESERVED or text.upper() in WINDOWS_RESERVED:
        stem = f"_{stem}" if dot else stem
        text = f"_{text}" if not dot else text
    extension = _cut(extension, 16, 64)
    if dot:
        room = MAX_NAME_BYTES - len(extension.encode()) - 1
        stem = _cut(stem, MAX_NAME_LENGTH - len(extension) - 1, room).rstrip(" .") or default
        return f"{stem}.{extension}"
    return _cut(text, MAX_NAME_LENGTH, MAX_NAME_BYTES).rstrip(" .") or default


def _cut(text: str, max_chars: int, max_bytes: int) -> str:
    """At most ``max_chars`` characters and ``max_bytes`` bytes of UTF-8 (a file system
    holds 255 bytes per name, so 150 accented letters would not fit)."""
    text = text[:max_chars]
    while len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        text = text[:-1]
    return text


STORED_NAME_LENGTH = 1000


def stored_name(name: str | None) -> str:
    """The name as the client gave it, runs of spaces and all (clients match files by
    it), less what no database can hold: NUL and lone surrogates; at most 1,000
    characters, what the X-on door accepts. Never used as it is in a key, a header or a
    page: those use ``safe_filename`` (``File.display_name``)."""
    text = str(name or "").replace("\x00", "")
    text = "".join(c for c in text if not 0xD800 <= ord(c) <= 0xDFFF)
    return text[:STORED_NAME_LENGTH]


def extension_of(name: str) -> str:
    return PurePosixPath(name or "").suffix.lower().lstrip(".")


def human_size(size: int) -> str:
    """A size as people read it in a refusal or a list: whole megabytes, else kilobytes."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    return f"{max(1, size // 1024)} KB"
