"""One error body across the portal's own API.

Every error answers ``{"error": "<a sentence a person can act on>", "code":
"<machine code>"}``, plus ``"fields": {"<field path>": ["<message>", ...]}``
when input was invalid. X-on's documents show errors as ``{"error": "..."}``,
which this shape keeps. A dialect with its own error shape (Cliniko's 422,
Medable's faults) overrides ``get_exception_handler()`` on its views.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as ModelValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status

from portal.service_errors import ServiceError


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload is larger than allowed."
    default_code = "payload_too_large"


class Gone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "This resource has expired and is no longer available."
    default_code = "gone"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class TooManyRequests(exceptions.APIException):
    """429 with ``Retry-After``: DRF's handler sends the header from ``wait``."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many requests."
    default_code = "too_many_requests"

    def __init__(self, detail=None, *, wait: int):
        super().__init__(detail)
        self.wait = wait


# --- Services' refusals: the one place a kind becomes a status and a body ------------------

SERVICE_ERROR_STATUS = {
    "invalid": status.HTTP_400_BAD_REQUEST,
    "not_found": status.HTTP_404_NOT_FOUND,
    "conflict": status.HTTP_409_CONFLICT,
    "too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "quota_exceeded": status.HTTP_403_FORBIDDEN,
    "too_many": status.HTTP_429_TOO_MANY_REQUESTS,
}
# The portal's ``code`` for a refusal that names none finer.
SERVICE_ERROR_CODE = {
    "invalid": "invalid",
    "not_found": "not_found",
    "conflict": "conflict",
    "too_large": "payload_too_large",
    "quota_exceeded": "permission_denied",
    "too_many": "too_many_requests",
}
# Cliniko answers every refusal of what the caller sent, the trial's space used up
# included, as 422 Validation Failed naming the field (``base``: the account as a whole).
CLINIKO_VALIDATION_KINDS = ("invalid", "quota_exceeded")


class ServiceRefusal(exceptions.APIException):
    """A service's refusal as DRF carries it to a dialect's handler."""

    def __init__(self, error: ServiceError):
        self.status_code = SERVICE_ERROR_STATUS[error.kind]
        super().__init__(error.message, code=error.code or SERVICE_ERROR_CODE[error.kind])


def api_exception_for(error: ServiceError, *, dialect: str = "portal") -> exceptions.APIException:
    """The DRF exception a door's handler turns into its dialect's body: invalid input as
    a ``ValidationError`` on its field (so each dialect's field shape applies), every
    other kind at its status with the service's sentence."""
    validation_kinds = CLINIKO_VALIDATION_KINDS if dialect == "cliniko" else ("invalid",)
    if error.kind in validation_kinds:
        default_field = "base" if dialect == "cliniko" else "non_field_errors"
        return exceptions.ValidationError(
            error.fields or {error.field or default_field: [error.message]}
        )
    return ServiceRefusal(error)


def service_error_response(error: ServiceError) -> JsonResponse:
    """The pages' JSON endpoints (the patient page, the dashboard's uploads):
    ``{"error": "<the sentence>"}`` at the kind's status."""
    return JsonResponse({"error": error.message}, status=SERVICE_ERROR_STATUS[error.kind])


def flatten_field_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """``{"files": [{"name": ["x"]}]}`` → ``{"files.0.name": ["x"]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_field_errors(value, path))
    elif isinstance(detail, list) and detail and all(isinstance(d, str) for d in detail):
        flat[prefix or "non_field_errors"] = [str(d) for d in detail]
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if value:
                flat.update(
                    flatten_field_errors(value, f"{prefix}.{index}" if prefix else str(index))
                )
    else:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


def summarise(fields: dict[str, list[str]]) -> str:
    parts = []
    for path, messages in fields.items():
        message = messages[0] if messages else "is invalid"
        parts.append(message if path == "non_field_errors" else f"{path}: {message}")
    return " ".join(parts) if parts else "The request is invalid."


def error_body(message: str, code: str, fields: dict | None = None) -> dict:
    body = {"error": message, "code": code}
    if fields:
        body["fields"] = fields
    return body


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        exc = api_exception_for(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, ModelValidationError):
        # A service's full_clean() found what the serializer could not: still the
        # caller's input, so 400 with the same field messages.
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    # Only a DRF view calls this, so DRF's views are loaded by then. Imported here because
    # the rest of this module (the error body, the services' refusals) loads at every
    # Django start, a Celery worker's too, through the admin's file serving; DRF's views
    # bring its compat layer (Pygments, Markdown) and its schemas with them.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_field_errors(exc.detail)
        response.data = error_body(summarise(fields), "invalid", fields)
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = (
            str(detail)
            if not isinstance(detail, (dict, list))
            else summarise(flatten_field_errors(detail))
        )
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = error_body(message, code)
    return response
