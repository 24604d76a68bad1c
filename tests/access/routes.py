"""The access rule of every API route, for the cross-account matrix.

Each named route under ``/api/v1/`` must appear here: ``kwargs`` builds the URL
for one of account A's objects from the ``world`` (see test_access_matrix),
``methods`` lists what the route answers. A route missing from this table
fails the matrix, so no route ships without a cross-account rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RouteRule:
    methods: tuple[str, ...]
    kwargs: Callable[[object], dict] = field(default=lambda world: {})
    # A collection lists objects: another account must not find A's ids in it.
    collection: bool = False
    # What another account gets for A's object: 404, unless a seed documents otherwise
    # (Claros answers 403 for another account's patient).
    foreign_status: int = 404


ROUTES: dict[str, RouteRule] = {
    "patient-list": RouteRule(methods=("GET", "POST"), collection=True),
    "patient-detail": RouteRule(
        methods=("GET", "PATCH"), kwargs=lambda world: {"patient_id": world.patient.id}
    ),
    # Patient attachments: Cliniko
    "patient-attachment-presigned-post": RouteRule(
        methods=("GET",), kwargs=lambda world: {"patient_id": world.patient.id}
    ),
    "patient-attachment-patient-list": RouteRule(
        methods=("GET",), kwargs=lambda world: {"patient_id": world.patient.id}
    ),
    "patient-attachment-list": RouteRule(methods=("GET", "POST"), collection=True),
    "patient-attachment-detail": RouteRule(
        methods=("GET", "DELETE"), kwargs=lambda world: {"attachment_id": world.attachment.id}
    ),
    "patient-attachment-archive": RouteRule(
        methods=("POST",), kwargs=lambda world: {"attachment_id": world.attachment.id}
    ),
    "patient-attachment-content": RouteRule(
        methods=("GET",), kwargs=lambda world: {"attachment_id": world.attachment.id}
    ),
    # Claros: seed 002 documents 403 for a patient of another account.
    "patient-pdf-upload": RouteRule(
        methods=("POST",),
        kwargs=lambda world: {"patient_id": world.patient.id},
        foreign_status=403,
    ),
    # Medable photo property
    "patient-photo": RouteRule(
        methods=("GET", "PUT"), kwargs=lambda world: {"patient_id": world.patient.id}
    ),
    "patient-photo-refresh": RouteRule(
        methods=("PUT",), kwargs=lambda world: {"patient_id": world.patient.id}
    ),
    "patient-photo-facet": RouteRule(
        methods=("GET",),
        kwargs=lambda world: {"patient_id": world.patient.id, "facet": "thumbnail"},
    ),
    "file-list": RouteRule(methods=("POST",), collection=True),
    "file-detail": RouteRule(methods=("GET",), kwargs=lambda world: {"file_id": world.file.id}),
    "file-metadata": RouteRule(methods=("GET",), kwargs=lambda world: {"file_id": world.file.id}),
    "file-request-list": RouteRule(methods=("GET", "POST"), collection=True),
    "file-request-detail": RouteRule(
        methods=("GET",), kwargs=lambda world: {"file_request_id": world.file_request.id}
    ),
    "file-request-cancel": RouteRule(
        methods=("POST",), kwargs=lambda world: {"file_request_id": world.file_request.id}
    ),
    "file-request-resend": RouteRule(
        methods=("POST",), kwargs=lambda world: {"file_request_id": world.file_request.id}
    ),
    "file-request-report": RouteRule(
        methods=("GET",), kwargs=lambda world: {"file_request_id": world.file_request.id}
    ),
    "record-report-list": RouteRule(methods=("POST",), collection=True),
    "record-report-detail": RouteRule(
        methods=("GET",), kwargs=lambda world: {"report_id": world.record_report.id}
    ),
    "webhook-endpoint-list": RouteRule(methods=("GET", "POST"), collection=True),
    "webhook-endpoint-detail": RouteRule(
        methods=("GET", "PATCH", "DELETE"),
        kwargs=lambda world: {"endpoint_id": world.endpoint.id},
    ),
    "webhook-endpoint-ping": RouteRule(
        methods=("POST",), kwargs=lambda world: {"endpoint_id": world.endpoint.id}
    ),
    "webhook-endpoint-deliveries": RouteRule(
        methods=("GET",), kwargs=lambda world: {"endpoint_id": world.endpoint.id}
    ),
    "webhook-delivery-list": RouteRule(methods=("GET",), collection=True),
    "webhook-delivery-detail": RouteRule(
        methods=("GET",), kwargs=lambda world: {"delivery_id": world.delivery.id}
    ),
    "webhook-delivery-redeliver": RouteRule(
        methods=("POST",), kwargs=lambda world: {"delivery_id": world.delivery.id}
    ),
    # The caller's own account's singleton: B sees B's, never A's.
    "webhook-signing-secret": RouteRule(methods=("GET", "POST"), collection=True),
}


# --- Everything else in the URLconf -------------------------------------------------------
#
# The walker (tests/access/test_route_walker.py) takes every URL pattern: ``api/v1/`` routes from
# ROUTES above, the ``dashboard`` namespace from tests/dashboard/routes.py, the rest from
# this table. ``admin/`` is left out: Django's admin has its own guard (staff users of the
# operator, is_staff + its own login) and is not a clinic surface. Static files have no
# URL pattern (WhiteNoise serves them as middleware) and hold no patient data.


@dataclass(frozen=True)
class OtherRule:
    methods: tuple[str, ...]
    # public: anyone may open it and it shows nothing of any account.
    # patient: the patient page; the short link or the verified session decides.
    # storage: the embedded storage's POST endpoint; only a signed policy decides.
    # metrics: Prometheus's scrape, behind its own token.
    # sms-receipt: a text provider's receipt, behind its bearer token or signature.
    # fhir: an account's object over FHIR (401 without a live key, 404 for another's);
    # fhir-collection: a search (another account finds nothing of A's);
    # fhir-public: refusals, the same for any live key.
    kind: str
    kwargs: Callable[[object], dict] = field(default=lambda world: {})


OTHER_ROUTES: dict[str, OtherRule] = {
    "healthz": OtherRule(methods=("GET",), kind="public"),
    "livez": OtherRule(methods=("GET",), kind="public"),
    "readyz": OtherRule(methods=("GET",), kind="public"),
    "schema": OtherRule(methods=("GET",), kind="public"),
    "api-docs": OtherRule(methods=("GET",), kind="public"),
    "storage-upload": OtherRule(methods=("POST",), kind="storage"),
    "storage-upload-key": OtherRule(
        methods=("POST",), kind="storage", kwargs=lambda world: {"key": world.ticket.key_prefix}
    ),
    "filerequests-patient:short-link": OtherRule(
        methods=("GET", "POST"),
        kind="patient",
        kwargs=lambda world: {"short_link_id": world.file_request.short_link_id},
    ),
    "filerequests-patient:upload": OtherRule(methods=("GET",), kind="patient"),
    "filerequests-patient:upload-ticket": OtherRule(methods=("POST",), kind="patient"),
    "filerequests-patient:upload-confirm": OtherRule(methods=("POST",), kind="patient"),
    "filerequests-patient:upload-finish": OtherRule(methods=("POST",), kind="patient"),
    "filerequests-patient:done": OtherRule(methods=("GET",), kind="patient"),
    "filerequests-patient:upload-status": OtherRule(methods=("GET",), kind="patient"),
    "filerequests-patient:upload-known": OtherRule(methods=("POST",), kind="patient"),
    "filerequests-patient:upload-thumbnail": OtherRule(
        methods=("GET",), kind="patient", kwargs=lambda world: {"file_id": world.request_file.pk}
    ),
    # Prometheus: 404 unless METRICS_TOKEN is set, then only its bearer.
    "metrics": OtherRule(methods=("GET",), kind="metrics"),
    # The text providers' delivery receipts: only their token or signature decides.
    "sms-receipt-notify": OtherRule(methods=("POST",), kind="sms-receipt"),
    "sms-receipt-twilio": OtherRule(
        methods=("POST",),
        kind="sms-receipt",
        kwargs=lambda world: {"notification_id": str(world.file_request.pk)},
    ),
    # FHIR R4: an account's API key; another account's objects answer 404.
    "fhir-metadata": OtherRule(methods=("GET",), kind="public"),  # read before any key
    "fhir-base": OtherRule(methods=("GET",), kind="fhir-public"),
    "fhir-unsupported": OtherRule(
        methods=("GET", "POST"), kind="fhir-public", kwargs=lambda world: {"rest": "Observation"}
    ),
    "fhir-patient-search": OtherRule(methods=("GET",), kind="fhir-collection"),
    "fhir-document-search": OtherRule(methods=("GET",), kind="fhir-collection"),
    "fhir-patient-read": OtherRule(
        methods=("GET", "PUT", "DELETE"),
        kind="fhir",
        kwargs=lambda world: {"resource_id": str(world.patient.pk)},
    ),
    "fhir-document-read": OtherRule(
        methods=("GET", "DELETE"),
        kind="fhir",
        kwargs=lambda world: {"resource_id": str(world.file.pk)},
    ),
    "fhir-binary-read": OtherRule(
        methods=("GET",), kind="fhir", kwargs=lambda world: {"resource_id": str(world.file.pk)}
    ),
}
