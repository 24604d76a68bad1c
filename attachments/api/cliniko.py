"""Cliniko's patient attachments (seed 000 and Cliniko's current reference).

``GET patients/{id}/attachment_presigned_post`` → ``{url, fields}``; the client
posts to storage, then ``POST patient_attachments`` with the ``upload_url``
creates the record at once, ``processing_completed`` false until the pipeline
has checked the file. Lists page as Cliniko pages; archived attachments are
left out unless ``q[]=archived_at:*`` (all) or ``q[]=archived_at:?`` (only
archived) asks for them. The content is downloaded through the API only.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from attachments import selectors, services
from attachments.api.errors import (
    ClinikoValidationFailed,
    cliniko_error_responses,
    cliniko_exception_handler,
)
from attachments.api.pagination import PAGING_PARAMETERS, cliniko_page, cliniko_page_schema
from attachments.models import PatientAttachment
from files.api import AnyAcceptNegotiation
from files.models import File
from files.serving import respond
from files.serving.respond import Refusal
from files.tickets.policies import presigned_post_for
from files.waiting import file_wait_processed
from portal.api.errors import Conflict, Gone
from portal.api.serializers import StrictSerializer
from portal.patients.selectors import patient_get


class FileNotReady(Conflict):
    default_detail = "This file is still being processed; try again shortly."

    def __init__(self):
        super().__init__()
        self.wait = settings.FILES_NOT_READY_RETRY_AFTER


class ClinikoApiView(APIView):
    def get_exception_handler(self):
        return cliniko_exception_handler


def links(url: str) -> dict:
    return {"links": {"self": url}}


class PresignedPostOutputSerializer(serializers.Serializer):
    url = serializers.URLField()
    fields = serializers.DictField(child=serializers.CharField())


class AttachmentOutputSerializer(serializers.Serializer):
    """Cliniko's ``UploadedPatientAttachment``; ``processing_error`` is the portal's own
    addition, the reason a file was refused (null otherwise)."""

    id = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    archived_at = serializers.DateTimeField(allow_null=True)
    content_type = serializers.CharField(allow_null=True)
    filename = serializers.CharField(allow_null=True)
    size = serializers.IntegerField(allow_null=True)
    description = serializers.CharField(allow_null=True)
    processed_at = serializers.DateTimeField(allow_null=True)
    processing_completed = serializers.BooleanField()
    processing_error = serializers.CharField(allow_null=True)
    content = serializers.DictField()
    patient = serializers.DictField()
    links = serializers.DictField()

    def to_representation(self, attachment: PatientAttachment):
        request = self.context["request"]
        file = attachment.file
        ready = file.state == File.State.READY
        completed = file.state in (File.State.READY, File.State.REJECTED)

        def absolute(name, **kwargs):
            return request.build_absolute_uri(reverse(name, kwargs=kwargs))

        return {
            "id": str(attachment.pk),
            "created_at": serializers.DateTimeField().to_representation(attachment.created_at),
            "updated_at": serializers.DateTimeField().to_representation(attachment.updated_at),
            "archived_at": serializers.DateTimeField().to_representation(attachment.archived_at)
            if attachment.archived_at
            else None,
            "content_type": file.mime_type if ready else None,
            "filename": file.original_name if ready else None,
            "size": file.size if ready else None,
            "description": attachment.description,
            "processed_at": serializers.DateTimeField().to_representation(file.processed_at)
            if completed and file.processed_at
            else None,
            "processing_completed": completed,
            "processing_error": file.rejection_reason or "This file was refused."
            if file.state == File.State.REJECTED
            else None,
            "content": links(absolute("patient-attachment-content", attachment_id=attachment.pk)),
            "patient": links(absolute("patient-detail", patient_id=attachment.patient_id)),
            "links": {"self": absolute("patient-attachment-detail", attachment_id=attachment.pk)},
        }


class AttachmentCreateSerializer(StrictSerializer):
    patient_id = serializers.CharField()
    upload_url = serializers.CharField(max_length=2048)
    description = serializers.CharField(
        max_length=255, required=False, allow_null=True, allow_blank=True
    )


def serialize(request, attachment) -> dict:
    return AttachmentOutputSerializer(attachment, context={"request": request}).data


def patient_or_404(request, patient_id):
    patient = patient_get(account=request.auth.account, patient_id=patient_id)
    if patient is None:
        raise NotFound("No patient with this id exists in your account.")
    return patient


def attachment_or_404(request, attachment_id) -> PatientAttachment:
    attachment = selectors.attachment_get(account=request.auth.account, attachment_id=attachment_id)
    if attachment is None:
        raise NotFound("No patient attachment with this id exists in your account.")
    return attachment


LIST_PARAMETERS = [
    *PAGING_PARAMETERS,
    OpenApiParameter(
        "q[]",
        OpenApiTypes.STR,
        many=True,
        description="Filters: `archived_at:*` includes archived attachments, "
        "`archived_at:?` lists only archived ones, `archived_at:!?` only unarchived.",
    ),
    OpenApiParameter(
        "sort",
        OpenApiTypes.STR,
        description="`created_at` or `updated_at`, with `:desc` for newest first.",
    ),
]


def list_options(request) -> dict:
    archived = "exclude"
    for condition in request.query_params.getlist("q[]"):
        field, _, operator = condition.partition(":")
        if field != "archived_at" or operator not in ("*", "?", "!?"):
            raise ValidationError(
                {"q": [f"{condition!r} is not a supported filter; use archived_at:*, ? or !?"]}
            )
        archived = {"*": "include", "?": "only", "!?": "exclude"}[operator]
    order_field, _, direction = request.query_params.get("sort", "created_at").partition(":")
    if order_field not in ("created_at", "updated_at") or direction not in ("", "asc", "desc"):
        raise ValidationError({"sort": ["must be created_at or updated_at, optionally :desc"]})
    return {"archived": archived, "order_field": order_field, "newest_first": direction == "desc"}


def attachment_page(request, attachments) -> Response:
    return Response(
        cliniko_page(
            request,
            attachments,
            resource="patient_attachments",
            serialize=lambda attachment: serialize(request, attachment),
        )
    )


PAGE_SCHEMA = cliniko_page_schema("ClinikoPatientAttachmentPage", AttachmentOutputSerializer)


class AttachmentPresignedPostApi(ClinikoApiView):
    @extend_schema(
        operation_id="cliniko_attachment_presigned_post",
        tags=["Cliniko patient attachments"],
        responses={200: PresignedPostOutputSerializer, **cliniko_error_responses()},
    )
    def get(self, request, patient_id):
        """A presigned POST for uploading one file for this patient, straight to storage."""
        patient = patient_or_404(request, patient_id)
        # A refusal (the trial full: 422 on base; too much waiting unconfirmed: 429) is
        # answered by the handler, from portal.api.errors' one mapping.
        ticket = services.attachment_upload_ticket_issue(
            account=request.auth.account, patient=patient, actor=request.auth.actor
        )
        return Response(presigned_post_for(ticket))


class AttachmentListCreateApi(ClinikoApiView):
    @extend_schema(
        operation_id="cliniko_patient_attachments_list",
        tags=["Cliniko patient attachments"],
        parameters=LIST_PARAMETERS,
        responses={200: PAGE_SCHEMA, **cliniko_error_responses()},
    )
    def get(self, request):
        attachments = selectors.attachment_list(
            account=request.auth.account, **list_options(request)
        )
        return attachment_page(request, attachments)

    @extend_schema(
        operation_id="cliniko_patient_attachments_create",
        tags=["Cliniko patient attachments"],
        request=AttachmentCreateSerializer,
        responses={201: AttachmentOutputSerializer, **cliniko_error_responses()},
    )
    def post(self, request):
        """Create the attachment record for a file uploaded with a presigned post."""
        serializer = AttachmentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        patient = patient_get(account=request.auth.account, patient_id=data["patient_id"])
        if patient is None:
            raise ClinikoValidationFailed({"patient_id": "does not exist in your account"})
        try:
            attachment = services.attachment_create_from_upload(
                account=request.auth.account,
                patient=patient,
                upload_url=data["upload_url"],
                description=data.get("description") or None,
                actor=request.auth.actor,
            )
        except services.AttachmentInputError as exc:
            raise ClinikoValidationFailed({exc.field: exc.message}) from exc
        location = reverse("patient-attachment-detail", kwargs={"attachment_id": attachment.pk})
        return Response(
            serialize(request, attachment),
            status=status.HTTP_201_CREATED,
            headers={"Location": request.build_absolute_uri(location)},
        )


class PatientAttachmentListApi(ClinikoApiView):
    @extend_schema(
        operation_id="cliniko_patient_attachments_for_patient",
        tags=["Cliniko patient attachments"],
        parameters=LIST_PARAMETERS,
        responses={200: PAGE_SCHEMA, **cliniko_error_responses()},
    )
    def get(self, request, patient_id):
        patient = patient_or_404(request, patient_id)
        attachments = selectors.attachment_list(
            account=request.auth.account, patient=patient, **list_options(request)
        )
        return attachment_page(request, attachments)


class AttachmentDetailApi(ClinikoApiView):
    @extend_schema(
        operation_id="cliniko_patient_attachments_retrieve",
        tags=["Cliniko patient attachments"],
        responses={200: AttachmentOutputSerializer, **cliniko_error_responses()},
    )
    def get(self, request, attachment_id):
        return Response(serialize(request, attachment_or_404(request, attachment_id)))

    @extend_schema(
        operation_id="cliniko_patient_attachments_destroy",
        tags=["Cliniko patient attachments"],
        description="Archives the attachment (as Cliniko's deprecated DELETE does).",
        responses={204: OpenApiResponse(description="Archived."), **cliniko_error_responses()},
    )
    def delete(self, request, attachment_id):
        attachment = attachment_or_404(request, attachment_id)
        services.attachment_archive(attachment=attachment, actor=request.auth.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AttachmentArchiveApi(ClinikoApiView):
    @extend_schema(
        operation_id="cliniko_patient_attachments_archive",
        tags=["Cliniko patient attachments"],
        request=None,
        responses={204: OpenApiResponse(description="Archived."), **cliniko_error_responses()},
    )
    def post(self, request, attachment_id):
        attachment = attachment_or_404(request, attachment_id)
        services.attachment_archive(attachment=attachment, actor=request.auth.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AttachmentContentApi(ClinikoApiView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="cliniko_patient_attachments_content",
        tags=["Cliniko patient attachments"],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            **cliniko_error_responses(),
        },
    )
    def get(self, request, attachment_id):
        """The attachment's bytes, streamed through the API (there is no public URL)."""
        attachment = attachment_or_404(request, attachment_id)
        # Claros's url is downloaded straight after the upload: wait (bounded) for it.
        file = file_wait_processed(attachment.file)
        refused = respond.refusal(file)
        if refused is Refusal.GONE:
            raise Gone("This file has expired and is no longer available.")
        if refused is Refusal.NOT_READY:
            raise FileNotReady()
        if refused is Refusal.REJECTED:
            raise Conflict(f"This file was refused: {file.rejection_reason}")
        return respond.serve(request, file=file, actor=request.auth.actor)
