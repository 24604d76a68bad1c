"""Settings for the serving benchmark only: the portal's own settings, plus a URLconf that adds
the bare view it is compared with. Never used by the product or the tests (the route walker
checks the portal's own URLconf, which this leaves untouched)."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.serving_urls"
