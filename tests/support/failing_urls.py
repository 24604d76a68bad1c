"""The portal's own URLs plus views that fail, for the error-page tests: a page under
the patient's /r/ prefix, one on the API, one on the storage endpoint. Nothing else of the
portal is replaced; its handler500 and templates answer."""

from django.urls import include, path
from rest_framework.views import APIView

SECRET_IN_THE_ERROR = "database password is hunter2"


def failing_page(request):
    raise RuntimeError(SECRET_IN_THE_ERROR)


class FailingApi(APIView):
    authentication_classes = []
    permission_classes = []

    def get(self, request):
        raise RuntimeError(SECRET_IN_THE_ERROR)


urlpatterns = [
    path("r/test-failure", failing_page),
    path("api/v1/test-failure", FailingApi.as_view()),
    path("storage/test-failure", failing_page),
    path("", include("config.urls")),
]
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
