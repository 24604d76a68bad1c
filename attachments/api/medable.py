"""Medable's file property, as the patient's ``photo`` (seed 003).

``PUT patients/{id}/photo`` with ``{"content": <value>}`` writes the property:
an upload value answers the pending ``content`` facet with ``uploads`` (ordered
``fields``, ``uploadKey`` ``file``, ``uploadMethod`` ``post``, ``uploadUrl``);
a facet reference copies an existing facet's bytes (same account only). States
are Medable's: 0 pending, 1 processing, 2 ready, 3 error, 4 dead (with a
``fault`` on 3 and 4). ``PUT …/photo/refresh`` with ``["content"]`` renews the
upload credentials; ``GET …/photo/content`` and ``…/photo/thumbnail`` stream a
ready facet and answer 202 ``kMediaNotReady`` before then. Errors are faults.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from attachments import selectors, services
from attachments.api.errors import (
    MedableFault,
    medable_error_responses,
    medable_exception_handler,
    media_not_ready,
)
from attachments.models import PatientPhoto
from files import quota
from files.api import AnyAcceptNegotiation
from files.models import Facet, File
from files.serving import respond
from files.tickets.policies import presigned_post_for
from portal.patients.selectors import patient_get

PENDING, PROCESSING, READY, ERROR, DEAD = 0, 1, 2, 3, 4
FACET_LOCATION = 4  # Medable's code for facet storage
UPLOAD_LOCATION = 5  # Medable's code for the S3 upload location
FACETS = ("content", "thumbnail")
UPLOAD_PREFIXES = ("file://", "upload://")
FACET_PATH = re.compile(
    r"^(?:facet://)?/?patients/(?P<patient_id>[^/]+)/photo/(?P<facet>content|thumbnail)$"
)


class MedableApiView(APIView):
    def get_exception_handler(self):
        return medable_exception_handler


def bad_value(message: str, *, path: str = "content") -> MedableFault:
    return MedableFault(
        message,
        code="kInvalidArgument",
        err_code="cortex.invalidArgument.fileProperty",
        path=path,
    )


# --- Reading the property's value ----------------------------------------------------------


@dataclass(frozen=True)
class UploadValue:
    filename: str


@dataclass(frozen=True)
class FacetReference:
    patient_id: str
    facet: str
    filename: str | None = None


def plain_filename(value, *, path: str = "content") -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad_value("An upload value must name the file, e.g. 'photo.jpg'.", path=path)
    name = value.strip()
    if (
        "/" in name
        or "\\" in name
        or len(name) > 255
        or any(unicodedata.category(char) in {"Cc", "Cf", "Cs"} for char in name)
    ):
        raise bad_value(
            "Not a file name: it must not hold path separators or control characters "
            "and may be at most 255 characters.",
            path=path,
        )
    return name


def facet_reference(path_value, *, filename=None) -> FacetReference:
    match = FACET_PATH.match(path_value) if isinstance(path_value, str) else None
    if match is None:
        raise bad_value(
            "A facet reference must look like '/patients/<id>/photo/content'.", path="content"
        )
    if filename is not None:
        filename = plain_filename(filename)
    return FacetReference(match["patient_id"], match["facet"], filename)


def parse_content_value(value) -> UploadValue | FacetReference:
    """Every upload and facet-reference form seed 003 lists."""
    if isinstance(value, str):
        if value.startswith("facet://") or "/" in value.removeprefix("file://").removeprefix(
            "upload://"
        ):
            return facet_reference(value)
        for prefix in UPLOAD_PREFIXES:
            if value.startswith(prefix):
                return UploadValue(plain_filename(value.removeprefix(prefix)))
        return UploadValue(plain_filename(value))
    if isinstance(value, dict):
        if set(value) == {"upload"}:
            return UploadValue(plain_filename(value["upload"]))
        source = value.get("source")
        if source == "upload" and set(value) <= {"source", "filename"}:
            return UploadValue(plain_filename(value.get("filename")))
        if source == "facet" and "path" in value and set(value) <= {"source", "filename", "path"}:
            return facet_reference(value["path"], filename=value.get("filename"))
    raise bad_value(
        "The content value must be a file name ('photo.jpg', 'upload://photo.jpg', "
        "{upload: ...}, {source: 'upload', filename: ...}) or a facet reference "
        "('/patients/<id>/photo/content', {source: 'facet', path: ...})."
    )


# --- Writing the property as Medable shows it ----------------------------------------------


def property_path(photo: PatientPhoto, facet: str) -> str:
    return f"/patients/{photo.patient_id}/photo/{facet}"


def fault_of(*, message: str, state: int, path: str, reason: str = "") -> dict:
    return {
        "object": "fault",
        "name": "error",
        "code": "kMediaError" if state == ERROR else "kMediaDead",
        "errCode": "cortex.error.mediaError" if state == ERROR else "cortex.error.mediaDead",
        "status": 500 if state == ERROR else 410,
        "message": message,
        "path": path,
        "reason": reason,
    }


def content_state(photo: PatientPhoto) -> tuple[int, str]:
    """The content facet's Medable state and, on 3 or 4, why."""
    file = photo.file
    if file is None:
        if photo.collect_failure:
            return DEAD, photo.collect_failure
        return PENDING, ""
    if file.state == File.State.REJECTED:
        return DEAD, file.rejection_reason or "The file was refused."
    if file.state != File.State.READY:
        return PROCESSING, ""
    if file.is_expired:
        return DEAD, "The file has expired."
    return READY, ""


def thumbnail_state(photo: PatientPhoto, thumbnail: Facet | None) -> tuple[int, str]:
    state, reason = content_state(photo)
    if state != READY:
        return state, reason
    if thumbnail is None or thumbnail.state == Facet.State.PENDING:
        return PROCESSING, ""
    if thumbnail.state == Facet.State.FAILED:
        return ERROR, "The thumbnail could not be made from this image."
    return READY, ""


def upload_entry(photo: PatientPhoto) -> dict:
    ticket = photo.upload_ticket
    post = presigned_post_for(ticket)
    return {
        "fields": [{"key": key, "value": value} for key, value in post["fields"].items()],
        "filename": photo.filename,
        "location": UPLOAD_LOCATION,
        "maxFileSize": ticket.max_size,
        "name": "content",
        "state": PENDING,
        "uploadKey": "file",
        "uploadMethod": "post",
        "uploadUrl": post["url"],
    }


def facet_json(photo: PatientPhoto, name: str, state: int, reason: str, stored) -> dict:
    body = {
        "creator": photo.creator_id,
        "location": FACET_LOCATION,
        "name": name,
        "path": property_path(photo, name),
        "state": state,
    }
    if state == READY and stored is not None:
        body.update(
            {
                "ETag": stored.sha256,
                "mime": stored.mime_type,
                "size": stored.size,
            }
        )
        if stored.width:
            body.update({"width": stored.width, "height": stored.height})
    if state in (ERROR, DEAD):
        body["fault"] = fault_of(
            message="The file could not be processed." if state == ERROR else reason,
            state=state,
            path=body["path"],
            reason=reason,
        )
    return body


def property_json(photo: PatientPhoto) -> dict:
    file = photo.file
    facets = {facet.name: facet for facet in file.facets.all()} if file else {}
    state, reason = content_state(photo)
    thumbnail = facets.get(Facet.THUMBNAIL)
    body = facet_json(photo, "content", state, reason, file if file else None)
    body["filename"] = photo.filename
    body["facets"] = [facet_json(photo, "thumbnail", *thumbnail_state(photo, thumbnail), thumbnail)]
    body["uploads"] = (
        [upload_entry(photo)] if photo.upload_ticket_id and photo.file_id is None else []
    )
    return dict(sorted(body.items()))


PROPERTY_SCHEMA = inline_serializer(
    name="MedableFileProperty",
    fields={
        "creator": serializers.CharField(),
        "facets": serializers.ListField(child=serializers.DictField()),
        "filename": serializers.CharField(),
        "location": serializers.IntegerField(),
        "name": serializers.CharField(),
        "path": serializers.CharField(),
        "state": serializers.IntegerField(),
        "uploads": serializers.ListField(child=serializers.DictField()),
    },
)
REFRESH_SCHEMA = inline_serializer(
    name="MedableUploadList",
    fields={
        "data": serializers.ListField(child=serializers.DictField()),
        "hasMore": serializers.BooleanField(),
        "object": serializers.CharField(),
    },
)
PUT_REQUEST = inline_serializer(
    name="MedableFilePropertyWrite",
    fields={"content": serializers.JSONField(help_text="An upload value or a facet reference.")},
)


def patient_or_404(request, patient_id):
    patient = patient_get(account=request.auth.account, patient_id=patient_id)
    if patient is None:
        raise NotFound("No patient with this id exists in your account.")
    return patient


def photo_or_404(patient) -> PatientPhoto:
    photo = selectors.photo_get(patient=patient)
    if photo is None:
        raise MedableFault(
            "This patient has no photo.",
            status_code=status.HTTP_404_NOT_FOUND,
            path=f"/patients/{patient.pk}/photo",
        )
    return photo


def quota_fault(exc: quota.TrialQuotaExceeded) -> MedableFault:
    return MedableFault(
        exc.message,
        status_code=status.HTTP_403_FORBIDDEN,
        code="kQuotaExceeded",
        err_code="cortex.accessDenied.quotaExceeded",
        path="content",
        reason=exc.reason,
    )


def source_file_for(request, reference: FacetReference) -> File:
    source_patient = patient_get(account=request.auth.account, patient_id=reference.patient_id)
    source_photo = selectors.photo_get(patient=source_patient) if source_patient else None
    if source_photo is None or source_photo.file is None:
        raise bad_value("The referenced facet does not exist in your account.")
    return source_photo.file


class PatientPhotoApi(MedableApiView):
    @extend_schema(
        operation_id="medable_patient_photo_retrieve",
        tags=["Medable photo property"],
        responses={200: PROPERTY_SCHEMA, **medable_error_responses()},
    )
    def get(self, request, patient_id):
        photo = photo_or_404(patient_or_404(request, patient_id))
        return Response(property_json(photo))

    @extend_schema(
        operation_id="medable_patient_photo_write",
        tags=["Medable photo property"],
        request=PUT_REQUEST,
        responses={200: PROPERTY_SCHEMA, **medable_error_responses()},
    )
    def put(self, request, patient_id):
        """Write the photo: upload a new file, or copy an existing facet's bytes."""
        patient = patient_or_404(request, patient_id)
        body = request.data
        if not isinstance(body, dict) or set(body) != {"content"}:
            if isinstance(body, dict) and "thumbnail" in body:
                raise bad_value(
                    "The thumbnail facet is made from the content; it cannot be written.",
                    path="thumbnail",
                )
            raise bad_value('The body must be {"content": <upload value or facet reference>}.')
        value = parse_content_value(body["content"])
        account, actor = request.auth.account, request.auth.actor
        try:
            if isinstance(value, UploadValue):
                photo = services.photo_upload_start(
                    account=account, patient=patient, filename=value.filename, actor=actor
                )
            else:
                photo = services.photo_copy_from_facet(
                    account=account,
                    patient=patient,
                    source=source_file_for(request, value),
                    facet_name=value.facet,
                    filename=value.filename,
                    actor=actor,
                )
        except services.AttachmentInputError as exc:
            raise bad_value(exc.message) from exc
        except quota.TrialQuotaExceeded as exc:
            raise quota_fault(exc) from exc
        photo = selectors.photo_get(patient=patient)
        return Response(property_json(photo))


class PatientPhotoRefreshApi(MedableApiView):
    @extend_schema(
        operation_id="medable_patient_photo_refresh",
        tags=["Medable photo property"],
        request=inline_serializer(
            name="MedableRefreshRequest",
            fields={"facets": serializers.ListField(child=serializers.CharField())},
        ),
        responses={200: REFRESH_SCHEMA, **medable_error_responses()},
    )
    def put(self, request, patient_id):
        """Fresh upload credentials for the named facets' pending uploads (``["content"]``)."""
        patient = patient_or_404(request, patient_id)
        names = request.data
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise bad_value('The body must be a list of facet names, e.g. ["content"].', path="")
        unknown = [name for name in names if name not in FACETS]
        if unknown:
            raise bad_value(f"No facet named {unknown[0]!r}.", path=unknown[0])
        photo = photo_or_404(patient)
        uploads = []
        if "content" in names:
            try:
                photo = services.photo_upload_refresh(photo=photo, actor=request.auth.actor)
            except quota.TrialQuotaExceeded as exc:
                raise quota_fault(exc) from exc
            photo = selectors.photo_get(patient=patient)
            if photo.upload_ticket_id and photo.file_id is None:
                uploads.append(upload_entry(photo))
        return Response({"data": uploads, "hasMore": False, "object": "list"})


class PatientPhotoFacetApi(MedableApiView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="medable_patient_photo_facet",
        tags=["Medable photo property"],
        parameters=[
            OpenApiParameter("facet", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(FACETS))
        ],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            **medable_error_responses(not_ready=True),
        },
    )
    def get(self, request, patient_id, facet):
        """Stream a ready facet; 202 ``kMediaNotReady`` while it is pending or processing."""
        photo = photo_or_404(patient_or_404(request, patient_id))
        if facet not in FACETS:
            raise MedableFault(
                f"The photo has no facet named {facet!r}; it has content and thumbnail.",
                status_code=status.HTTP_404_NOT_FOUND,
                path=f"/patients/{patient_id}/photo/{facet}",
            )
        path = property_path(photo, facet)
        file = photo.file
        thumbnail = file.facets.filter(name=Facet.THUMBNAIL).first() if file else None
        state, reason = (
            content_state(photo) if facet == "content" else thumbnail_state(photo, thumbnail)
        )
        if state in (PENDING, PROCESSING):
            return media_not_ready(path=path)
        if state != READY:
            raise MedableFault(
                reason or "The file could not be processed.",
                status_code=status.HTTP_410_GONE if state == DEAD else status.HTTP_409_CONFLICT,
                code="kMediaDead" if state == DEAD else "kMediaError",
                err_code="cortex.error.mediaDead" if state == DEAD else "cortex.error.mediaError",
                path=path,
                reason=reason,
            )
        return respond.serve(request, file=file, actor=request.auth.actor, facet_name=facet)
