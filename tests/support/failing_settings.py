"""The portal's settings with the URLconf of failing views (tests/support/sentry_urls.py),
for a real gunicorn in tests of error reporting and logs."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.support.sentry_urls"
