"""What a process of the portal loads when it starts: the web app with its URLconf, and
the Celery app. The record report's PDF library (fpdf2, with the parts of fontTools it
brings) took a fifth of a second in every process; only the worker drawing a report needs
it. DRF's views (with Pygments), drf-spectacular and Django's test utilities took another
fifth at every Django start, through the admin's modules; only a process serving URLs
needs them."""

from __future__ import annotations

import json

import pytest

from tests.support.commands import python_in_a_fresh_process

STARTUP = """
import json, sys
import django
django.setup()
WEB_ONLY = ("rest_framework.views", "drf_spectacular.extensions", "django.test")
at_setup = sorted(name for name in WEB_ONLY if name in sys.modules)
from django.urls import get_resolver
get_resolver().url_patterns
import config.wsgi, config.celery
at_startup = sorted(name for name in sys.modules if name.split(".")[0] == "fpdf")
import filerequests.report_pdf
with_urls = sorted(name for name in WEB_ONLY if name in sys.modules)
print(json.dumps({"at_startup": at_startup, "drawing": "fpdf" in sys.modules,
                  "at_setup": at_setup, "with_urls": with_urls}))
"""


def loaded_at_start() -> dict:
    done = python_in_a_fresh_process(STARTUP)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # starts a fresh Django process
def test_starting_the_portal_loads_only_what_the_process_needs():
    """GIVEN a fresh process WHEN Django is set up with the URLconf, the WSGI app and the
    Celery app THEN fpdf2 is not loaded; the report's drawing module, imported after,
    brings it (so the check looks for the right name). Django set up alone loads no
    DRF view, no drf-spectacular and no Django test utility."""
    loaded = loaded_at_start()
    assert (loaded["at_startup"], loaded["drawing"]) == ([], True)
    # A Celery worker or a management command (Django set up, no URLconf) loads none of
    # the web's API machinery; the URLconf brings it (so the check looks for the right
    # names; drf-spectacular's schema view brings Django's test utilities with it).
    assert loaded["at_setup"] == []
    assert loaded["with_urls"] == [
        "django.test",
        "drf_spectacular.extensions",
        "rest_framework.views",
    ]
