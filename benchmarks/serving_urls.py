"""The portal's URLs plus ``/bench/bare/<storage key>``: the reference the serving benchmark
measures the portal against. The same bytes from the same storage, with none of the portal's
work: no authentication, no database, no audit event, no headers of its own."""

from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.urls import path

from portal.urls import handler400, handler403, handler404, handler500  # noqa: F401
from portal.urls import urlpatterns as portal_urlpatterns


def bare_thumbnail(request, key: str) -> HttpResponse:
    with default_storage.open(key, "rb") as stored:
        return HttpResponse(stored.read(), content_type="image/jpeg")


urlpatterns = [path("bench/bare/<path:key>", bare_thumbnail), *portal_urlpatterns]
