"""The portal's URLs. Each app owns its routes; this file only mounts them."""

from django.contrib import admin
from django.urls import include, path

from config.api_docs import ApiDocsView, ApiSchemaView
from config.health import healthz, livez, readyz
from config.metrics import metrics

# The schema's authentication schemes register as their module loads: with the URLs that
# serve the schema, not at every Django start (portal/api/schema.py).
from portal.api import schema  # noqa: F401
from portal.patients.api import PatientDetailApi, PatientListCreateApi

api_v1 = [
    path("patients", PatientListCreateApi.as_view(), name="patient-list"),
    path("patients/<str:patient_id>", PatientDetailApi.as_view(), name="patient-detail"),
    path("", include("files.urls")),
    path("", include("filerequests.urls")),
    path("", include("attachments.urls")),
    path("", include("portal.webhooks.urls")),
]

urlpatterns = [
    path("livez", livez, name="livez"),
    path("readyz", readyz, name="readyz"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("storage/", include("files.tickets.urls")),
    path("fhir/R4/", include("fhirapi.urls")),
    path("api/schema/", ApiSchemaView.as_view(), name="schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="schema"), name="api-docs"),
    # No DRF /api-auth/: its login signs in with a password alone (no code, no
    # throttle). Staff sign in at /login/; the browsable API uses that session.
    path("r/", include("filerequests.patient_urls")),
    path("sms/receipts/", include("filerequests.receipt_urls")),
    path("", include("dashboard.urls")),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
