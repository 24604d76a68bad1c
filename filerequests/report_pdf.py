"""The record report's pages: what ``record_reports`` gathered, laid out as one PDF.

fpdf2 draws it: pure Python (nothing to build beside Pillow, which the portal already
has), kept up to date, and it embeds a TrueType font subset with its Unicode map, so a
patient's name in any script is drawn and reads back as text (a record system may
index it). Every page carries the patient banner (family name first, date of birth
with age, NHS number), as NHS documents do, so a loose page still says whose it is.

Nothing in the PDF runs or reaches outside it: no scripts, links, forms or attachments,
so it passes the portal's own PDF check like any upload.

fpdf2 and the fontTools it brings take a fifth of a second to import, so only the code
that draws a report imports this module, when it draws one (``record_reports``).
"""

from __future__ import annotations

import io
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from filerequests.report_content import ReportContent, ReportItem

# Fonts with wide Unicode cover, where the machine has them; else the PDF's own
# Helvetica, which knows Latin-1 only (other characters are drawn as "?").
FONT_CANDIDATES = [
    (
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
    ),
    (
        Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
        Path("/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
        Path("/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf"),
    ),
]

MARGIN = 15  # mm
INK = (33, 37, 41)
MUTED = (90, 98, 106)
BANNER_FILL = (232, 240, 254)
BANNER_RULE = (0, 94, 184)  # NHS blue


def font_files() -> tuple[Path, Path, Path] | None:
    for regular, bold, mono in FONT_CANDIDATES:
        if regular.exists() and bold.exists() and mono.exists():
            return regular, bold, mono
    return None


class ReportDocument(FPDF):
    def __init__(self, content: ReportContent):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.content = content
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN + 6)
        fonts = font_files()
        if fonts is not None:
            regular, bold, mono = fonts
            self.add_font("Body", "", str(regular))
            self.add_font("Body", "B", str(bold))
            self.add_font("Mono", "", str(mono))
            self.body_font, self.mono_font, self.unicode = "Body", "Mono", True
        else:
            self.body_font, self.mono_font, self.unicode = "helvetica", "courier", False
        self.set_title(content.title)
        self.set_subject(f"{content.patient_name}, {content.patient_born}")
        self.set_author(content.clinic)
        self.set_creator("Clinic File Portal")
        self.set_lang("en-GB")

    def words(self, text: str) -> str:
        if self.unicode:
            return text
        return text.encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float, *, bold: bool = False, mono: bool = False, muted=False):
        family = self.mono_font if mono else self.body_font
        self.set_font(family, "B" if bold and not mono else "", size)
        self.set_text_color(*(MUTED if muted else INK))

    # The banner on every page: whose document this is.
    def header(self):
        content = self.content
        top = self.get_y()
        width = self.w - 2 * MARGIN
        self.set_fill_color(*BANNER_FILL)
        self.rect(MARGIN, top, width, 17, style="F")
        self.set_fill_color(*BANNER_RULE)
        self.rect(MARGIN, top, 1.6, 17, style="F")
        self.set_xy(MARGIN + 4, top + 2)
        self.font(13, bold=True)
        self.cell(width - 8, 6.5, self.words(content.patient_name), new_x=XPos.LMARGIN)
        self.set_xy(MARGIN + 4, top + 9)
        self.font(9.5)
        facts = f"Born {content.patient_born}"
        if content.nhs_number:
            facts += f"      NHS No. {content.nhs_number}"
        self.cell(width * 0.6, 5.5, self.words(facts))
        self.font(9.5, muted=True)
        self.cell(width * 0.4 - 8, 5.5, self.words(content.clinic), align="R")
        self.set_xy(MARGIN, top + 21)

    def footer(self):
        self.set_y(-MARGIN)
        self.font(8, muted=True)
        self.cell(
            self.w - 2 * MARGIN - 25,
            5,
            self.words(self.content.footer),
            new_x=XPos.RIGHT,
            new_y=YPos.TOP,
        )
        self.cell(25, 5, f"Page {self.page_no()} of {{nb}}", align="R")

    def lines(self, height: float, text: str):
        """Text wrapped to the width left, ragged right (justified text opens gaps between
        words that read badly and copy out with doubled spaces)."""
        self.multi_cell(0, height, self.words(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")

    def heading(self, text: str, size: float = 15):
        self.font(size, bold=True)
        self.lines(size * 0.5, text)
        self.ln(1.5)

    def facts(self, rows: list[tuple[str, str]]):
        label_width = 38
        for label, value in rows:
            mono = label == "SHA-256"
            self.font(9.5, muted=True)
            self.cell(label_width, 5.5, self.words(label))
            self.font(8.5 if mono else 10, mono=mono)
            self.lines(5.5, value)
        self.ln(2)

    def paragraph(self, text: str, *, size: float = 10.5):
        self.font(size)
        self.lines(size * 0.5, text)
        self.ln(2)

    def item(self, item: ReportItem):
        self.add_page()
        self.heading(item.heading, size=13)
        if item.note:
            self.font(9.5, muted=True)
            self.cell(0, 5, "The patient's note")
            self.ln(5)
            self.paragraph(item.note)
        self.facts(item.facts)
        if item.image is None:
            return
        # The photo fitted to what is left of the page, never cropped or stretched.
        top = self.get_y() + 1
        box_height = self.h - MARGIN - 8 - top
        box_width = self.w - 2 * MARGIN
        self.image(
            io.BytesIO(item.image),
            x=MARGIN,
            y=top,
            w=box_width,
            h=box_height,
            keep_aspect_ratio=True,
            alt_text=self.words(item.image_alt),
        )


def render(content: ReportContent) -> bytes:
    document = ReportDocument(content)
    document.alias_nb_pages()
    document.add_page()
    document.heading(content.title)
    document.facts(content.summary)
    if content.prompt:
        document.font(9.5, muted=True)
        document.cell(0, 5, "What was asked")
        document.ln(5)
        document.paragraph(content.prompt)
    if content.review:
        document.heading("Review", size=12)
        document.facts(content.review)
    for item in content.items:
        document.item(item)
    return bytes(document.output())
