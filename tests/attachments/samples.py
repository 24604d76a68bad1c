"""Sample files made by the tests themselves (nothing binary is committed)."""

from __future__ import annotations

import io

from PIL import Image


def jpeg(size=(64, 48), colour="red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def pdf(padding: int = 0) -> bytes:
    """A valid one-page PDF; ``padding`` adds that many bytes in a comment-free stream."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if padding:
        writer.add_metadata({"/Padding": "x" * padding})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
