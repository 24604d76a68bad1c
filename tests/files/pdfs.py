"""Hand-made PDFs for the PDF judge's tests: byte for byte what an attacker would write.

``build`` writes a PDF from object bodies. Objects named in ``in_object_stream`` go
into one compressed object stream (``/Type /ObjStm``, FlateDecode), and the file then
has a cross-reference stream instead of a table, as PDF 1.5 writers do.
"""

from __future__ import annotations

import zlib

CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"


def stream(body: bytes, dictionary: bytes = b"", *, compress: bool = False) -> bytes:
    if compress:
        body = zlib.compress(body)
        dictionary += b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(body), dictionary, body)


def build(
    objects: dict[int, bytes] | None = None,
    *,
    catalog: bytes = CATALOG,
    page: bytes = PAGE,
    in_object_stream: tuple[int, ...] = (),
    trailer: bytes = b"",
) -> bytes:
    """A PDF with catalogue 1, pages 2, page 3 and ``objects`` (number -> body);
    ``trailer``: more entries for the trailer dictionary (the table form only)."""
    bodies = {1: catalog, 2: PAGES, 3: page, **(objects or {})}
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(bodies):
        if number in in_object_stream:
            continue
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, bodies[number])
    if not in_object_stream:
        size = max(bodies) + 1
        xref_at = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % size
        for number in range(1, size):
            if number in offsets:
                out += b"%010d 00000 n \n" % offsets[number]
            else:
                out += b"0000000000 65535 f \n"
        out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
            size,
            b" " + trailer if trailer else b"",
            xref_at,
        )
        return bytes(out)

    # The object stream: "number offset" pairs, then the objects one after another.
    packed_numbers = sorted(in_object_stream)
    packed, positions = b"", []
    for number in packed_numbers:
        positions.append(len(packed))
        packed += bodies[number] + b"\n"
    pairs = zip(packed_numbers, positions, strict=True)
    header = b" ".join(b"%d %d" % pair for pair in pairs) + b"\n"
    object_stream_number = max(bodies) + 1
    offsets[object_stream_number] = len(out)
    out += b"%d 0 obj\n%s\nendobj\n" % (
        object_stream_number,
        stream(
            header + packed,
            b" /Type /ObjStm /N %d /First %d" % (len(packed_numbers), len(header)),
            compress=True,
        ),
    )
    xref_number = object_stream_number + 1
    offsets[xref_number] = len(out)
    size = xref_number + 1
    rows = b""
    for number in range(size):
        if number in offsets:
            rows += b"\x01" + offsets[number].to_bytes(4, "big") + b"\x00\x00"
        elif number in packed_numbers:
            rows += (
                b"\x02"
                + object_stream_number.to_bytes(4, "big")
                + packed_numbers.index(number).to_bytes(2, "big")
            )
        else:
            rows += b"\x00" + b"\x00" * 4 + b"\xff\xff"
    out += b"%d 0 obj\n%s\nendobj\n" % (
        xref_number,
        stream(rows, b" /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R" % size),
    )
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[xref_number]
    return bytes(out)


def catalog_with(entries: bytes) -> bytes:
    return b"<< /Type /Catalog /Pages 2 0 R " + entries + b" >>"


def page_with(entries: bytes) -> bytes:
    return b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] " + entries + b" >>"
