"""What a process of the portal loads when it starts: the web app with its URLconf, and
the Celery app. The record report's PDF library (fpdf2, with the parts of fontTools it
brings) took a fifth of a second in every process; only the worker drawing a report needs
it."""

from __future__ import annotations

import json

import pytest

from tests.support.commands import python_in_a_fresh_process

STARTUP = """
import json, sys
import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns
import config.wsgi, config.celery
at_startup = sorted(name for name in sys.modules if name.split(".")[0] == "fpdf")
import filerequests.report_pdf
print(json.dumps({"at_startup": at_startup, "drawing": "fpdf" in sys.modules}))
"""


def pdf_library_loaded() -> dict:
    done = python_in_a_fresh_process(STARTUP)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # starts a fresh Django process
def test_starting_the_portal_loads_no_pdf_drawing_library():
    """GIVEN a fresh process WHEN Django is set up with the URLconf, the WSGI app and the
    Celery app THEN fpdf2 is not loaded; the report's drawing module, imported after,
    brings it (so the check looks for the right name)."""
    assert pdf_library_loaded() == {"at_startup": [], "drawing": True}
