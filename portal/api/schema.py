"""How the OpenAPI schema describes the portal, for drf-spectacular: its error shape and
its two authentication schemes.

drf-spectacular registers an extension when its class is defined, and importing
``drf_spectacular.extensions`` brings DRF's test client and Django's test utilities with
it; the URLconf imports this module beside the schema's view, so only a process that
serves URLs loads it, never a Celery worker or a management command.
"""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension

from portal.api.authentication import ApiKeyAuthentication, StaffSessionAuthentication

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "What went wrong, for a person."},
        "code": {"type": "string", "description": "A stable machine-readable code."},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Per-field messages, when input was invalid.",
        },
    },
    "required": ["error", "code"],
}

ERROR_RESPONSES = {
    "400": "The input is invalid; `fields` says what to fix.",
    "401": "No API key, or an invalid or revoked one.",
    "403": "Authenticated, but not allowed to do this.",
    "404": "No such object in your account.",
    "405": "This method is not allowed on this route.",
    "406": "The `Accept` header asks only for types this route cannot answer in.",
    "415": "Unsupported media type.",
    "429": "Too many requests; retry after `Retry-After`.",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: every operation documents the portal's
    error shape for the statuses it can answer, so clients (and schemathesis) know
    what a 4xx looks like. A route that declares its own (dialect) error keeps it."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Error", ERROR_SCHEMA)
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for status_code, description in ERROR_RESPONSES.items():
                if status_code == "400" and method in {"get", "delete"}:
                    description = "A malformed query parameter."
                responses.setdefault(
                    status_code,
                    {"description": description, "content": {"application/json": {"schema": ref}}},
                )
    return result


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = ["ApiKeyHeader", "BearerKey", "BasicKey"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            {"type": "http", "scheme": "bearer", "description": "The API key as a bearer token."},
            {
                "type": "http",
                "scheme": "basic",
                "description": "The API key as user name, no password.",
            },
        ]


class StaffSessionAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = StaffSessionAuthentication
    name = "StaffSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
