"""X-on's files API (seed 001): ``GET /api/v1/files/{id}`` and a JSON metadata view beside
it, camelCase as the document writes it. The upload door, ``POST /api/v1/files``, lives in
``filerequests.xon_files_api``: it can answer a file request, and ``files`` knows no app
above it."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from files import selectors
from files.body_sites import body_site_json
from files.models import File
from files.pipeline import rendering
from files.serving import respond
from files.waiting import file_wait_processed


class XonFileOutput(serializers.Serializer):
    id = serializers.UUIDField()
    createdAt = serializers.DateTimeField(source="created_at")
    description = serializers.CharField(allow_null=True)
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    fileRequestId = serializers.UUIDField(source="file_request_id", allow_null=True)
    imageHeight = serializers.IntegerField(source="height", allow_null=True)
    imageWidth = serializers.IntegerField(source="width", allow_null=True)
    mimeType = serializers.SerializerMethodField()
    originalName = serializers.CharField(source="original_name")
    size = serializers.IntegerField(allow_null=True)

    def get_mimeType(self, file: File) -> str:
        # Until processing has looked at the bytes, the declared type is all there is.
        return file.mime_type or file.declared_type


class BodySiteOutput(serializers.Serializer):
    """Where on the body: a SNOMED CT body-structure code of the portal's list
    (``files.body_sites``) and, for a paired site, the side."""

    system = serializers.CharField(help_text="http://snomed.info/sct")
    code = serializers.CharField(help_text="SNOMED CT body-structure code.")
    display = serializers.CharField(help_text="SNOMED CT's name of the site.")
    label = serializers.CharField(help_text="The site in plain words, with its side.")
    laterality = serializers.ChoiceField(
        choices=["left", "right", "both"], allow_null=True, help_text="The side, if said."
    )


class FacetOutput(serializers.Serializer):
    name = serializers.CharField()
    state = serializers.CharField()
    mimeType = serializers.CharField(source="mime_type")
    size = serializers.IntegerField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)


class FileMetadataOutput(XonFileOutput):
    state = serializers.CharField()
    rejectionReason = serializers.CharField(source="rejection_reason")
    sha256 = serializers.CharField()
    patientId = serializers.UUIDField(source="patient_id", allow_null=True)
    purpose = serializers.CharField()
    processedAt = serializers.DateTimeField(source="processed_at", allow_null=True)
    facets = FacetOutput(many=True)
    slotId = serializers.CharField(
        source="slot_id", help_text='The request\'s photo slot it was sent for, or "".'
    )
    slotLabel = serializers.CharField(source="slot_label")
    bodySite = serializers.SerializerMethodField()

    @extend_schema_field(BodySiteOutput(allow_null=True))
    def get_bodySite(self, file: File) -> dict | None:
        return body_site_json(file.body_site_code, file.body_site_side)


class AnyAcceptNegotiation(DefaultContentNegotiation):
    """A download is bytes whatever ``Accept`` says; errors fall back to JSON, not 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except Exception:
            return renderers[0], renderers[0].media_type


def get_file_or_404(request, file_id) -> File:
    file = selectors.file_get(account=request.auth.account, file_id=file_id)
    if file is None:
        raise NotFound("No file with this id exists in your account.")
    return file


class FileDetailApi(APIView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="files_download",
        parameters=[
            OpenApiParameter(
                "imageSize",
                OpenApiTypes.STR,
                description=(
                    "WxH, e.g. 200x140 (1 to 4096 a side). Each side is rounded up to the next "
                    "of 32, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096 "
                    "and the image is aspect-filled to that box: never smaller than asked, "
                    "never larger than the original. 409 with Retry-After while the size "
                    "is being made."
                ),
            )
        ],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            206: OpenApiResponse(description="Partial content (Range)"),
            409: OpenApiResponse(description="Not ready yet (Retry-After) or rejected"),
            410: OpenApiResponse(description="Expired"),
        },
    )
    def get(self, request, file_id):
        # Seed 001 has no processing state: a download straight after the upload waits
        # (bounded by FILES_SYNC_WAIT_SECONDS) before answering 409 with Retry-After.
        file = file_wait_processed(get_file_or_404(request, file_id))
        image_size = None
        if "imageSize" in request.query_params:
            try:
                image_size = rendering.parse_image_size(request.query_params["imageSize"])
            except ValueError as exc:
                raise ValidationError({"imageSize": [str(exc)]}) from None
        return respond.serve(request, file=file, actor=request.auth.actor, image_size=image_size)


class FileMetadataApi(APIView):
    @extend_schema(operation_id="files_metadata", responses=FileMetadataOutput)
    def get(self, request, file_id):
        file = get_file_or_404(request, file_id)
        if file.is_expired or file.purged_at is not None:
            return respond.refusal_response(file)
        return Response(FileMetadataOutput(file).data)
