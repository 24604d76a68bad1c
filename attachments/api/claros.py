"""Claros's ``POST /patients/{patient_id}/pdf/`` (seed 002): multipart ``file`` and
``filename``, ``X-API-Key``; 201 ``{id, url, filename, created_at, patient_id}``.

Errors as the seed lists them: 400 when the bytes are not a PDF or the name does
not end in ``.pdf``, 401 without a valid key, 403 for a patient of another
account (the one route that says so instead of 404), 404 for no such patient,
413 as soon as the file passes ``ATTACHMENTS_CLAROS_MAX_PDF_BYTES`` while it
streams in. ``url`` is the authenticated content download, never a public URL.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from attachments import selectors, services
from attachments.uploadhandlers import SizeLimitUploadHandler
from files import quota
from files.models import File
from files.services import UploadTooLarge
from files.waiting import file_wait_processed
from portal.api.errors import PayloadTooLarge
from portal.api.schema import ERROR_SCHEMA
from portal.patients.selectors import patient_get

PDF_SIGNATURE = b"%PDF-"
# PDF readers accept the signature anywhere in the first 1024 bytes.
PDF_SIGNATURE_WINDOW = 1024


class PdfUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The PDF file to upload.")
    filename = serializers.CharField(max_length=255, help_text="The name to give the file.")

    def validate_filename(self, value: str) -> str:
        if not value.lower().endswith(".pdf") or len(value) < 5:
            raise serializers.ValidationError("The filename must include the .pdf extension.")
        return value

    def validate_file(self, value):
        value.seek(0)
        head = value.read(PDF_SIGNATURE_WINDOW)
        value.seek(0)
        if PDF_SIGNATURE not in head:
            raise serializers.ValidationError("The file must be a valid PDF document.")
        return value


class PdfUploadOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    url = serializers.URLField()
    filename = serializers.CharField()
    created_at = serializers.DateTimeField()
    patient_id = serializers.IntegerField(
        help_text="The patient's number within the clinic (seed 002 types it as an integer); "
        "the path accepts it, or the patient's UUID."
    )


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(
        {"type": "object", "properties": ERROR_SCHEMA["properties"]}, description=description
    )


class PatientPdfUploadApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body (authentication's CSRF check can), so the
        # size limit is judged chunk by chunk while the file streams in.
        request.upload_handlers = [
            SizeLimitUploadHandler(request, limit=settings.ATTACHMENTS_CLAROS_MAX_PDF_BYTES),
            MemoryFileUploadHandler(request),
            TemporaryFileUploadHandler(request),
        ]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        operation_id="claros_patient_pdf_upload",
        tags=["Claros PDF upload"],
        request={"multipart/form-data": PdfUploadInputSerializer},
        responses={
            201: PdfUploadOutputSerializer,
            400: error_response("Not a PDF, or the filename lacks .pdf."),
            401: error_response("No valid API key."),
            403: error_response("The patient belongs to another account."),
            404: error_response("No such patient."),
            413: error_response("The PDF is larger than allowed."),
            415: error_response("Not multipart/form-data."),
        },
    )
    def post(self, request, patient_id):
        """Upload a PDF to a patient's record."""
        account = request.auth.account
        patient = patient_get(account=account, patient_id=patient_id)
        if patient is None:
            if selectors.patient_owner_account_id(patient_id=patient_id) is not None:
                raise PermissionDenied(
                    "You can only upload PDFs for patients associated with your account."
                )
            raise NotFound("Patient not found. The specified patient ID does not exist.")
        serializer = PdfUploadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            attachment = services.attachment_create_from_pdf(
                account=account,
                patient=patient,
                uploaded_file=serializer.validated_data["file"],
                filename=serializer.validated_data["filename"],
                actor=request.auth.actor,
            )
        except UploadTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from exc
        except quota.TrialQuotaExceeded as exc:
            if exc.reason == "bytes":
                raise PayloadTooLarge(exc.message) from exc
            raise ValidationError({"file": [exc.message]}) from exc
        # Seed 002 has no processing state: wait (bounded) for the worker's verdict, so a
        # PDF whose header is right and whose body is junk answers 400 here, not 201 and
        # then a 409 on its url for ever.
        file = file_wait_processed(attachment.file)
        if file.state == File.State.REJECTED:
            raise ValidationError(
                {"file": [f"The file must be a valid PDF document: {file.rejection_reason}"]}
            )
        url = request.build_absolute_uri(
            reverse("patient-attachment-content", kwargs={"attachment_id": attachment.pk})
        )
        body = {
            "id": str(attachment.pk),
            "url": url,
            "filename": attachment.file.original_name,
            "created_at": attachment.created_at,
            "patient_id": patient.number,
        }
        return Response(PdfUploadOutputSerializer(body).data, status=status.HTTP_201_CREATED)
