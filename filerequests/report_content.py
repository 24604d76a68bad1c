"""What a record report says, gathered by ``record_reports`` and drawn by ``report_pdf``:
plain data, so gathering it does not load the PDF library."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ReportItem:
    """One file of the report: a photo drawn fitted to its page, or a line about a file
    that is not a photo (a document, or a file the portal refused)."""

    heading: str
    note: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    image: bytes | None = None
    image_alt: str = ""


@dataclass
class ReportContent:
    title: str
    patient_name: str
    patient_born: str
    nhs_number: str
    clinic: str
    summary: list[tuple[str, str]]
    prompt: str
    review: list[tuple[str, str]]
    items: list[ReportItem]
    footer: str
