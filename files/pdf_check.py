"""PDFs judged by parsing them: whole, unencrypted, with pages, and nothing that runs.

A byte search for ``/JavaScript`` missed names written with hex escapes
(``/J#61vaScript`` is the same name to every reader) and everything inside
compressed object streams, and it refused innocent files whose compressed
streams held ``/JS`` by chance. So the file is parsed with pypdf, which
decodes names and object streams the way a viewer does, and every object in
its cross-reference table (not only those reachable from the catalogue) is
judged: scripts, launch and submit actions, embedded files, rich media, and
actions that run by themselves (``/OpenAction``, ``/AA``) other than a plain
"go to this page". A PDF pypdf cannot read is refused, with a reason.
"""

from __future__ import annotations

import io
import logging

from files.sniffing import FileRejected

logger = logging.getLogger(__name__)

# Objects judged at most; a PDF with more is refused rather than half-judged.
MAX_OBJECTS = 200_000
# Nesting of direct (inline) dictionaries and arrays followed inside one object.
MAX_DEPTH = 64

SCRIPTS = "scripts (JavaScript)"
LAUNCH = "actions that start programs or open other files"
SUBMIT = "form actions that send data away"
EMBEDDED = "embedded files"
RICH_MEDIA = "rich media (Flash, video or 3D content)"
AUTOMATIC = "actions that run by themselves when it is opened or used"

# Action types (``/S``) refused wherever they appear.
REFUSED_ACTIONS = {
    "/JavaScript": SCRIPTS,
    "/Launch": LAUNCH,
    "/GoToE": EMBEDDED,
    "/SubmitForm": SUBMIT,
    "/ImportData": SUBMIT,
    "/RichMediaExecute": RICH_MEDIA,
}
# Keys refused wherever they appear.
REFUSED_KEYS = {
    "/JavaScript": SCRIPTS,
    "/JS": SCRIPTS,
    "/EmbeddedFiles": EMBEDDED,
    "/EmbeddedFile": EMBEDDED,
    "/EF": EMBEDDED,
    "/RichMediaContent": RICH_MEDIA,
    "/RichMediaSettings": RICH_MEDIA,
}
# ``/Type`` or ``/Subtype`` values refused.
REFUSED_TYPES = {
    "/EmbeddedFile": EMBEDDED,
    "/FileAttachment": EMBEDDED,
    "/RichMedia": RICH_MEDIA,
    "/Movie": RICH_MEDIA,
    "/Sound": RICH_MEDIA,
    "/Screen": RICH_MEDIA,
    "/3D": RICH_MEDIA,
}
# The one kind of action that may run by itself: showing a page.
AUTOMATIC_ACTIONS_ALLOWED = {"/GoTo"}


def pdf_check(original) -> None:
    """Raise ``FileRejected`` unless ``original`` is a whole, readable, inert PDF."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    original.seek(0, io.SEEK_END)
    end = original.tell()
    original.seek(max(0, end - 1024))
    if b"%%EOF" not in original.read():
        raise FileRejected("The PDF is incomplete (truncated); send the whole file again.")
    original.seek(0)
    try:
        reader = PdfReader(original, strict=False)
        if reader.is_encrypted:
            raise FileRejected("The PDF is password-protected; send it without a password.")
        if len(reader.pages) < 1:
            raise FileRejected("The PDF has no pages.")
        finding = active_content(reader)
    except FileRejected:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError):
        logger.info("pypdf could not read a PDF", exc_info=True)
        raise FileRejected("The PDF is damaged and cannot be read.") from None
    finally:
        original.seek(0)
    if finding:
        raise FileRejected(f"This PDF contains {finding}, which are not accepted.")


def active_content(reader) -> str | None:
    """What in the PDF could run or carry another file (words for a person), or None."""
    from pypdf.generic import IndirectObject

    numbers = set()
    for generation, table in reader.xref.items():
        numbers.update((number, generation) for number in table)
    numbers.update((number, 0) for number in reader.xref_objStm)
    if len(numbers) > MAX_OBJECTS:
        raise FileRejected(f"The PDF has more than {MAX_OBJECTS:,} objects, which is not accepted.")
    found = _judge(reader.trailer, 0)
    for number, generation in sorted(numbers):
        if found:
            return found
        try:
            value = reader.get_object(IndirectObject(number, generation, reader))
        except (KeyError, ValueError, IndexError):
            continue  # a dangling entry: nothing a viewer could run either
        found = _judge(value, 0)
    return found


def _judge(value, depth: int) -> str | None:
    """Judge one object and the direct objects inside it (indirect ones are judged
    on their own, from the cross-reference table)."""
    from pypdf.generic import ArrayObject, DictionaryObject

    if depth > MAX_DEPTH:
        raise FileRejected("The PDF nests its objects too deeply, which is not accepted.")
    if isinstance(value, DictionaryObject):
        for key in value:
            if key in REFUSED_KEYS:
                return REFUSED_KEYS[key]
            if key.startswith("/RichMedia"):
                return RICH_MEDIA
        for key in ("/Type", "/Subtype"):
            kind = _resolved(value, key)
            if isinstance(kind, str) and kind in REFUSED_TYPES:
                return REFUSED_TYPES[kind]
        action = _resolved(value, "/S")
        if isinstance(action, str) and action in REFUSED_ACTIONS:
            return REFUSED_ACTIONS[action]
        if "/OpenAction" in value and _runs_something(value.raw_get("/OpenAction")):
            return AUTOMATIC
        if "/AA" in value:
            triggers = _resolved(value, "/AA")
            if isinstance(triggers, DictionaryObject) and any(
                _runs_something(triggers.raw_get(trigger)) for trigger in triggers
            ):
                return AUTOMATIC
        children = value.values()
    elif isinstance(value, ArrayObject):
        children = value
    else:
        return None
    for child in children:
        found = _judge(child, depth + 1)
        if found:
            return found
    return None


def _runs_something(raw) -> bool:
    """An automatic action that does more than go to a page (a destination array is fine)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    action = raw.get_object() if isinstance(raw, IndirectObject) else raw
    if action is None or isinstance(action, ArrayObject):
        return False
    if not isinstance(action, DictionaryObject):
        return False  # a named destination: a page to show
    seen = 0
    while isinstance(action, DictionaryObject) and seen < 32:
        if _resolved(action, "/S") not in AUTOMATIC_ACTIONS_ALLOWED:
            return True
        following = _resolved(action, "/Next")
        if isinstance(following, ArrayObject):
            return any(_runs_something(item) for item in following)
        action = following
        seen += 1
    return False


def _resolved(dictionary, key):
    """``dictionary[key]`` with an indirect reference followed (``dict.get`` does not)."""
    value = dictionary.raw_get(key) if key in dictionary else None
    return value.get_object() if hasattr(value, "get_object") else value
