"""X-on's file-requests API (seed 004, with the additions of X-on's current documents):
``/api/v1/file-requests`` create, list, read; cancel and resend beside it."""

from __future__ import annotations

import unicodedata

from botocore.exceptions import ClientError
from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from filerequests import selectors, services
from filerequests.models import FileRequest, Notification, Outcome
from filerequests.record_reports import latest_saved
from filerequests.shortlinks import short_link_url
from files.api import BodySiteOutput
from files.body_sites import SIDE_BY_KEY, body_site_json
from files.models import Facet, File
from files.pipeline import sniffing
from files.pipeline.rendering import image_size_answer
from files.storage.objects import stored_bytes
from portal.api.errors import Conflict, TooManyRequests
from portal.api.pagination import PortalPagination, paginated_schema
from portal.api.serializers import StrictSerializer
from portal.ids import parse_uuid
from portal.patients.api import NhsNumberField, nhs_number_conflict, validate_date_of_birth
from portal.patients.serializers import E164MobileField
from portal.patients.services import NhsNumberTaken


def validate_webhook_url(value: str) -> str:
    insecure = value and not value.lower().startswith("https://")
    if insecure and not settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        raise serializers.ValidationError("filesUpdateWebhookUrl must be an https:// URL.")
    return value


class BodySiteInputSerializer(StrictSerializer):
    code = serializers.CharField(
        max_length=20, help_text="A SNOMED CT body-structure code of the portal's list."
    )
    laterality = serializers.ChoiceField(
        choices=list(SIDE_BY_KEY), required=False, allow_null=True, allow_blank=True
    )


class FileRequestCreateSerializer(StrictSerializer):
    prompt = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=2000, default=""
    )
    type = serializers.ChoiceField(
        choices=FileRequest.Type.choices,
        error_messages={"invalid_choice": 'type must be "photo", the only type at the moment.'},
    )
    staffId = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    accountUserId = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=100
    )
    accountId = serializers.CharField(
        max_length=100,
        trim_whitespace=False,
        help_text="Your own id of your account, kept and answered as sent. The clinic is "
        "always your API key's.",
    )
    staffName = serializers.CharField(max_length=200)
    patientMobile = E164MobileField()
    patientDateOfBirth = serializers.DateField(
        input_formats=["iso-8601"], validators=[validate_date_of_birth]
    )
    patientFirstName = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=100, default=""
    )
    patientLastName = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=100, default=""
    )
    # Beside the seed's patient fields: the patient's NHS number where the practice
    # system knows it, which tells apart family members sharing a phone.
    patientNhsNumber = NhsNumberField(required=False, default="")
    filesUpdateWebhookUrl = serializers.URLField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=2000,
        validators=[validate_webhook_url],
    )
    shortLinkExpiresAt = serializers.DateTimeField(required=False, allow_null=True)
    # Beside the seed's fields: the patient's phone sends the photos as taken, instead
    # of shrinking them to at most 2,048 pixels on the longest side first.
    fullResolution = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Photos are sent unchanged, at full resolution. By default the patient's "
        "phone shrinks larger photos to at most 2,048 px on the longest side before sending.",
    )

    # Beside the seed's fields: one of the clinic's request templates (its photo slots
    # are sent to the patient; its message is the prompt when none is given), and where
    # on the body the photos are of.
    templateId = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=64,
        help_text="The id of one of your clinic's request templates (Settings, Request templates).",
    )
    bodySite = BodySiteInputSerializer(required=False, allow_null=True)

    def validate_staffId(self, value):
        if value and parse_uuid(value) is None:
            raise serializers.ValidationError("staffId must be a staff member's UUID.")
        return value or None

    def validate_accountId(self, value):
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.")
        if any(unicodedata.category(char) in {"Cc", "Cf", "Cs"} for char in value):
            raise serializers.ValidationError("accountId must not hold control characters.")
        return value

    def validate_shortLinkExpiresAt(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("shortLinkExpiresAt must be in the future.")
        return value

    def validate(self, attrs):
        if not attrs.get("staffId") and not attrs.get("accountUserId"):
            raise serializers.ValidationError(
                {"accountUserId": ["Either staffId or accountUserId is required."]}
            )
        return attrs


class ThumbnailSerializer(serializers.Serializer):
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    url = serializers.CharField(help_text="Download it from the files API with your key.")


UNKNOWN_TYPE = "application/octet-stream"


def type_of_first_bytes(file: File) -> str | None:
    if not file.temp_key or file.state not in (File.State.PENDING, File.State.PROCESSING):
        return None
    try:
        head = b"".join(stored_bytes(file.temp_key, 0, 64, chunk_size=64))
    except (OSError, ClientError):  # gone already: processing has just moved it
        return None
    return sniffing.detect(head)


class FileRequestFileSerializer(serializers.Serializer):
    """A file sent in answer: seed 004's fields, then X-on's image size and the
    portal's processing state and thumbnail."""

    id = serializers.UUIDField()
    createdAt = serializers.DateTimeField(source="created_at")
    description = serializers.CharField(allow_null=True)
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    mimeType = serializers.SerializerMethodField()
    originalName = serializers.CharField(source="original_name")
    size = serializers.IntegerField(allow_null=True)
    imageWidth = serializers.IntegerField(source="width", allow_null=True)
    imageHeight = serializers.IntegerField(source="height", allow_null=True)
    state = serializers.CharField()
    rejectionReason = serializers.SerializerMethodField()
    thumbnail = serializers.SerializerMethodField()
    # The photo slot of the request it was sent for ("" for an extra), and where.
    slotId = serializers.CharField(source="slot_id")
    slotLabel = serializers.CharField(source="slot_label")
    bodySite = serializers.SerializerMethodField()

    @extend_schema_field(BodySiteOutput(allow_null=True))
    def get_bodySite(self, file) -> dict | None:
        return body_site_json(file.body_site_code, file.body_site_side)

    def get_mimeType(self, file) -> str:
        """Always a string, as seed 004 types it: the type detected from the bytes; for a
        file not yet processed, the one its first bytes announce (one small ranged read,
        only while processing runs, when the files.update event sends clients here)."""
        return file.mime_type or type_of_first_bytes(file) or file.declared_type or UNKNOWN_TYPE

    def get_rejectionReason(self, file) -> str | None:
        return file.rejection_reason or None

    @extend_schema_field(ThumbnailSerializer(allow_null=True))
    def get_thumbnail(self, file) -> dict | None:
        """A small image for a list, fetched with the files API (seed 001's ``imageSize``).

        Its width and height are what that URL answers (``image_size_answer``): the
        aspect fill of the box, uncropped, so a 320x320 ask of a 4:3 photo answers
        427x320, not the size of the cropped thumbnail facet it is offered for."""
        facet = next(
            (f for f in file.facets.all() if f.name == Facet.THUMBNAIL and f.state == "ready"),
            None,
        )
        if facet is None or not file.width or not file.height:
            return None
        width, height = image_size_answer(file.width, file.height, facet.width, facet.height)
        return {
            "width": width,
            "height": height,
            "url": f"/api/v1/files/{file.id}?imageSize={facet.width}x{facet.height}",
        }


class NotificationSerializer(serializers.Serializer):
    channel = serializers.CharField()
    status = serializers.ChoiceField(choices=Notification.Status.choices)
    attempts = serializers.IntegerField()
    createdAt = serializers.DateTimeField(source="created_at")
    sentAt = serializers.DateTimeField(source="sent_at", allow_null=True)
    error = serializers.CharField(allow_blank=True)


class RequestSlotSerializer(serializers.Serializer):
    """A photo the request asks for, as its template had it when the request was sent."""

    id = serializers.CharField()
    label = serializers.CharField()
    instruction = serializers.CharField()


class ReviewOutcomeSerializer(serializers.Serializer):
    """What the reviewer decided once they had looked at the photos."""

    outcome = serializers.ChoiceField(source="review_outcome", choices=Outcome.choices)
    label = serializers.CharField(source="get_review_outcome_display")
    note = serializers.CharField(source="review_note")
    recordedAt = serializers.DateTimeField(source="review_outcome_at", allow_null=True)
    recordedBy = serializers.CharField(source="review_outcome_by_name")


class SavedToRecordSerializer(serializers.Serializer):
    """When the request's report was saved to the patient's record, and by whom; the PDF
    is at ``/api/v1/file-requests/{id}/report`` and is the file ``fileId``."""

    savedAt = serializers.DateTimeField(source="saved_at")
    savedBy = serializers.CharField(source="saved_by_name")
    fileId = serializers.UUIDField(source="file_id", allow_null=True)


class FileRequestOutputSerializer(serializers.Serializer):
    """Seed 004's FileRequest, field for field, then the portal's additions."""

    id = serializers.UUIDField()
    accountId = serializers.CharField(source="account_id_as_sent")
    createdAt = serializers.DateTimeField(source="created_at")
    files = serializers.SerializerMethodField()
    patientId = serializers.UUIDField(source="patient_id")
    prompt = serializers.CharField()
    shortLinkExpiresAt = serializers.DateTimeField(source="short_link_expires_at", allow_null=True)
    shortLinkId = serializers.CharField(source="short_link_id")
    staffId = serializers.UUIDField(source="staff_id")
    staffName = serializers.CharField(source="staff_name")
    type = serializers.CharField()
    # Additions: where the request stands and how the patient was told.
    status = serializers.ChoiceField(choices=FileRequest.Status.choices)
    shortLinkUrl = serializers.SerializerMethodField()
    filesUpdateWebhookUrl = serializers.SerializerMethodField()
    notification = serializers.SerializerMethodField()
    openedAt = serializers.DateTimeField(source="opened_at", allow_null=True)
    answeredAt = serializers.DateTimeField(source="answered_at", allow_null=True)
    cancelledAt = serializers.DateTimeField(source="cancelled_at", allow_null=True)
    lockedUntil = serializers.DateTimeField(source="locked_until", allow_null=True)
    templateId = serializers.UUIDField(source="template_id", allow_null=True)
    slots = RequestSlotSerializer(many=True)
    bodySite = serializers.SerializerMethodField()
    fullResolution = serializers.BooleanField(source="full_resolution")
    reviewOutcome = serializers.SerializerMethodField()
    savedToRecord = serializers.SerializerMethodField()

    @extend_schema_field(ReviewOutcomeSerializer(allow_null=True))
    def get_reviewOutcome(self, file_request) -> dict | None:
        if not file_request.review_outcome:
            return None
        return ReviewOutcomeSerializer(file_request).data

    @extend_schema_field(SavedToRecordSerializer(allow_null=True))
    def get_savedToRecord(self, file_request) -> dict | None:
        saved = getattr(file_request, "prefetched_saved_reports", None)
        report = saved[0] if saved else None
        if saved is None:
            report = latest_saved(file_request)
        return SavedToRecordSerializer(report).data if report is not None else None

    @extend_schema_field(BodySiteOutput(allow_null=True))
    def get_bodySite(self, file_request) -> dict | None:
        return body_site_json(file_request.body_site_code, file_request.body_site_side)

    @extend_schema_field(FileRequestFileSerializer(many=True))
    def get_files(self, file_request) -> list[dict]:
        """The files the clinic holds from the patient: a file the pipeline refused (a GIF,
        a PDF among photos) is not one of them. The patient is told on their page, and
        the staff see it, with its reason, on the request's page."""
        files = [
            file
            for file in selectors.file_request_files(file_request=file_request)
            if file.state != File.State.REJECTED
        ]
        return FileRequestFileSerializer(files, many=True).data

    def get_shortLinkUrl(self, file_request) -> str:
        return short_link_url(file_request.short_link_id)

    def get_filesUpdateWebhookUrl(self, file_request) -> str | None:
        return file_request.files_update_webhook_url or None

    @extend_schema_field(NotificationSerializer(allow_null=True))
    def get_notification(self, file_request) -> dict | None:
        notification = file_request.latest_notification
        return NotificationSerializer(notification).data if notification else None


def file_request_or_404(request, file_request_id) -> FileRequest:
    file_request = selectors.file_request_get(
        account=request.auth.account, file_request_id=file_request_id
    )
    if file_request is None:
        raise NotFound("No file request with this id exists in your account.")
    return file_request


def parse_datetime_param(request, name: str):
    raw = request.query_params.get(name)
    if not raw:
        return None
    field = serializers.DateTimeField()
    try:
        return field.to_internal_value(raw)
    except ValidationError as exc:
        raise ValidationError({name: exc.detail}) from exc


LIST_PARAMETERS = [
    OpenApiParameter(
        "status",
        OpenApiTypes.STR,
        description="Only requests in these statuses (comma-separated): "
        + ", ".join(FileRequest.Status.values),
    ),
    OpenApiParameter("patientId", OpenApiTypes.UUID, description="Only this patient's requests."),
    OpenApiParameter(
        "createdAfter", OpenApiTypes.DATETIME, description="Created at or after (ISO 8601)."
    ),
    OpenApiParameter("createdBefore", OpenApiTypes.DATETIME, description="Created before."),
    OpenApiParameter("page", OpenApiTypes.INT),
    OpenApiParameter("per_page", OpenApiTypes.INT),
]


class FileRequestListCreateApi(APIView):
    @extend_schema(
        operation_id="file_requests_list",
        parameters=LIST_PARAMETERS,
        responses=paginated_schema(FileRequestOutputSerializer),
    )
    def get(self, request):
        statuses = [s.strip() for s in request.query_params.get("status", "").split(",") if s]
        unknown = sorted(set(statuses) - set(FileRequest.Status.values))
        if unknown:
            choices = ", ".join(FileRequest.Status.values)
            raise ValidationError({"status": [f"Unknown status {unknown[0]!r}: use {choices}."]})
        patient_id = None
        if request.query_params.get("patientId"):
            patient_id = parse_uuid(request.query_params["patientId"])
            if patient_id is None:
                raise ValidationError({"patientId": ["patientId must be a patient's UUID."]})
        file_requests = selectors.file_request_list(
            account=request.auth.account,
            statuses=statuses,
            patient_id=patient_id,
            created_after=parse_datetime_param(request, "createdAfter"),
            created_before=parse_datetime_param(request, "createdBefore"),
        ).prefetch_related("notifications")
        paginator = PortalPagination()
        page = paginator.paginate_queryset(file_requests, request, view=self)
        return paginator.get_paginated_response(FileRequestOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="file_requests_create",
        request=FileRequestCreateSerializer,
        responses={200: FileRequestOutputSerializer},
        description=(
            "Creates a file request and texts the patient a short link. The patient is "
            "found by mobile number and date of birth within your account, or created as "
            "a shell patient; the staff member by staffId, else accountUserId, else "
            "created as shell staff. The clinic is always your API key's: accountId is "
            "your own id of your account, kept and answered as sent. Answers 200, as "
            "X-on's API does."
        ),
    )
    def post(self, request):
        serializer = FileRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        options = {}
        if "shortLinkExpiresAt" in data:
            options["short_link_expires_at"] = data["shortLinkExpiresAt"]
        try:
            file_request = services.file_request_create(
                account=request.auth.account,
                actor=request.auth.actor,
                prompt=data.get("prompt") or "",
                type=data["type"],
                sender_account_id=data["accountId"],
                staff_id=data.get("staffId"),
                account_user_id=(data.get("accountUserId") or "").strip(),
                staff_name=data["staffName"].strip(),
                patient_mobile=data["patientMobile"],
                patient_date_of_birth=data["patientDateOfBirth"],
                patient_first_name=(data.get("patientFirstName") or "").strip(),
                patient_last_name=(data.get("patientLastName") or "").strip(),
                patient_nhs_number=data.get("patientNhsNumber") or "",
                files_update_webhook_url=data.get("filesUpdateWebhookUrl") or "",
                template_id=data.get("templateId") or None,
                body_site_code=(data.get("bodySite") or {}).get("code", ""),
                body_site_side=(data.get("bodySite") or {}).get("laterality") or "",
                full_resolution=data["fullResolution"],
                **options,
            )
        except services.FileRequestInputError as exc:
            raise ValidationError({exc.field: [exc.message]}) from exc
        except NhsNumberTaken as exc:
            raise nhs_number_conflict(exc, "patientNhsNumber") from exc
        return Response(FileRequestOutputSerializer(file_request).data, status=status.HTTP_200_OK)


class FileRequestDetailApi(APIView):
    @extend_schema(operation_id="file_requests_retrieve", responses=FileRequestOutputSerializer)
    def get(self, request, file_request_id):
        file_request = file_request_or_404(request, file_request_id)
        return Response(FileRequestOutputSerializer(file_request).data)


class FileRequestCancelApi(APIView):
    @extend_schema(
        operation_id="file_requests_cancel",
        request=None,
        responses=FileRequestOutputSerializer,
        description="Closes the short link at once. Cancelling twice changes nothing; "
        "an expired request answers 409.",
    )
    def post(self, request, file_request_id):
        file_request = file_request_or_404(request, file_request_id)
        try:
            file_request = services.file_request_cancel(
                file_request=file_request, actor=request.auth.actor
            )
        except services.FileRequestStateError as exc:
            raise Conflict(str(exc)) from exc
        return Response(FileRequestOutputSerializer(file_request).data)


class FileRequestResendApi(APIView):
    @extend_schema(
        operation_id="file_requests_resend",
        request=None,
        responses=FileRequestOutputSerializer,
        description="Texts the same link to the patient again. A cancelled or expired "
        "request answers 409. Texts of one request are limited (the first included): "
        "none within a cooldown of the last (a minute by default), and at most a cap in "
        "any 24 hours (five by default); past either, 429 with `Retry-After` in seconds "
        "and nothing is sent.",
    )
    def post(self, request, file_request_id):
        file_request = file_request_or_404(request, file_request_id)
        try:
            services.file_request_resend(file_request=file_request, actor=request.auth.actor)
        except services.FileRequestStateError as exc:
            raise Conflict(str(exc)) from exc
        except services.TextLimitReached as exc:
            raise TooManyRequests(str(exc), wait=exc.retry_after_seconds) from exc
        file_request.refresh_from_db()
        return Response(FileRequestOutputSerializer(file_request).data)
