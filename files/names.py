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

MAX_NAME_LENGTH = 150
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
    # Cc: control (NUL, CR, LF...), Cf: format (RTL override, zero width), Co/Cs: private/surrogate.
    return unicodedata.category(char) in {"Cc", "Cf", "Co", "Cs"}


def safe_filename(name: str | None, *, default: str = "upload") -> str:
    """A display- and key-safe version of ``name``, keeping its extension where possible."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = "".join(" " if _is_invisible(c) else c for c in text)
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
    extension = extension[:16]
    if dot:
        stem = stem[: MAX_NAME_LENGTH - len(extension) - 1].rstrip(" .") or default
        return f"{stem}.{extension}"
    return text[:MAX_NAME_LENGTH].rstrip(" .") or default


def extension_of(name: str) -> str:
    return PurePosixPath(name or "").suffix.lower().lstrip(".")
