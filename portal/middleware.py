"""Response headers that Django's own settings do not cover."""

from __future__ import annotations

from django.conf import settings


def upload_origins() -> str:
    """Origins that pages may post uploads to: the bucket's, when the storage is S3.

    Taken from the same client that signs the tickets (``files.s3_urls.s3_post_origin``).
    """
    from django.core.files.storage import default_storage

    from files.s3_urls import s3_post_origin
    from files.tickets import storage_is_s3

    if not storage_is_s3(default_storage):
        return ""
    return s3_post_origin(default_storage)


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
