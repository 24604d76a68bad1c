"""Settings for the serving benchmark only: the portal's own settings, plus a URLconf that adds
the two views it is compared with (the bare view and the conventional DRF download), and
DRF's token tables for the latter. Never used by the product or the tests (the route walker
checks the portal's own URLconf, which this leaves untouched)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.serving_urls"
INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework.authtoken"]  # noqa: F405
