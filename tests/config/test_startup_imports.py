"""What a process of the portal loads when it starts: the web app with its URLconf, and
the Celery app. The record report's PDF library (fpdf2, with the parts of fontTools it
brings) took a fifth of a second in every process; only the worker drawing a report needs
it. DRF's views (with Pygments), drf-spectacular and Django's test utilities took another
fifth at every Django start, through the admin's modules; only a process serving URLs
needs them. pypdf (0.15 CPU-s, through the serving of renditions and the processing chain)
and the QR code library (for the two-factor enrolment page) loaded at every Django start
too; only a worker checking a PDF, and the page drawing a code, need them."""

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
WHEN_USED = ("pypdf", "qrcode")
used_at_startup = sorted(name for name in WHEN_USED if name in sys.modules)
from files.pipeline import worker_warmup
worker_warmup.processing_code_load()
warm = sorted(name for name in WHEN_USED if name in sys.modules)
from dashboard.twofactor import qr_code_data_uri
drawn = qr_code_data_uri("otpauth://totp/Portal:a@example.org?secret=JBSWY3DPEHPK3PXP")
after_code = sorted(name for name in WHEN_USED if name in sys.modules)
print(json.dumps({"at_startup": at_startup, "drawing": "fpdf" in sys.modules,
                  "at_setup": at_setup, "with_urls": with_urls,
                  "used_at_startup": used_at_startup, "warm": warm,
                  "after_code": after_code, "code": drawn[:26]}))
"""


def loaded_at_start() -> dict:
    done = python_in_a_fresh_process(STARTUP)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # starts a fresh Django process
def test_starting_the_portal_loads_only_what_the_process_needs():
    """GIVEN a fresh process WHEN Django is set up with the URLconf, the WSGI app and the
    Celery app THEN fpdf2, pypdf and the QR code library are not loaded; the report's
    drawing module, a worker's warm-up before it forks, and drawing a QR code, each done
    after, bring theirs (so the check looks for the right names). Django set up alone
    loads no DRF view, no drf-spectacular and no Django test utility."""
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
    # A worker has pypdf before its pool forks, so no PDF's check pays for the import;
    # the enrolment page's code is drawn with the library it imports then.
    assert loaded["used_at_startup"] == []
    assert loaded["warm"] == ["pypdf"]
    assert (loaded["after_code"], loaded["code"]) == (
        ["pypdf", "qrcode"],
        "data:image/svg+xml;base64,",
    )
