"""PDFs are judged by parsing them: hex-escaped names, object
streams, compressed streams and nested additional actions hide nothing; innocent PDFs
whose streams merely contain the bytes ``/JS`` are not refused."""

from __future__ import annotations

import pytest

from files.models import File
from tests.files import pdfs
from tests.files.pdfs import build, catalog_with, page_with, stream

pytestmark = pytest.mark.django_db

JS_ACTION = b"<< /S /JavaScript /JS (app.alert(1)) >>"

HOSTILE = {
    "hex-escaped JavaScript action on open": build(
        catalog=catalog_with(b"/OpenAction << /S /J#61vaScript /JS (app.alert(1)) >>")
    ),
    "hex-escaped /JS key": build(
        catalog=catalog_with(b"/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >>")
    ),
    "hex-escaped Launch action": build(
        catalog=catalog_with(b"/OpenAction << /S /L#61unch /F (calc.exe) >>")
    ),
    "every letter escaped": build(
        catalog=catalog_with(
            b"/OpenAction << /S /#4A#61#76#61#53#63#72#69#70#74 /JS (app.alert(1)) >>"
        )
    ),
    "JavaScript action in an object stream": build(
        {4: JS_ACTION}, catalog=catalog_with(b"/OpenAction 4 0 R"), in_object_stream=(1, 4)
    ),
    "JavaScript name tree in an object stream": build(
        {4: b"<< /JavaScript 5 0 R >>", 5: b"<< /Names [(x) 6 0 R] >>", 6: JS_ACTION},
        catalog=catalog_with(b"/Names 4 0 R"),
        in_object_stream=(4, 5, 6),
    ),
    "script in a compressed stream object": build(
        {4: b"<< /S /JavaScript /JS 5 0 R >>", 5: stream(b"app.alert(1)", compress=True)},
        catalog=catalog_with(b"/OpenAction 4 0 R"),
    ),
    "page open action (AA)": build(page=page_with(b"/AA << /O " + JS_ACTION + b" >>")),
    "form field keystroke action nested in AA": build(
        {
            4: b"<< /Fields [5 0 R] >>",
            5: b"<< /FT /Tx /T (dob) /Rect [0 0 10 10] /Subtype /Widget "
            b"/AA << /K << /S /J#61vaScript /JS (x) >> >> >>",
        },
        catalog=catalog_with(b"/AcroForm 4 0 R"),
        page=page_with(b"/Annots [5 0 R]"),
    ),
    "go-to on open followed by a script (Next)": build(
        catalog=catalog_with(b"/OpenAction << /S /GoTo /D [3 0 R /Fit] /Next 4 0 R >>"),
        objects={4: JS_ACTION},
    ),
    "web address opened on open": build(
        catalog=catalog_with(b"/OpenAction << /S /URI /URI (https://evil.example/) >>")
    ),
    "submit form from a link": build(
        {4: b"<< /Subtype /Link /Rect [0 0 9 9] /A << /S /SubmitForm /F (https://x.example) >> >>"},
        page=page_with(b"/Annots [4 0 R]"),
    ),
    "embedded file": build(
        {
            4: b"<< /Names [(a.exe) 5 0 R] >>",
            5: b"<< /Type /Filespec /F (a.exe) /EF << /F 6 0 R >> >>",
            6: stream(b"MZ", b" /Type /EmbeddedFile"),
        },
        catalog=catalog_with(b"/Names << /EmbeddedFiles 4 0 R >>"),
        in_object_stream=(4, 5),
    ),
    "rich media annotation": build(
        {4: b"<< /Subtype /RichMedia /Rect [0 0 9 9] /RichMediaContent << >> >>"},
        page=page_with(b"/Annots [4 0 R]"),
    ),
    "action type given indirectly": build(
        {4: b"<< /S 5 0 R /JS (app.alert(1)) >>", 5: b"/JavaScript"},
        catalog=catalog_with(b"/OpenAction 4 0 R"),
        in_object_stream=(4, 5),
    ),
    "script in an object nothing points to": build({4: JS_ACTION}, in_object_stream=(4,)),
}

DAMAGED = {
    "no objects at all": b"%PDF-1.7\n" + b"\x00garbage" * 40 + b"\n%%EOF\n",
    "cross reference into nowhere": b"%PDF-1.4\nxref\n0 1\n0000000000 65535 f \n"
    b"trailer\n<< /Root 9 0 R /Size 1 >>\nstartxref\n9\n%%EOF\n",
}

INNOCENT = {
    "plain page": build(),
    "open on page one, fit to window": build(catalog=catalog_with(b"/OpenAction [3 0 R /Fit]")),
    "go-to action on open": build(
        catalog=catalog_with(b"/OpenAction << /S /GoTo /D [3 0 R /FitH 200] >>")
    ),
    "link to a web page": build(
        {4: b"<< /Subtype /Link /Rect [0 0 9 9] /A << /S /URI /URI (https://nhs.uk/) >> >>"},
        page=page_with(b"/Annots [4 0 R]"),
    ),
    "text that reads /JavaScript and /JS on the page": build(
        {4: stream(b"BT /F1 12 Tf 10 10 Td (see /JavaScript and /JS /Launch) Tj ET")},
        page=page_with(b"/Contents 4 0 R"),
    ),
    "binary stream holding /JS and <svg by chance": build(
        {4: stream(b"\x93\x10/JS\x00\xa7<svg\x01\xff/Launch\x02" * 20, b" /Type /XObject")},
        page=page_with(b"/Resources << /XObject << /Im0 4 0 R >> >>"),
    ),
    "objects in an object stream": build(in_object_stream=(1, 2, 3)),
}


def run(upload, process, data: bytes) -> File:
    return process(upload(data, name="letter.pdf", declared="application/pdf", purpose="document"))


@pytest.mark.parametrize("name", list(HOSTILE))
def test_pdf_with_active_content_is_rejected(upload, process, name):
    """GIVEN a PDF carrying a script, launch, submit, embedded file, rich media or an
    automatic action, however its names are spelt or wherever the object is stored
    WHEN processed THEN it is rejected with a reason naming what it carries."""
    file = run(upload, process, HOSTILE[name])
    assert file.state == File.State.REJECTED, name
    reason = file.rejection_reason
    assert "PDF contains" in reason and "not accepted" in reason, reason
    assert not file.facets.exists()


@pytest.mark.parametrize("name", list(DAMAGED))
def test_unparseable_pdf_is_rejected_with_a_reason(upload, process, name):
    """GIVEN bytes that begin like a PDF but cannot be parsed WHEN processed THEN
    rejected as damaged."""
    file = run(upload, process, DAMAGED[name])
    assert file.state == File.State.REJECTED
    assert "damaged" in file.rejection_reason or "no pages" in file.rejection_reason


@pytest.mark.parametrize("name", list(INNOCENT))
def test_innocent_pdf_is_ready(upload, process, name):
    """GIVEN a PDF with nothing that runs (links, go-to actions, text or binary streams
    that contain the bytes of active names) WHEN processed THEN it is ready."""
    file = run(upload, process, INNOCENT[name])
    assert file.state == File.State.READY, file.rejection_reason


def test_builder_makes_pdfs_pypdf_reads():
    """The builder's own check: an object-stream PDF is read back whole."""
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(build(in_object_stream=(1, 2, 3))), strict=True)
    assert len(reader.pages) == 1
    assert pdfs.CATALOG.startswith(b"<<")
