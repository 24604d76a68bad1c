"""Headless Chromium through Playwright, on the system's /usr/bin/chromium (never a
downloaded browser). Screenshots land in tests/artifacts/screenshots/ for people to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.artifacts import ARTIFACTS_DIR

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
SCREENSHOT_DIR = ARTIFACTS_DIR / "screenshots"

DESKTOP = {"viewport": {"width": 1366, "height": 900}}
TABLET = {"viewport": {"width": 820, "height": 1180}, "has_touch": True}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Playwright waits 30 s for a page event by default. make test runs the browser tests beside
# the CPU-bound quick lane, and on two busy cores a patient's two photos took longer than
# that to reach the done page once (57 s, against 26 s alone). A wait is not what these
# tests judge: a test that promises a time asserts it itself.
PAGE_WAIT_MS = 90_000


def new_context(chromium, shape: dict):
    context = chromium.new_context(**shape, locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(PAGE_WAIT_MS)
    return context


@pytest.fixture
def desktop_page(chromium):
    context = new_context(chromium, DESKTOP)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone_page(chromium):
    context = new_context(chromium, PHONE)
    yield context.new_page()
    context.close()


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot (the full page unless asked for the viewport, as a modal needs)
    as tests/artifacts/screenshots/<name>.png.

    One image pixel per CSS pixel: a phone's page (device scale 2) is drawn at 390 wide,
    not 780. The page is laid out and rendered exactly as on the phone; only the picture
    people look at is smaller. At the phone's own scale the screenshots took two fifths
    of Chromium's CPU in the phone's accessibility scan (9.6 of 24.4 s; a record page was
    780 by 8,800), and a third of that at this one."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    # A sticky header drawn at the scroll position would cover the top of a full-page shot.
    if full_page:
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=full_page, scale="css")
    return path


def console_errors(page) -> list[str]:
    """Collect the page's script errors and console errors (CSP violations among them) as
    they happen, each with the address of the page it came on (a test visits many); a
    failed resource load is left out, since error pages are visited on purpose. Call it
    when the page opens: it sees only what happens after."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{error} (on {page.url})"))
    page.on(
        "console",
        lambda msg: (
            errors.append(f"{msg.text} (on {page.url})")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    return errors
