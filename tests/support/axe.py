"""axe-core (Deque, vendored in tests/support/vendor/axe.min.js, MPL-2.0) run inside a
Playwright page: the WCAG 2.2 A and AA rules and best practices, as the browser renders
the page at its current width.

``axe_violations(page)`` answers the violations; ``assert_no_serious_violations(page)``
fails the test on any serious or critical one, naming the rule, the impact and the
elements, so the failure says what to fix.
"""

from __future__ import annotations

from pathlib import Path

AXE_SOURCE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
SERIOUS = {"serious", "critical"}


# One round trip through the DevTools protocol when axe-core is already in the page
# (null when it is not): each round trip costs Playwright's driver and Chromium some 25 ms
# of CPU, and the scans run on hundreds of pages.
RUN = """async (tags) => {
    if (!window.axe) { return null; }
    const outcome = await window.axe.run(document, {
        runOnly: { type: "tag", values: tags },
        resultTypes: ["violations"],
    });
    return outcome.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        targets: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
    }));
}"""


def axe_on_every_page(page) -> None:
    """Have every page the context opens from now on load axe-core as it loads, for a test
    that scans page after page: a DevTools init script, which the page's strict
    Content-Security-Policy (no inline scripts) does not govern, so the page under test
    keeps its real policy. Loaded with the page, axe-core is not sent and compiled again
    before each scan (26 dashboard pages: 10.3 to 8.8 CPU-s of Chromium and driver)."""
    page.context.add_init_script(path=str(AXE_SOURCE))


def axe_violations(page, *, tags: list[str] | None = None) -> list[dict]:
    """The axe-core violations of the page as it is now (every impact)."""
    tags = tags or TAGS
    violations = page.evaluate(RUN, tags)
    if violations is None:
        # Evaluated through the DevTools protocol, like the init script above.
        page.evaluate(AXE_SOURCE.read_text() + "\n;true")
        violations = page.evaluate(RUN, tags)
    return violations


def serious_violations(page) -> list[dict]:
    return [v for v in axe_violations(page) if v["impact"] in SERIOUS]


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['targets'])}" for v in violations
    )


def assert_no_serious_violations(page, where: str = "") -> list[dict]:
    """Fail on serious or critical violations; answer all violations for a table."""
    violations = axe_violations(page)
    serious = [v for v in violations if v["impact"] in SERIOUS]
    assert not serious, f"axe-core on {where or page.url}:\n{describe(serious)}"
    return violations
