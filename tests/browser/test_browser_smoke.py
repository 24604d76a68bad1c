"""The browser harness itself: system Chromium drives a page served by the live server."""

import pytest

from tests.support.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_login_page_renders(live_server, desktop_page):
    desktop_page.goto(f"{live_server.url}/admin/login/")
    assert desktop_page.locator("input[name=username]").is_visible()
    assert screenshot(desktop_page, "admin-login-desktop").stat().st_size > 1000
