"""The read-only FHIR R4 door: ``/fhir/R4/…``.

Plain Django views rather than DRF's: FHIR fixes its own media type, error
resource and search syntax, so DRF's negotiation, error shape and pagination would
each have to be undone. Authentication and tenancy are the portal's own: an
account's API key (``portal.api.authentication.key_from_request``), and every
query scoped to its account, so another clinic's resource answers 404. The
CapabilityStatement alone answers without a key: clients read it to learn how to
authenticate, and it says nothing of any clinic.
"""

from __future__ import annotations

import base64
import functools
import json
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import AuthenticationFailed

from fhirapi import registry, search
from fhirapi.capability import capability_statement
from fhirapi.codes import FHIR_JSON
from fhirapi.outcomes import FhirError, not_found, outcome_response
from fhirapi.rendering import fhir_response, wants_fhir_json
from fhirapi.resources import (
    THUMBNAIL_SUFFIX,
    binary_skeleton,
    document_reference_resource,
    patient_resource,
    searchset_bundle,
)
from fhirapi.selectors import fhir_document_files, fhir_file_get, fhir_patients
from files.downloads import file_response
from files.models import Facet, File
from files.storage import stored_bytes
from portal.accounts.services import api_key_authenticate
from portal.api.authentication import key_from_request
from portal.api.caller import Caller
from portal.audit.services import audit_record
from portal.ids import parse_uuid

BINARY_CHUNK = 3 * 256 * 1024  # a multiple of 3: each chunk encodes to Base64 on its own


def base_url_of(request) -> str:
    return request.build_absolute_uri(reverse("fhir-base"))


def caller_of(request) -> Caller:
    try:
        plaintext = key_from_request(request)
    except AuthenticationFailed as error:
        raise FhirError(401, "login", str(error.detail)) from None
    api_key = api_key_authenticate(plaintext=plaintext) if plaintext else None
    if api_key is None:
        raise FhirError(
            401,
            "login",
            "Send an API key of your clinic as 'Authorization: Bearer <key>'."
            if plaintext is None
            else "The API key is invalid or has been revoked.",
            headers={"WWW-Authenticate": 'Bearer realm="fhir"'},
        )
    return Caller(account=api_key.account, api_key=api_key)


def fhir_endpoint(view=None, *, public: bool = False):
    """Authenticated first (401 for anything without a live key), read only, every
    refusal an OperationOutcome. ``public`` for the one route a client reads before it
    holds a key: it reads no credentials at all, so it answers everyone alike."""
    if view is None:
        return functools.partial(fhir_endpoint, public=public)

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            if not public:
                request.auth = caller_of(request)
            if request.method not in ("GET", "HEAD"):
                raise FhirError(
                    405,
                    "not-supported",
                    f"{request.method} is not supported: this FHIR server is read-only "
                    "(read and search).",
                    headers={"Allow": "GET, HEAD"},
                )
            return view(request, *args, **kwargs)
        except FhirError as error:
            return outcome_response(error)

    return wrapper


def lenient_handling(request) -> bool:
    """``Prefer: handling=lenient``: the client asks for parameters the server does not
    know to be ignored rather than refused (``search.search_request_parse``)."""
    prefer = request.headers.get("Prefer", "")
    return any(
        part.strip().replace(" ", "") == "handling=lenient"
        for header_part in prefer.split(",")
        for part in header_part.split(";")
    )


def query_lists(request) -> dict[str, list[str]]:
    try:
        return {key: request.GET.getlist(key) for key in request.GET}
    except TooManyFieldsSent:
        raise FhirError(
            400,
            "too-costly",
            f"The query string has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} "
            f"parameters; a search takes at most {search.MAX_VALUES} values of one parameter.",
        ) from None


def search_links(request, *, parsed: search.SearchRequest, total: int, type_name: str) -> list:
    base = base_url_of(request) + type_name

    def link(offset: int) -> str:
        query = [*parsed.used, ("_count", str(parsed.count)), ("_offset", str(offset))]
        return f"{base}?{urlencode(query)}"

    links = [{"relation": "self", "url": link(parsed.offset)}]
    if parsed.count and parsed.offset + parsed.count < total:
        links.append({"relation": "next", "url": link(parsed.offset + parsed.count)})
    if parsed.count and parsed.offset > 0:
        links.append({"relation": "previous", "url": link(max(0, parsed.offset - parsed.count))})
    return links


def search_response(request, *, definition, queryset, build):
    parsed = search.search_request_parse(
        query_lists(request),
        parameters=definition.parameters,
        includes=definition.includes,
        lenient=lenient_handling(request),
    )
    matching = search.apply(queryset, parsed)
    total = matching.count()
    page = (
        [] if parsed.summary_count else list(matching[parsed.offset : parsed.offset + parsed.count])
    )
    base_url = base_url_of(request)
    matches = [build(item, base_url) for item in page]
    included = []
    if parsed.includes and page:
        patients = {item.patient_id: item.patient for item in page}
        included = [patient_resource(patient) for patient in patients.values()]
    bundle = searchset_bundle(
        matches=matches,
        includes=included,
        total=total,
        links=search_links(request, parsed=parsed, total=total, type_name=definition.type),
        base_url=base_url,
    )
    return fhir_response(bundle.model_dump(mode="json", exclude_none=True))


@fhir_endpoint(public=True)
def metadata(request):
    statement = capability_statement(base_url=base_url_of(request))
    return fhir_response(statement.model_dump(mode="json", exclude_none=True))


@fhir_endpoint
def patient_search(request):
    return search_response(
        request,
        definition=registry.PATIENT,
        queryset=fhir_patients(account=request.auth.account),
        build=lambda patient, base_url: patient_resource(patient),
    )


@fhir_endpoint
def patient_read(request, resource_id: str):
    parsed = parse_uuid(resource_id)
    patient = (
        fhir_patients(account=request.auth.account).filter(pk=parsed).first() if parsed else None
    )
    if patient is None:
        raise not_found("Patient", resource_id)
    return fhir_response(patient_resource(patient).model_dump(mode="json", exclude_none=True))


@fhir_endpoint
def document_reference_search(request):
    return search_response(
        request,
        definition=registry.DOCUMENT_REFERENCE,
        queryset=fhir_document_files(account=request.auth.account),
        build=lambda file, base_url: document_reference_resource(file, base_url=base_url),
    )


def servable_file(request, resource_type: str, resource_id: str, file_id: str) -> File:
    """The account's ready file, or the refusal a record system can act on."""
    file = fhir_file_get(account=request.auth.account, file_id=file_id)
    if file is None:
        raise not_found(resource_type, resource_id)
    if file.is_expired or file.purged_at is not None:
        raise FhirError(
            410, "deleted", f"{resource_type}/{resource_id} has expired and is no longer available."
        )
    if file.state in (File.State.PENDING, File.State.PROCESSING):
        raise FhirError(
            404,
            "not-found",
            f"{resource_type}/{resource_id} is still being checked; it appears once ready.",
            headers={"Retry-After": "5"},
        )
    if file.state == File.State.REJECTED:
        raise not_found(resource_type, resource_id)
    return file


@fhir_endpoint
def document_reference_read(request, resource_id: str):
    file = servable_file(request, "DocumentReference", resource_id, resource_id)
    resource = document_reference_resource(file, base_url=base_url_of(request))
    return fhir_response(resource.model_dump(mode="json", exclude_none=True))


@fhir_endpoint
def binary_read(request, resource_id: str):
    """The bytes as they are (with the same headers, audit, Range and expiry as every
    download), or, for ``Accept: application/fhir+json``, the Binary resource with
    the bytes in Base64, streamed rather than built whole."""
    file_id, facet_name = resource_id, Facet.CONTENT
    if resource_id.endswith(THUMBNAIL_SUFFIX):
        file_id, facet_name = resource_id[: -len(THUMBNAIL_SUFFIX)], Facet.THUMBNAIL
    file = servable_file(request, "Binary", resource_id, file_id)
    facet = next((f for f in file.served_facets if f.name == facet_name), None)
    if facet is None:
        raise not_found("Binary", resource_id)
    if not wants_fhir_json(request):
        return file_response(request, file=file, facet_name=facet_name)
    audit_record(
        account=file.account,
        actor=request.auth.actor,
        action="file.download",
        target=file,
        request=request,
        detail={"facet": facet.name, "format": "fhir+json"},
    )
    skeleton = binary_skeleton(file, facet).model_dump(mode="json", exclude_none=True)
    head = json.dumps(skeleton, separators=(",", ":"))[:-1]  # the object, without its "}"

    def body():
        yield (head + ',"data":"').encode()
        for chunk in rechunk(
            stored_bytes(facet.storage_key, 0, facet.size, chunk_size=BINARY_CHUNK)
        ):
            yield base64.b64encode(chunk)
        yield b'"}'

    response = StreamingHttpResponse(body(), content_type=f"{FHIR_JSON}; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["ETag"] = f'"{facet.sha256}-fhir"'
    return response


def rechunk(chunks, size: int = BINARY_CHUNK):
    """Chunks of exactly ``size`` bytes (the last may be shorter), whatever the storage
    yields, so each encodes to Base64 without padding in the middle of the stream."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        while len(pending) >= size:
            yield pending[:size]
            pending = pending[size:]
    if pending:
        yield pending


@fhir_endpoint
def unsupported(request, rest: str = ""):
    supported = ", ".join(registry.RESOURCES)
    raise FhirError(
        404,
        "not-supported",
        f"'{rest or '/'}' is not supported by this FHIR server; it serves {supported} "
        "(read and search) and metadata.",
    )
