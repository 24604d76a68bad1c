"""``/fhir/R4/``: metadata, Patient, DocumentReference and Binary, read and search."""

from django.urls import path, re_path

from fhirapi import views

FHIR_ID = r"(?P<resource_id>[A-Za-z0-9\-\.]{1,64})"

urlpatterns = [
    path("", views.unsupported, name="fhir-base"),
    path("metadata", views.metadata, name="fhir-metadata"),
    path("Patient", views.patient_search, name="fhir-patient-search"),
    re_path(rf"^Patient/{FHIR_ID}$", views.patient_read, name="fhir-patient-read"),
    path("DocumentReference", views.document_reference_search, name="fhir-document-search"),
    re_path(
        rf"^DocumentReference/{FHIR_ID}$",
        views.document_reference_read,
        name="fhir-document-read",
    ),
    re_path(rf"^Binary/{FHIR_ID}$", views.binary_read, name="fhir-binary-read"),
    re_path(r"^(?P<rest>.+)$", views.unsupported, name="fhir-unsupported"),
]
