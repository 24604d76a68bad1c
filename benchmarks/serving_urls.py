"""The portal's URLs plus the two references the serving benchmark measures the portal
against:

- ``/bench/bare/<storage key>``: the limit. The same bytes from the same storage, with none
  of the portal's work: no authentication, no database, no audit event, no headers of its own.
- ``/bench/drf/<file id>?facet=NAME``: the conventional peer, the download as a Django
  developer would write it: DRF's ``RetrieveAPIView`` with DRF's ``TokenAuthentication``
  and ``IsAuthenticated``, the file looked up in the caller's clinic, its facet by name,
  an audit row inserted, the bytes as a ``FileResponse``.
"""

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from rest_framework.authentication import TokenAuthentication
from rest_framework.generics import RetrieveAPIView
from rest_framework.permissions import IsAuthenticated

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as portal_urlpatterns
from files.models import Facet, File
from portal.audit.models import AuditEvent


def bare_thumbnail(request, key: str) -> HttpResponse:
    with default_storage.open(key, "rb") as stored:
        return HttpResponse(stored.read(), content_type="image/jpeg")


class ConventionalDownload(RetrieveAPIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]
    lookup_url_kwarg = "file_id"

    def get_queryset(self):
        return File.objects.filter(account__staff__user=self.request.user)

    def retrieve(self, request, *args, **kwargs):
        file = self.get_object()
        facet = get_object_or_404(
            file.facets,
            name=request.query_params.get("facet", Facet.CONTENT),
            state=Facet.State.READY,
        )
        AuditEvent.objects.create(
            account_id=file.account_id,
            actor_kind=AuditEvent.ActorKind.STAFF,
            actor_id=str(request.user.pk),
            action="file.download",
            target_type="files.file",
            target_id=str(file.pk),
            ip_address=request.META.get("REMOTE_ADDR"),
        )
        return FileResponse(
            default_storage.open(facet.storage_key, "rb"), content_type=facet.mime_type
        )


urlpatterns = [
    path("bench/bare/<path:key>", bare_thumbnail),
    path("bench/drf/<str:file_id>", ConventionalDownload.as_view()),
    *portal_urlpatterns,
]
