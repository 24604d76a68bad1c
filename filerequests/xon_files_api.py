"""X-on's upload door (seed 001): ``POST /api/v1/files``, Base64 JSON or multipart.

It lives here rather than in ``files`` because an upload may answer a file request
(``fileRequestId``: the request's files.update event, its closed states), and ``files``
is the layer every app builds on: it imports nothing above it.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from filerequests.answering import file_request_closed_reason
from filerequests.models import FileRequest
from filerequests.services import (
    file_request_publish_files_removed,
    file_request_publish_files_update,
)
from files import processing, quota, services
from files.api import XonFileOutput
from files.models import File, Purpose
from files.parsers import (
    INVALID,
    TOO_LARGE,
    Base64Upload,
    XonBase64JsonParser,
    base64_upload_from_text,
    base64_uploads_close,
)
from files.waiting import files_wait_processed
from portal.accounts.models import Staff
from portal.api.errors import Conflict, PayloadTooLarge
from portal.api.serializers import StrictSerializer
from portal.ids import parse_uuid
from portal.patients.models import Patient

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


def resolve_uploader(account, user_id: str, file_request: FileRequest | None):
    """(patient, staff) named by ``userId`` in the account; 400 when it names no one."""
    parsed = parse_uuid(user_id)
    patient = Patient.objects.filter(account=account, pk=parsed).first() if parsed else None
    staff = None
    if patient is None:
        staff = (
            Staff.objects.filter(account=account, pk=parsed).first() if parsed else None
        ) or Staff.objects.filter(account=account, account_user_id=user_id).first()
    if patient is None and staff is None:
        raise ValidationError(
            {"userId": ["No patient or staff member with this id exists in your account."]}
        )
    if file_request is not None and (patient is None or patient.pk != file_request.patient_id):
        raise ValidationError(
            {"userId": ["With a fileRequestId, userId must be that file request's patient."]}
        )
    return patient, staff


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
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.FILES_MAX_REQUEST_BYTES:
            limit = services.human_size(settings.FILES_MAX_REQUEST_BYTES)
            raise PayloadTooLarge(
                f"The request is larger than the {limit} allowed. Send fewer or smaller files."
            )
        caller = request.auth
        uploads, data = self.uploads_from(request)
        try:
            return self.create_files(request, caller=caller, uploads=uploads, data=data)
        finally:
            for upload in uploads:
                upload["stream"].close()

    def create_files(self, request, *, caller, uploads: list[dict], data: dict) -> Response:
        file_request = None
        if data.get("fileRequestId"):
            parsed = parse_uuid(data["fileRequestId"])
            file_request = (
                FileRequest.objects.filter(account=caller.account, pk=parsed).first()
                if parsed
                else None
            )
            if file_request is None:
                raise ValidationError(
                    {"fileRequestId": ["No file request with this id exists in your account."]}
                )
            if closed := file_request_closed_reason(file_request):
                raise Conflict(closed)  # cancelled, or expired: it takes no more photos
        patient, _staff = resolve_uploader(caller.account, data["userId"], file_request)
        now = timezone.now()
        expires_at = (
            now + dt.timedelta(seconds=data["expiryInterval"])
            if data.get("expiryInterval")
            else None
        )
        purpose = Purpose.PHOTO if file_request is not None else Purpose.DOCUMENT
        created = []
        try:
            # A refused batch leaves no bytes behind: its rows roll back, its objects go.
            with services.stored_objects_removed_on_failure(), transaction.atomic():
                # A trial account's quota is checked before any byte is stored.
                quota.account_lock(caller.account)
                if file_request is not None:
                    # Asked again under the request's lock: one cancelled (or expired)
                    # since the check above takes no files.
                    file_request = FileRequest.objects.select_for_update().get(pk=file_request.pk)
                    if closed := file_request_closed_reason(file_request):
                        raise Conflict(closed)
                quota.trial_quota_check_many(
                    account=caller.account, sizes=[upload["size"] for upload in uploads]
                )
                for upload in uploads:
                    created.append(
                        services.file_create_from_stream(
                            account=caller.account,
                            patient=patient,
                            purpose=purpose,
                            original_name=upload["name"],
                            declared_type=upload["type"],
                            stream=upload["stream"],
                            uploaded_by=caller,
                            file_request=file_request,
                            description=upload.get("description"),
                            expires_at=expires_at,
                            created_at=now,
                            source=File.Source.XON,
                        )
                    )
                if file_request is not None:
                    # One file-request.files.update per batch, in X-on's body, to the
                    # account's endpoints and the request's filesUpdateWebhookUrl; the
                    # request becomes answered. The same service the patient page uses.
                    file_request_publish_files_update(
                        file_request=file_request, actor=caller.actor, request=request
                    )
        except services.UploadTooLarge as too_large:
            raise PayloadTooLarge(str(too_large)) from None
        except quota.TrialQuotaExceeded as exceeded:
            raise PermissionDenied(exceeded.message, code="trial_quota_exceeded") from None
        created = files_wait_processed(files=created)
        refused = [(index, f) for index, f in enumerate(created) if f.state == File.State.REJECTED]
        if refused:
            processing.files_withdraw(
                files=[f for f in created if f.state != File.State.REJECTED],
                reason="Another file of the same upload was refused; send the upload again "
                "without it.",
            )
            if file_request is not None:
                # The batch was announced when it was stored: say it is gone.
                file_request_publish_files_removed(
                    file_request=file_request,
                    file_ids=[str(f.id) for f in created],
                    actor=caller.actor,
                    request=request,
                )
            raise ValidationError(
                {
                    f"files.{index}": [f"{file.original_name}: {file.rejection_reason}"]
                    for index, file in refused
                }
            )
        return Response(XonFileOutput(created, many=True).data, status=status.HTTP_201_CREATED)

    def uploads_from(self, request) -> tuple[list[dict], dict]:
        if request.content_type.startswith("multipart/"):
            return self.multipart_uploads(request)
        serializer = XonUploadInput(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except Exception:
            base64_uploads_close(request.data)
            raise
        data = serializer.validated_data
        uploads = [
            {
                "name": item["name"],
                "type": item["type"],
                "description": item.get("description"),
                "stream": item["contents"].file,
                "size": item["contents"].size,
            }
            for item in data["files"]
        ]
        return uploads, data

    def multipart_uploads(self, request) -> tuple[list[dict], dict]:
        parts = request.FILES.getlist("files")
        if not parts:
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
        uploads = [
            {
                "name": part.name,
                "type": part.content_type or "",
                "description": descriptions[index] if index < len(descriptions) else None,
                "stream": part,
                "size": part.size,
            }
            for index, part in enumerate(parts)
        ]
        return uploads, fields.validated_data


class MultipartFieldsInput(serializers.Serializer):
    expiryInterval = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_EXPIRY_SECONDS
    )
    fileRequestId = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    userId = serializers.CharField()
