"""Response headers that Django's own settings do not cover."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils.cache import patch_cache_control

from files.storage.objects import storage_is_s3
from files.storage.s3_urls import s3_post_origin


def upload_origins() -> str:
    """Origins that pages may post uploads to: the bucket's, when the storage is S3.

    Taken from the same client that signs the tickets (``files.storage.s3_urls.s3_post_origin``).
    """

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


class PrivateAnswersMiddleware:
    """``Cache-Control: no-store, private`` on every answer the portal makes.

    Pages, htmx partials, API JSON and file bytes about patients must never be kept by
    a browser (a shared computer in a clinic, the back button after signing out) nor by
    a shared cache in between. A view that sets its own ``Cache-Control`` keeps its
    directives, with ``no-store`` and ``private`` added; only an answer a view marks
    ``public`` to a caller that sent no credentials (no session cookie, no key) is left
    as the view made it. Static assets never reach this middleware (WhiteNoise answers
    them before it, cacheable: they hold no patient data).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        directives = {
            part.strip().split("=", 1)[0].lower()
            for part in response.get("Cache-Control", "").split(",")
        }
        if "public" in directives and not carries_credentials(request):
            return response
        if not {"no-store", "private"} <= directives:
            patch_cache_control(response, no_store=True, private=True)
        return response


def carries_credentials(request) -> bool:
    """Whether the request could be answered for someone: a session cookie, or an API
    key in any of the forms the API takes."""
    return bool(
        request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        or request.META.get("HTTP_AUTHORIZATION")
        or request.META.get("HTTP_X_API_KEY")
    )
