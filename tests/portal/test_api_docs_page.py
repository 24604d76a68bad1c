"""The interactive API docs load in a real browser with the strict CSP: no CDN, no inline script."""

import pytest

from tests.support.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_the_operations(live_server, desktop_page):
    violations = []
    desktop_page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    desktop_page.goto(f"{live_server.url}/api/docs/")
    desktop_page.get_by_text("/api/v1/patients", exact=True).first.wait_for(timeout=15000)
    screenshot(desktop_page, "api-docs-desktop")
    assert violations == []
