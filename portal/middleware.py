"""Response headers that Django's own settings do not cover."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def upload_origins() -> str:
    """Origins that pages may post uploads to: the S3 endpoint when S3 is in use."""
    if not settings.S3_BUCKET:
        return ""
    if settings.S3_ENDPOINT_URL:
        parts = urlsplit(settings.S3_ENDPOINT_URL)
        return f"{parts.scheme}://{parts.netloc}"
    return f"https://{settings.S3_BUCKET}.s3.{settings.S3_REGION}.amazonaws.com"


class ContentSecurityPolicyMiddleware:
    """Adds the portal's strict Content-Security-Policy to every response.

    A view that serves patient bytes sets its own (``sandbox``) policy first;
    that one is kept, never replaced by the page policy.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY.format(
            upload_origins=upload_origins()
        ).replace("  ", " ")

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
