"""FHIR JSON responses: the media type, the headers every answer carries, the formats a
client may ask for, and the validators of a read (ETag, Last-Modified, 304)."""

from __future__ import annotations

import datetime as dt
import json

from django.core.exceptions import TooManyFieldsSent
from django.http import HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from fhirapi.codes import FHIR_JSON
from fhirapi.outcomes import FhirError, operation_outcome

# Media types of FHIR's JSON (the second is R4's, the third DSTU2's, still sent by some).
JSON_TYPES = (FHIR_JSON, "application/json", "application/json+fhir")
JSON_FORMATS = ("json", *JSON_TYPES)
ANY_TYPES = ("*/*", "application/*")


def fhir_response(resource: dict, *, status: int = 200) -> HttpResponse:
    response = HttpResponse(
        json.dumps(resource, separators=(",", ":"), ensure_ascii=False),
        status=status,
        content_type=f"{FHIR_JSON}; charset=utf-8",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def read_response(request, resource: dict, *, last_updated: dt.datetime) -> HttpResponse:
    """A read, with its validators: ``ETag: W/"<meta.versionId>"`` and ``Last-Modified``
    (``meta.lastUpdated`` to the second); 304 to a matching ``If-None-Match`` (or, without
    one, to an ``If-Modified-Since`` no older than the resource), as HTTP says."""
    response = fhir_response(resource)
    response["ETag"] = f'W/"{resource["meta"]["versionId"]}"'
    return with_last_modified(request, response, last_updated=last_updated)


def with_last_modified(request, response, *, last_updated: dt.datetime):
    seconds = int(last_updated.timestamp())
    response["Last-Modified"] = http_date(seconds)
    return get_conditional_response(
        request, etag=response["ETag"], last_modified=seconds, response=response
    )


def media_ranges(request) -> list[str]:
    """The media types the ``Accept`` header accepts (q above 0), without parameters."""
    accepted = []
    for part in request.headers.get("Accept", "").split(","):
        media_type, *parameters = (piece.strip() for piece in part.split(";"))
        if not media_type:
            continue
        quality = next((p[2:] for p in parameters if p.replace(" ", "").startswith("q=")), "1")
        try:
            if float(quality) <= 0:
                continue
        except ValueError:
            pass
        accepted.append(media_type.lower())
    return accepted


def not_acceptable(asked: str) -> FhirError:
    return FhirError(
        406,
        "not-supported",
        f"This server answers FHIR in JSON only, not {asked[:80]}: ask for "
        f"{FHIR_JSON} (or application/json), or send _format=json.",
    )


def requested_format(request, *, raw_allowed: bool = False) -> str:
    """``json`` for FHIR JSON, or ``raw`` (a Binary's bytes as they are, where
    ``raw_allowed``). 406 for a format the server does not speak: ``_format=xml``, or an
    ``Accept`` that takes none of JSON's media types (``application/fhir+xml``...)."""
    try:
        requested = request.GET.get("_format", "").strip()
    except TooManyFieldsSent:
        return "json"  # the view refuses the query string in words (views.query_lists)
    if requested:
        if requested.split(";")[0].strip().lower() in JSON_FORMATS:
            return "json"
        raise not_acceptable(f"_format={requested}")
    accepted = media_ranges(request)
    if any(media_type in JSON_TYPES for media_type in accepted):
        return "json"
    if raw_allowed:
        # Any other type asks for the bytes, unless every type asked is another FHIR form.
        if accepted and all("fhir" in media_type for media_type in accepted):
            raise not_acceptable(request.headers["Accept"])
        return "raw"
    if not accepted or any(media_type in ANY_TYPES for media_type in accepted):
        return "json"
    raise not_acceptable(request.headers.get("Accept", ""))


def outcome_response(error: FhirError):
    """A refusal as the OperationOutcome a record system parses, with its status and headers."""
    response = fhir_response(
        operation_outcome(code=error.code, diagnostics=error.diagnostics), status=error.status
    )
    for name, value in error.headers.items():
        response[name] = value
    return response
