"""The repository speaks of the product, never of a tracker the reader cannot open.

Comments, docstrings, documentation and benchmark labels say why a thing is as it is;
"issue 13 #17" or "(N3)" names an issue of a tracker that is not in the repository, so
the next engineer learns nothing from it. Every tracked file outside ``tests/`` is read.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CITATION = re.compile(
    r"\bissues?\s+#?\d+"  # issue 13, issues 9, 16 and 17, Issue 17 #7, issue #12
    r"|\bfindings?\s+#?\d+"  # finding 3
    r"|\(N\d+\)",  # (N3): a review's finding label
    re.IGNORECASE,
)


def citations(text: str) -> list[str]:
    """Each line of ``text`` that cites a tracker, as ``<line number>: <line>``."""
    return [
        f"{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), start=1)
        if CITATION.search(line)
    ]


def tracked_files(root: Path) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True
    ).stdout.decode()
    return [root / name for name in listed.split("\0") if name and not name.startswith("tests/")]


def repository_citations(root: Path) -> dict[str, list[str]]:
    found = {}
    for path in tracked_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue  # images, fixtures; a path deleted in the working tree
        if lines := citations(text):
            found[str(path.relative_to(root))] = lines
    return found


@pytest.mark.parametrize(
    "line",
    [
        "# way to send photos after it (issue 13 #17).",
        "is the layer every app builds on: it imports nothing above it (issue 17 #8).",
        '"## Goals (issues 9, 16 and 17)",',
        '"""Issue 17 #7: one client per seed."""',
        "# --- Files pipeline (files app, issue 3) ---",
        "thumbnailers (issue 13, finding 3).",
        "see issue #12",
        "# a guard for the upload door (N3)",
    ],
)
def test_a_tracker_citation_is_found(line):
    """GIVEN a line citing an issue or a finding of the tracker WHEN read THEN it is found."""
    assert citations(line) == [f"1: {line.strip()}"]


@pytest.mark.parametrize(
    "line",
    [
        '"""Errors as FHIR ``OperationOutcome`` resources, with the spec\'s issue codes."""',
        'audit_record(action="upload_ticket.issue", target=ticket)',
        "POST issues a new one and shows it once",
        "(the worker died with `JSONDecodeError`, celery/kombu#1551)",
        "--success: #067647;",
        "One thumbnail goal of an earlier issue stays unmet",
        "FHIR R4, N-Quads, HTTP/2",
    ],
)
def test_the_product_s_own_words_are_not_citations(line):
    """GIVEN a line that uses the word issue in the product's sense, an upstream project's
    bug number or a colour WHEN read THEN nothing is found."""
    assert citations(line) == []


def test_no_tracker_citations_outside_the_tests():
    """GIVEN every tracked file outside tests/ (code, templates, docs, benchmarks, deploy)
    WHEN read THEN none cites the tracker's issue numbers or finding labels: each says the
    product's reason instead."""
    assert repository_citations(ROOT) == {}


# --- Links between the pages of README.md and docs/ ---------------------------------------

LINK = re.compile(r"(?<!!)\[[^\]]*\]\((?P<target>[^)\s]+)\)")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def anchor_of(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def headings_and_links(path: Path) -> tuple[set[str], list[str]]:
    """A page's heading anchors and link targets, code blocks left out (a link's text may
    run over two lines)."""
    anchors, prose, fenced = set(), [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        if line.startswith("#"):
            anchors.add(anchor_of(line.lstrip("#")))
        prose.append(line)
    return anchors, [match["target"] for match in LINK.finditer("\n".join(prose))]


def broken_links(root: Path) -> list[str]:
    pages = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    broken = []
    for page in pages:
        for target in headings_and_links(page)[1]:
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # https:, mailto:: another site's
            name, _, anchor = target.partition("#")
            linked = (page.parent / name).resolve() if name else page
            where = f"{page.relative_to(root)}: {target}"
            if not linked.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in headings_and_links(linked)[0]:
                broken.append(f"{where} (no such heading)")
    return broken


def test_a_heading_s_anchor_is_github_s():
    """GIVEN headings with code, punctuation and slashes WHEN their anchors are made
    THEN they are those GitHub gives them."""
    assert (
        anchor_of(" An operator's walk-through, in order") == "an-operators-walk-through-in-order"
    )
    assert anchor_of(" The embedded shape: `make run`") == "the-embedded-shape-make-run"
    assert anchor_of(" Upload to answer: X-on's POST /api/v1/files") == (
        "upload-to-answer-x-ons-post-apiv1files"
    )


def test_a_broken_link_is_found(tmp_path):
    """GIVEN a page linking a missing page, a missing heading and a good one
    WHEN its links are checked THEN the two broken ones are named, the rest pass."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\n## The map\n", encoding="utf-8")
    (tmp_path / "README.md").write_text(
        "[a](docs/guide.md#the-map) [b](docs/gone.md) [c\nover two lines](docs/guide.md#no-such) "
        "[d](https://example.org/x) [e](#here)\n\n## Here\n\n```text\n[f](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(tmp_path) == [
        "README.md: docs/gone.md (no such file)",
        "README.md: docs/guide.md#no-such (no such heading)",
    ]


def test_every_link_of_the_readme_and_docs_resolves():
    """GIVEN README.md and every page under docs/ WHEN each relative link is followed
    THEN its file exists, and its heading where it names one: pages moved between the
    guides leave no reader at a dead end."""
    assert broken_links(ROOT) == []
