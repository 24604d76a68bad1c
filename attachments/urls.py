"""API routes of this app, included under /api/v1/ by config/urls.py."""

from django.urls import path, re_path

from attachments.api import claros, cliniko, medable

urlpatterns = [
    # Cliniko
    path(
        "patients/<str:patient_id>/attachment_presigned_post",
        cliniko.AttachmentPresignedPostApi.as_view(),
        name="patient-attachment-presigned-post",
    ),
    path(
        "patients/<str:patient_id>/patient_attachments",
        cliniko.PatientAttachmentListApi.as_view(),
        name="patient-attachment-patient-list",
    ),
    path(
        "patient_attachments",
        cliniko.AttachmentListCreateApi.as_view(),
        name="patient-attachment-list",
    ),
    path(
        "patient_attachments/<str:attachment_id>",
        cliniko.AttachmentDetailApi.as_view(),
        name="patient-attachment-detail",
    ),
    path(
        "patient_attachments/<str:attachment_id>/archive",
        cliniko.AttachmentArchiveApi.as_view(),
        name="patient-attachment-archive",
    ),
    path(
        "patient_attachments/<str:attachment_id>/content",
        cliniko.AttachmentContentApi.as_view(),
        name="patient-attachment-content",
    ),
    # Claros (its documents show the trailing slash; both forms are accepted)
    re_path(
        r"^patients/(?P<patient_id>[^/]+)/pdf/?$",
        claros.PatientPdfUploadApi.as_view(),
        name="patient-pdf-upload",
    ),
    # Medable
    path(
        "patients/<str:patient_id>/photo",
        medable.PatientPhotoApi.as_view(),
        name="patient-photo",
    ),
    path(
        "patients/<str:patient_id>/photo/refresh",
        medable.PatientPhotoRefreshApi.as_view(),
        name="patient-photo-refresh",
    ),
    path(
        "patients/<str:patient_id>/photo/<str:facet>",
        medable.PatientPhotoFacetApi.as_view(),
        name="patient-photo-facet",
    ),
]
