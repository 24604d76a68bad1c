"""Error shapes of the dialects, each as its vendor documents it.

Cliniko answers invalid input with 422 ``{"message": "Validation Failed",
"errors": {"<field>": "<message>"}}`` and other errors with ``{"message"}``.
Medable answers every error (and a facet that is not ready yet, with 202) as a
fault: ``{"object": "fault", "name", "code", "errCode", "status", "message",
"path", "reason"}``. Claros keeps the portal's own shape. A view picks its
dialect by overriding ``get_exception_handler()``.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.api.errors import api_exception_for, flatten_field_errors
from portal.api.errors import exception_handler as portal_exception_handler
from portal.service_errors import ServiceError

# --- Cliniko -------------------------------------------------------------------


class ClinikoValidationFailed(exceptions.APIException):
    """A 422 in Cliniko's shape; ``errors`` maps a field (or ``base``) to a message."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "Validation Failed"
    default_code = "invalid"

    def __init__(self, errors: dict[str, str]):
        super().__init__("Validation Failed")
        self.errors = errors


def normalise(exc, *, dialect: str):
    if isinstance(exc, ServiceError):
        return api_exception_for(exc, dialect=dialect)
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied()
    return exc


def cliniko_exception_handler(exc, context):
    exc = normalise(exc, dialect="cliniko")
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_field_errors(exc.detail)
        exc = ClinikoValidationFailed(
            {name: " ".join(messages) for name, messages in fields.items()}
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ClinikoValidationFailed):
        response.data = {"message": "Validation Failed", "errors": exc.errors}
    else:
        detail = exc.detail
        response.data = {
            "message": str(detail)
            if not isinstance(detail, (dict, list))
            else " ".join(" ".join(m) for m in flatten_field_errors(detail).values())
        }
    return response


CLINIKO_ERROR = inline_serializer(name="ClinikoError", fields={"message": serializers.CharField()})
CLINIKO_VALIDATION_ERROR = inline_serializer(
    name="ClinikoValidationError",
    fields={
        "message": serializers.CharField(),
        "errors": serializers.DictField(child=serializers.CharField()),
    },
)


def cliniko_error_responses(*, body: bool = False) -> dict:
    """OpenAPI responses for every error a Cliniko route can answer."""
    described = {
        status.HTTP_400_BAD_REQUEST: "Malformed request (not JSON, bad query parameter).",
        status.HTTP_401_UNAUTHORIZED: "No API key, or an invalid or revoked one.",
        status.HTTP_403_FORBIDDEN: "Authenticated, but not allowed.",
        status.HTTP_404_NOT_FOUND: "No such object in your account.",
        status.HTTP_405_METHOD_NOT_ALLOWED: "Method not allowed.",
        status.HTTP_409_CONFLICT: "The file is still being processed, or was refused.",
        status.HTTP_410_GONE: "The file has expired.",
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "Unsupported media type.",
        status.HTTP_429_TOO_MANY_REQUESTS: "Too many requests.",
    }
    responses = {
        code: OpenApiResponse(CLINIKO_ERROR, description=text) for code, text in described.items()
    }
    responses[status.HTTP_422_UNPROCESSABLE_ENTITY] = OpenApiResponse(
        CLINIKO_VALIDATION_ERROR, description="Validation Failed: `errors` says which field."
    )
    return responses


# --- Medable -------------------------------------------------------------------

FAULT_CODES = {
    status.HTTP_400_BAD_REQUEST: ("kInvalidArgument", "cortex.invalidArgument.unspecified"),
    status.HTTP_401_UNAUTHORIZED: ("kNotLoggedIn", "cortex.accessDenied.notLoggedIn"),
    status.HTTP_403_FORBIDDEN: ("kAccessDenied", "cortex.accessDenied.unspecified"),
    status.HTTP_404_NOT_FOUND: ("kNotFound", "cortex.notFound.unspecified"),
    status.HTTP_405_METHOD_NOT_ALLOWED: ("kInvalidRequest", "cortex.invalidArgument.method"),
    status.HTTP_409_CONFLICT: ("kMediaError", "cortex.error.mediaError"),
    status.HTTP_410_GONE: ("kMediaDead", "cortex.error.mediaDead"),
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: ("kTooLarge", "cortex.tooLarge.unspecified"),
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: ("kInvalidArgument", "cortex.unsupported.mediaType"),
    status.HTTP_429_TOO_MANY_REQUESTS: ("kThrottled", "cortex.throttled.unspecified"),
}


class MedableFault(exceptions.APIException):
    """A fault with its own code; ``path`` names the property or facet concerned."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        code: str | None = None,
        err_code: str | None = None,
        path: str = "",
        reason: str = "",
    ):
        super().__init__(message)
        self.status_code = status_code
        default_code, default_err_code = FAULT_CODES.get(
            status_code, ("kError", "cortex.error.unspecified")
        )
        self.fault_code = code or default_code
        self.err_code = err_code or default_err_code
        self.path = path
        self.reason = reason


def fault_body(
    *, message: str, status_code: int, code: str, err_code: str, path: str = "", reason=""
) -> dict:
    return {
        "object": "fault",
        "name": "error" if status_code >= 400 else "fault",
        "code": code,
        "errCode": err_code,
        "status": status_code,
        "message": message,
        "path": path,
        "reason": reason,
    }


def media_not_ready(*, path: str, reason: str = "") -> Response:
    """Medable's 202 for a facet still pending or processing: try again after a time."""
    body = fault_body(
        message="The media is not ready yet. Try again in a few seconds.",
        status_code=status.HTTP_202_ACCEPTED,
        code="kMediaNotReady",
        err_code="cortex.accepted.mediaNotReady",
        path=path,
        reason=reason,
    )
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Retry-After": "5"})


def medable_exception_handler(exc, context):
    exc = normalise(exc, dialect="medable")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, MedableFault):
        code, err_code, path, reason = exc.fault_code, exc.err_code, exc.path, exc.reason
    else:
        code, err_code = FAULT_CODES.get(
            response.status_code, ("kError", "cortex.error.unspecified")
        )
        path, reason = "", ""
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_field_errors(exc.detail)
        message = " ".join(
            f"{name}: {' '.join(messages)}" if name != "non_field_errors" else " ".join(messages)
            for name, messages in fields.items()
        )
        code, err_code = "kValidationError", "cortex.invalidArgument.validation"
        path = path or next(iter(fields), "")
    else:
        message = str(exc.detail) if not isinstance(exc.detail, (dict, list)) else str(exc)
    response.data = fault_body(
        message=message,
        status_code=response.status_code,
        code=code,
        err_code=err_code,
        path=path,
        reason=reason,
    )
    return response


MEDABLE_FAULT = inline_serializer(
    name="MedableFault",
    fields={
        "object": serializers.CharField(),
        "name": serializers.CharField(),
        "code": serializers.CharField(),
        "errCode": serializers.CharField(),
        "status": serializers.IntegerField(),
        "message": serializers.CharField(),
        "path": serializers.CharField(allow_blank=True),
        "reason": serializers.CharField(allow_blank=True),
    },
)


def medable_error_responses(*, not_ready: bool = False) -> dict:
    responses = {
        code: OpenApiResponse(MEDABLE_FAULT, description=f"A fault ({names[0]}).")
        for code, names in FAULT_CODES.items()
    }
    if not_ready:
        responses[status.HTTP_202_ACCEPTED] = OpenApiResponse(
            MEDABLE_FAULT, description="kMediaNotReady: the facet is still being processed."
        )
    return responses


# --- Claros: the portal's own shape, plus the statuses its seed documents --------

claros_exception_handler = portal_exception_handler
