"""The bucket URL of upload tickets and the CSP's connect-src come from one place.

Browsers post tickets straight to the bucket, so a page's ``connect-src`` must allow
exactly the origin the ticket names. On AWS with the operator guide's own example (no
``S3_ENDPOINT_URL``) they used to differ: tickets named ``bucket.s3.amazonaws.com``
while the CSP allowed ``bucket.s3.<region>.amazonaws.com``, and every browser upload
was blocked. Each AWS URL style is checked here; no request leaves the machine
(presigning is local).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from config.settings import storage_settings_for
from files import services
from files.tickets.policies import presigned_post_for
from portal.audit.services import Actor

pytestmark = pytest.mark.django_db
BUCKET = "clinic-files"

# name: (storage_settings_for options, the ticket URL expected)
STYLES = {
    "AWS us-east-1, virtual-hosted regional (the operator guide's example)": (
        {"endpoint_url": None, "region": "us-east-1"},
        "https://clinic-files.s3.us-east-1.amazonaws.com/",
    ),
    "AWS eu-west-2, virtual-hosted regional": (
        {"endpoint_url": None, "region": "eu-west-2"},
        "https://clinic-files.s3.eu-west-2.amazonaws.com/",
    ),
    "AWS ap-southeast-2, virtual-hosted regional": (
        {"endpoint_url": None, "region": "ap-southeast-2"},
        "https://clinic-files.s3.ap-southeast-2.amazonaws.com/",
    ),
    "AWS legacy global endpoint named explicitly": (
        {
            "endpoint_url": "https://s3.amazonaws.com",
            "region": "us-east-1",
            "addressing_style": "virtual",
        },
        "https://clinic-files.s3.amazonaws.com/",
    ),
    "AWS path-style": (
        {"endpoint_url": None, "region": "eu-west-2", "addressing_style": "path"},
        "https://s3.eu-west-2.amazonaws.com/clinic-files",
    ),
    "AWS dual-stack": (
        {"endpoint_url": None, "region": "eu-west-2", "dualstack": True},
        "https://clinic-files.s3.dualstack.eu-west-2.amazonaws.com/",
    ),
    "AWS dual-stack, path-style": (
        {
            "endpoint_url": None,
            "region": "us-east-1",
            "dualstack": True,
            "addressing_style": "path",
        },
        "https://s3.dualstack.us-east-1.amazonaws.com/clinic-files",
    ),
    "custom endpoint (path-style by default)": (
        {"endpoint_url": "https://s3.storage.example.net", "region": "eu-west-2"},
        "https://s3.storage.example.net/clinic-files",
    ),
    "custom endpoint with a port": (
        {"endpoint_url": "http://127.0.0.1:9000", "region": "us-east-1"},
        "http://127.0.0.1:9000/clinic-files",
    ),
    "custom endpoint, virtual-hosted": (
        {
            "endpoint_url": "https://s3.storage.example.net",
            "region": "eu-west-2",
            "addressing_style": "virtual",
        },
        "https://clinic-files.s3.storage.example.net/",
    ),
}


def connect_src(response) -> list[str]:
    policy = response.headers["Content-Security-Policy"]
    (directive,) = [d.strip() for d in policy.split(";") if d.strip().startswith("connect-src")]
    return directive.split()[1:]


@pytest.mark.parametrize("style", STYLES, ids=list(STYLES))
def test_ticket_url_and_csp_connect_src_agree(style, settings, client, account, patient):
    """GIVEN S3 configured in one of AWS's URL styles WHEN a ticket is issued and a page is
    served THEN the ticket names the expected URL and the page's connect-src allows its
    origin (and no other bucket host)."""
    options, expected_url = STYLES[style]
    # The settings as production would have them, beside the storage built from them.
    settings.S3_BUCKET, settings.S3_REGION = BUCKET, options["region"]
    settings.S3_ENDPOINT_URL = options["endpoint_url"]
    settings.STORAGES = {**settings.STORAGES, "default": storage_settings_for(BUCKET, **options)}
    ticket = services.upload_ticket_issue(
        account=account, patient=patient, purpose="photo", issued_by=Actor.system()
    )
    url = presigned_post_for(ticket)["url"]
    assert url == expected_url
    parts = urlsplit(url)
    sources = connect_src(client.get("/login/"))
    assert f"{parts.scheme}://{parts.netloc}" in sources
    assert [s for s in sources if s != "'self'"] == [f"{parts.scheme}://{parts.netloc}"]


def test_embedded_storage_needs_no_other_origin(client):
    """GIVEN the embedded storage (tickets post to the portal itself) WHEN a page is served
    THEN connect-src is the portal's own origin only."""
    assert connect_src(client.get("/login/")) == ["'self'"]
