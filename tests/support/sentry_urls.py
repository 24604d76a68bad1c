"""The portal's URLs plus a view that fails holding patient data, for the Sentry tests:
the data is in the request (body, query, cookie, path) and in the view's locals and its
exception's message, everywhere an error reporter could pick it up."""

from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

PATIENT_NAME = "Philippa Quarrington-Smythe"
PATIENT_MOBILE = "+447700900462"


@csrf_exempt
def failing_with_patient_data(request, link_id):
    patient_name = request.POST.get("name", PATIENT_NAME)  # a local the reporter must not send
    date_of_birth = request.GET.get("dob")
    raise ValueError(f"no patient matched {PATIENT_MOBILE}: {len(patient_name)} {date_of_birth!r}")


urlpatterns = [
    path("r/<str:link_id>/sentry-failure", failing_with_patient_data),
    path("", include("config.urls")),
]
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
