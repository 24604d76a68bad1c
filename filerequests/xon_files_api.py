"""X-on's upload door (seed 001): ``POST /api/v1/files``, Base64 JSON or multipart.

The view parses (the serializers below), calls ``filerequests.uploads.xon_upload_create``
and serializes the files it made; a refusal is the service's typed error, answered in the
portal's shape by ``portal.api.errors``. It lives here rather than in ``files`` because
an upload may answer a file request, and ``files`` imports nothing above it.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from filerequests.uploads import UploadPart, xon_upload_create
from files import services
from files.api import XonFileOutput
from files.names import human_size
from files.parsers import (
    INVALID,
    TOO_LARGE,
    Base64Upload,
    XonBase64JsonParser,
    base64_upload_from_text,
    base64_uploads_close,
)
from portal.api.errors import PayloadTooLarge
from portal.api.serializers import StrictSerializer

MAX_EXPIRY_SECONDS = 10 * 365 * 24 * 3600


@extend_schema_field(OpenApiTypes.STR)
class Base64ContentsField(serializers.Field):
    """A file's bytes as Base64 text. `XonBase64JsonParser` has already decoded them to a
    temporary file (a `Base64Upload`); plain text (a caller of the serializer) is decoded here."""

    default_error_messages = {
        "invalid": "contents is not valid Base64.",
        "not_text": "Not a valid string.",
    }

    def to_internal_value(self, data) -> Base64Upload:
        if isinstance(data, str):
            data = base64_upload_from_text(data)
        if not isinstance(data, Base64Upload):
            self.fail("not_text")
        if data.error == TOO_LARGE:
            raise PayloadTooLarge(services.UploadTooLarge(data.limit).args[0])
        if data.error == INVALID:
            self.fail("invalid")
        return data

    def to_representation(self, value):
        raise NotImplementedError("contents is write-only")


class XonFileInput(StrictSerializer):
    name = serializers.CharField(max_length=1000, trim_whitespace=False)
    description = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=5000
    )
    type = serializers.CharField(max_length=255)
    contents = Base64ContentsField()


class XonUploadInput(StrictSerializer):
    files = serializers.ListField(
        child=XonFileInput(), min_length=1, max_length=settings.DATA_UPLOAD_MAX_NUMBER_FILES
    )
    expiryInterval = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_EXPIRY_SECONDS
    )
    fileRequestId = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    userId = serializers.CharField()


class FileListApi(APIView):
    # Base64 JSON is read as it arrives (files.parsers), multipart spooled to disk by Django.
    parser_classes = [XonBase64JsonParser, MultiPartParser]

    @extend_schema(
        operation_id="files_upload",
        request=XonUploadInput,
        responses={201: XonFileOutput(many=True), 413: OpenApiResponse(description="Too large")},
        description=(
            "Upload one or more files as Base64 in JSON (seed 001), or as multipart "
            "form data with one or more `files` parts and the same other fields."
        ),
    )
    def post(self, request):
        request_size_check(request)
        parts, data = self.parts_from(request)
        try:
            files = xon_upload_create(
                account=request.auth.account,
                actor=request.auth.actor,
                parts=parts,
                user_id=data["userId"],
                file_request_id=data.get("fileRequestId") or None,
                expiry_seconds=data.get("expiryInterval") or None,
                request=request,
            )
        finally:
            for part in parts:
                part.stream.close()
        return Response(XonFileOutput(files, many=True).data, status=status.HTTP_201_CREATED)

    def parts_from(self, request) -> tuple[list[UploadPart], dict]:
        if request.content_type.startswith("multipart/"):
            return self.multipart_parts(request)
        serializer = XonUploadInput(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except Exception:
            base64_uploads_close(request.data)
            raise
        data = serializer.validated_data
        parts = [
            UploadPart(
                name=item["name"],
                content_type=item["type"],
                description=item.get("description"),
                stream=item["contents"].file,
                size=item["contents"].size,
            )
            for item in data["files"]
        ]
        return parts, data

    def multipart_parts(self, request) -> tuple[list[UploadPart], dict]:
        files = request.FILES.getlist("files")
        if not files:
            raise ValidationError({"files": ["Attach one or more files as `files` parts."]})
        descriptions = request.data.getlist("description")
        fields = MultipartFieldsInput(
            data={
                name: request.data.get(name)
                for name in ("userId", "fileRequestId", "expiryInterval")
                if request.data.get(name) not in (None, "")
            }
        )
        fields.is_valid(raise_exception=True)
        parts = [
            UploadPart(
                name=file.name,
                content_type=file.content_type or "",
                description=descriptions[index] if index < len(descriptions) else None,
                stream=file,
                size=file.size,
            )
            for index, file in enumerate(files)
        ]
        return parts, fields.validated_data


def request_size_check(request) -> None:
    """Refuse a request whose declared length is past the batch limit before reading it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.FILES_MAX_REQUEST_BYTES:
        limit = human_size(settings.FILES_MAX_REQUEST_BYTES)
        raise PayloadTooLarge(
            f"The request is larger than the {limit} allowed. Send fewer or smaller files."
        )


class MultipartFieldsInput(serializers.Serializer):
    expiryInterval = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_EXPIRY_SECONDS
    )
    fileRequestId = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    userId = serializers.CharField()
