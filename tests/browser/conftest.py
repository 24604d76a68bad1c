"""Browser journeys use the dashboard's browsing fixtures: a clinic with an admin who
signs in with a code, and fresh pages of a given shape."""

from tests.dashboard.conftest import clinic, open_page  # noqa: F401
