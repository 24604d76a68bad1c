"""FHIR JSON responses: the media type, the headers every answer carries."""

from __future__ import annotations

import json

from django.http import HttpResponse

from fhirapi.codes import FHIR_JSON


def fhir_response(resource: dict, *, status: int = 200) -> HttpResponse:
    response = HttpResponse(
        json.dumps(resource, separators=(",", ":"), ensure_ascii=False),
        status=status,
        content_type=f"{FHIR_JSON}; charset=utf-8",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def wants_fhir_json(request) -> bool:
    """Whether the client asked for the FHIR JSON form (``Accept`` or ``_format``)."""
    requested_format = request.GET.get("_format", "")
    if requested_format:
        return "json" in requested_format
    accept = request.headers.get("Accept", "")
    return any(
        part.split(";")[0].strip() in (FHIR_JSON, "application/json", "application/json+fhir")
        for part in accept.split(",")
    )
