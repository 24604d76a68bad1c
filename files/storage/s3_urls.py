"""Where clients post upload tickets on S3, and so what the pages' CSP must allow.

One place for both: the tickets' ``url`` (botocore's presigned POST) and the CSP's
``connect-src`` (config.middleware) are read from the same configured client, so they
cannot disagree. They did: tickets named ``bucket.s3.amazonaws.com`` while the CSP
allowed ``bucket.s3.<region>.amazonaws.com``, and browsers refused every upload.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def s3_post_url(storage) -> str:
    """The URL clients POST upload tickets to: botocore's own answer for this storage's client.

    The one place the tickets' ``url`` and the pages' CSP ``connect-src`` come from, so
    they cannot disagree (they did: tickets went to ``bucket.s3.amazonaws.com`` while the
    CSP allowed ``bucket.s3.<region>.amazonaws.com``). The addressing style, dual-stack
    and regional endpoint are chosen in the client's config (``storage_settings_for``).
    """
    client = storage.connection.meta.client
    return client.generate_presigned_post(Bucket=storage.bucket_name, Key="origin-probe")["url"]


def s3_post_origin(storage) -> str:
    """The origin (scheme, host, port) of ``s3_post_url``, as a CSP source expression."""
    parts = urlsplit(s3_post_url(storage))
    return f"{parts.scheme}://{parts.netloc}"
