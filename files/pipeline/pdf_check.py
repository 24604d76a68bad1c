"""PDFs judged by parsing them: whole, unencrypted, with pages, and nothing that runs
or reaches outside the file.

A byte search for ``/JavaScript`` missed names written with hex escapes
(``/J#61vaScript`` is the same name to every reader) and everything inside
compressed object streams, and it refused innocent files whose compressed
streams held ``/JS`` by chance. So the file is parsed with pypdf, which
decodes names and object streams the way a viewer does, and every object in
its cross-reference table (not only those reachable from the catalogue) is
judged: scripts, XML forms (XFA, whose templates carry their own scripts),
launch and submit actions, embedded files, rich media, anything that opens
another file (``GoToR``, ``GoToE`` to another file, ``ImportData``, file
specifications, streams whose data lives in another file, links to ``file:`` or
``\\\\host\\share`` addresses), and actions that run by themselves
(``/OpenAction``, ``/AA``) other than a plain "go to this page". Chains of actions
(``/Next``) are followed to a bounded length: one that loops or runs longer is
refused, since a viewer would run it for ever or very long. Where an action both
runs by itself and does something refused in its own right, the reason names the
latter. A PDF pypdf cannot read is refused, with a reason.

After the parse, the syntax outside streams is searched for the same names
(``#xx`` escapes decoded): that also sees objects no cross-reference table lists.
"""

from __future__ import annotations

import io
import logging
import re

from django.conf import settings
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    IndirectObject,
    StreamObject,
    TextStringObject,
)

from files.pipeline.sniffing import FileRejected, pdf_outside_streams

logger = logging.getLogger(__name__)

# Nesting of direct (inline) dictionaries and arrays inside one object: an object may
# hold containers this many levels deep, not one more.
MAX_DEPTH = 64
# Actions one action may run through ``/Next`` (itself included, each time it runs).
MAX_ACTION_CHAIN = 32

SCRIPTS = "scripts (JavaScript)"
XFA = "XML forms (XFA)"
LAUNCH = "actions that start programs or open other files"
SUBMIT = "form actions that send data away"
OTHER_FILES = "links or actions that open other files (on this computer or a network share)"
OTHER_LINKS = "links to addresses other than web pages, e-mail addresses or telephone numbers"
EMBEDDED = "embedded files"
RICH_MEDIA = "rich media (Flash, video, sound or 3D content)"
AUTOMATIC = "actions that run by themselves when it is opened or used"
ACTION_CHAIN = f"chains of actions that loop or run more than {MAX_ACTION_CHAIN} steps"
# What the syntax search finds: names the parse would have judged, had it seen them.
HIDDEN = "scripts, XML forms, launch actions, links to other files or embedded files"

# Action types (``/S``) refused wherever they appear.
REFUSED_ACTIONS = {
    "/JavaScript": SCRIPTS,
    "/Launch": LAUNCH,
    "/SubmitForm": SUBMIT,
    "/ImportData": OTHER_FILES,
    "/GoToR": OTHER_FILES,
    "/RichMediaExecute": RICH_MEDIA,
    "/Movie": RICH_MEDIA,
    "/Sound": RICH_MEDIA,
    "/Rendition": RICH_MEDIA,
}
# Keys refused wherever they appear.
REFUSED_KEYS = {
    "/JavaScript": SCRIPTS,
    "/JS": SCRIPTS,
    "/XFA": XFA,
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
    "/Filespec": OTHER_FILES,  # one that embeds its file has /EF, refused as embedded
}
# The one kind of action that may run by itself: showing a page.
AUTOMATIC_ACTIONS_ALLOWED = {"/GoTo"}

# Addresses a link may open: web pages, e-mail, telephone. Anything else opens a file
# (``file:``, ``smb:``, a UNC path, an address relative to where the PDF was saved) or
# hands the address to some other program.
LINK_SCHEMES = {"http", "https", "mailto", "tel"}
FILE_SCHEMES = {"file", "smb", "cifs", "nfs", "afp", "ftp", "ftps", "sftp", "webdav", "dav"}
SCRIPT_SCHEMES = {"javascript", "vbscript", "livescript"}
URI_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
# What a browser removes from an address before reading it: C0 controls and spaces at
# either end, tabs and newlines anywhere.
URI_IGNORED = re.compile(r"[\t\n\r]")
URI_TRIMMED = "".join(map(chr, range(33)))

PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
PDF_HIDDEN_NAME = re.compile(
    rb"/(?:JavaScript|JS|XFA|Launch|GoToR|GoToE|ImportData|SubmitForm|EmbeddedFiles?"
    rb"|RichMedia\w*)(?![\w])"
)


def pdf_check(original) -> None:
    """Raise ``FileRejected`` unless ``original`` is a whole, readable, inert PDF."""

    original.seek(0, io.SEEK_END)
    end = original.tell()
    original.seek(max(0, end - 1024))
    if b"%%EOF" not in original.read():
        raise FileRejected("The PDF is incomplete (truncated); send the whole file again.")
    original.seek(0)
    # pypdf reads strings and names a byte at a time: from an in-memory copy each read is
    # one C call, through a spooled file's Python wrapper it was three (a hostile PDF of
    # two million unclosed streams: 4.3 CPU-s to 2.4). The bytes are read whole below
    # anyway, for the syntax search.
    data = original.read()
    original.seek(0)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
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
    if not finding:
        finding = hidden_active_names(data)
    if finding:
        raise FileRejected(f"This PDF contains {finding}, which are not accepted.")


def hidden_active_names(data: bytes) -> str | None:
    """``HIDDEN`` when the syntax outside streams names active content the parse did not
    see (an object no cross-reference table lists); names' ``#xx`` escapes decoded."""
    syntax = PDF_NAME_ESCAPE.sub(_name_byte, pdf_outside_streams(data))
    return HIDDEN if PDF_HIDDEN_NAME.search(syntax) else None


def _name_byte(match: re.Match) -> bytes:
    return bytes([int(match[1], 16)])


def active_content(reader) -> str | None:
    """What in the PDF could run or reach another file (words for a person), or None."""
    numbers = set()
    for generation, table in reader.xref.items():
        numbers.update((number, generation) for number in table)
    numbers.update((number, 0) for number in reader.xref_objStm)
    limit = settings.FILES_PDF_MAX_OBJECTS
    if len(numbers) > limit:
        raise FileRejected(f"The PDF has more than {limit:,} objects, which is not accepted.")
    judge = _Judge()
    found = judge.value(reader.trailer, 0)
    for number, generation in sorted(numbers):
        if found:
            return found
        try:
            value = reader.get_object(IndirectObject(number, generation, reader))
        except (KeyError, ValueError, IndexError):
            continue  # a dangling entry: nothing a viewer could run either
        found = judge.value(value, 0)
    return found


class _ChainTooLong(Exception):
    """An action's ``/Next`` leads back to itself, or on past ``MAX_ACTION_CHAIN``."""


class _Judge:
    """Judges objects one by one; remembers what it found of each action chain, so a
    chain shared by many objects (or branching through ``/Next`` arrays) is walked once."""

    def __init__(self):
        # id(action) -> (action, steps, its own or a following action's finding, whether
        # anything in it does more than show a page); the action is kept so its id stays
        # its own.
        self.chains: dict[int, tuple] = {}
        self.walking: set[int] = set()

    def value(self, value, depth: int) -> str | None:
        """Judge one object and the direct objects inside it (indirect ones are judged
        on their own, from the cross-reference table). ``depth``: the containers that
        hold ``value``."""
        if isinstance(value, DictionaryObject):
            if depth >= MAX_DEPTH:
                raise FileRejected("The PDF nests its objects too deeply, which is not accepted.")
            found = self.dictionary(value)
            if found:
                return found
            children = value.values()
        elif isinstance(value, ArrayObject):
            if depth >= MAX_DEPTH:
                raise FileRejected("The PDF nests its objects too deeply, which is not accepted.")
            children = value
        else:
            return None
        for child in children:
            found = self.value(child, depth + 1)
            if found:
                return found
        return None

    def dictionary(self, value) -> str | None:
        for key in value:
            if key in REFUSED_KEYS:
                return REFUSED_KEYS[key]
            if key.startswith("/RichMedia"):
                return RICH_MEDIA
        for key in ("/Type", "/Subtype"):
            kind = _resolved(value, key)
            if isinstance(kind, str) and kind in REFUSED_TYPES:
                return REFUSED_TYPES[kind]
        if "/FS" in value or "/Ref" in value:
            return OTHER_FILES  # a file specification, or a page taken from another PDF
        if isinstance(value, StreamObject) and ("/F" in value or "/FFilter" in value):
            return OTHER_FILES  # the stream's data is read from another file
        base = _resolved(value, "/Base")
        # The catalogue's /URI dictionary: the address relative links are read against.
        if _is_text(base) and (found := _address_finding(base)):
            return found
        if "/S" in value:
            steps, found, _ = self.chain(value)
            if steps > MAX_ACTION_CHAIN:
                return ACTION_CHAIN
            if found:
                return found
        if "/OpenAction" in value and (found := self.automatic(value.raw_get("/OpenAction"))):
            return found
        if "/AA" in value:
            triggers = _resolved(value, "/AA")
            if isinstance(triggers, DictionaryObject):
                for trigger in triggers:
                    if found := self.automatic(triggers.raw_get(trigger)):
                        return found
        return None

    def automatic(self, raw) -> str | None:
        """The finding for an action that runs by itself: what it does when that is refused
        anyway, else ``AUTOMATIC`` when it does more than go to a page (a destination, an
        array or a name, is fine)."""
        action = _followed(raw)
        if not isinstance(action, DictionaryObject):
            return None
        steps, found, runs = self.chain(action)
        if steps > MAX_ACTION_CHAIN:
            return ACTION_CHAIN
        return found or (AUTOMATIC if runs else None)

    def chain(self, action) -> tuple[int, str | None, bool]:
        """``(steps, finding, runs)`` of ``action`` and what follows it through ``/Next``:
        the actions run (a shared one counted each time it runs, at most one more than
        ``MAX_ACTION_CHAIN``), the first refused thing among them, and whether any does
        more than go to a page. A loop counts as a chain over the limit."""
        try:
            return self._chain(action, 1)
        except _ChainTooLong:
            return MAX_ACTION_CHAIN + 1, ACTION_CHAIN, True

    def _chain(self, action, depth: int) -> tuple[int, str | None, bool]:
        key = id(action)
        if key in self.chains:
            return self.chains[key][1:]
        # Each action on the way here runs before this one: a path this long is a chain
        # over the limit whatever follows (and no walk goes deeper than the limit).
        if key in self.walking or depth > MAX_ACTION_CHAIN:
            raise _ChainTooLong
        self.walking.add(key)
        try:
            kind = _resolved(action, "/S")
            steps, found = 1, _action_finding(action, kind)
            runs = kind not in AUTOMATIC_ACTIONS_ALLOWED
            following = _resolved(action, "/Next")
            items = following if isinstance(following, ArrayObject) else [following]
            for item in items:
                item = _followed(item)
                if not isinstance(item, DictionaryObject):
                    continue
                if steps > MAX_ACTION_CHAIN:
                    break
                item_steps, item_found, item_runs = self._chain(item, depth + 1)
                steps = min(steps + item_steps, MAX_ACTION_CHAIN + 1)
                found = found or item_found
                runs = runs or item_runs
        finally:
            self.walking.discard(key)
        self.chains[key] = (action, steps, found, runs)
        return steps, found, runs


def _action_finding(action, kind) -> str | None:
    """What one action (not those after it) does that is refused, or None."""
    if not isinstance(kind, str):
        return None
    if kind in REFUSED_ACTIONS:
        return REFUSED_ACTIONS[kind]
    target = _resolved(action, "/F")
    names_a_file = _is_text(target) or hasattr(target, "keys")
    if kind == "/GoToE":
        return OTHER_FILES if names_a_file else EMBEDDED
    if names_a_file:
        return OTHER_FILES  # e.g. a /Thread in another file
    if kind == "/URI":
        address = _resolved(action, "/URI")
        return _address_finding(address) if _is_text(address) else OTHER_LINKS
    return None


def _address_finding(address) -> str | None:
    """Why a link's address is refused, or None for a web page, e-mail or telephone."""
    if isinstance(address, bytes):
        address = address.decode("latin-1")
    address = URI_IGNORED.sub("", str(address)).strip(URI_TRIMMED)
    scheme = URI_SCHEME.match(address.lower())
    if scheme is None:
        # No scheme: a UNC path (\\host\share), //host/share, or a path read against where
        # the PDF lies, which for a downloaded file is a folder on this computer.
        return OTHER_FILES
    name = scheme[1]
    if name in LINK_SCHEMES:
        return None
    if name in FILE_SCHEMES:
        return OTHER_FILES
    if name in SCRIPT_SCHEMES:
        return SCRIPTS
    return OTHER_LINKS


def _is_text(value) -> bool:
    """A PDF string (text or bytes), not a name."""
    return isinstance(value, (TextStringObject, ByteStringObject))


def _followed(value):
    return value.get_object() if hasattr(value, "get_object") else value


def _resolved(dictionary, key):
    """``dictionary[key]`` with an indirect reference followed (``dict.get`` does not)."""
    value = dictionary.raw_get(key) if key in dictionary else None
    return _followed(value)
