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
from django.http import HttpResponse
from django.urls import reverse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import AuthenticationFailed

from fhirapi import registry, search
from fhirapi.capability import capability_statement
from fhirapi.codes import FHIR_JSON
from fhirapi.outcomes import FhirError, not_found
from fhirapi.rendering import (
    fhir_response,
    outcome_response,
    read_response,
    requested_format,
    with_last_modified,
)
from fhirapi.resources import (
    THUMBNAIL_SUFFIX,
    binary_skeleton,
    document_last_updated,
    document_reference_resource,
    element_names,
    patient_resource,
    searchset_bundle,
    subset,
)
from fhirapi.selectors import fhir_document_files, fhir_file_get, fhir_patients
from files.models import Facet, File
from files.serving import respond
from files.serving.respond import Refusal
from portal.accounts.services import api_key_authenticate
from portal.api.authentication import key_from_request
from portal.api.caller import Caller
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


def fhir_endpoint(view=None, *, public: bool = False, negotiates: bool = False):
    """Authenticated first (401 for anything without a live key), read only, JSON only
    (406 for another format), every refusal an OperationOutcome. ``public`` for the one
    route a client reads before it holds a key: it reads no credentials at all, so it
    answers everyone alike. ``negotiates`` for a view that judges the format itself."""
    if view is None:
        return functools.partial(fhir_endpoint, public=public, negotiates=negotiates)

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
            if not negotiates:
                requested_format(request)
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


def search_response(request, *, definition, queryset, build):
    """One page of a search, in its order, by cursor (``search.page_select``), with the
    links to the first, next and previous pages and the total of matches."""
    elements = element_names(definition.model)
    parsed = search.search_request_parse(
        query_lists(request),
        parameters=definition.parameters,
        includes=definition.includes,
        lenient=lenient_handling(request),
        sorts=definition.sorts,
        element_names=elements,
    )
    matching = search.apply(queryset, parsed)
    total = matching.count()
    field_name = definition.sorts.get(parsed.sort.removeprefix("-"), definition.default_sort)
    scope = f"{definition.type}:{request.auth.account.pk}"
    if parsed.summary_count or parsed.count == 0:
        if parsed.cursor:
            search.cursor_read(parsed.cursor, sort=parsed.sort, scope=scope)
        page = search.Page(rows=[], more_after=False, more_before=False)
    else:
        page = search.page_select(matching, parsed, field_name=field_name, scope=scope)
    base_url = base_url_of(request)

    def link(*extra) -> str:
        query = [*parsed.used, ("_count", str(parsed.count)), *extra]
        return f"{base_url}{definition.type}?{urlencode(query)}"

    def cursor(row, *, before: bool = False) -> tuple[str, str]:
        made = search.cursor_make(
            row, field_name=field_name, sort=parsed.sort, scope=scope, before=before
        )
        return ("_cursor", made)

    here = (
        [("_cursor", parsed.cursor)]
        if parsed.cursor
        else [("_offset", str(parsed.offset))]
        if parsed.offset
        else []
    )
    links = [{"relation": "self", "url": link(*here)}, {"relation": "first", "url": link()}]
    if page.rows and page.more_after:
        links.append({"relation": "next", "url": link(cursor(page.rows[-1]))})
    if page.rows and page.more_before:
        links.append({"relation": "previous", "url": link(cursor(page.rows[0], before=True))})
    matches = [
        subset(
            build(item, base_url).model_dump(mode="json", exclude_none=True),
            model=definition.model,
            summary=parsed.summary,
            elements=parsed.elements,
        )
        for item in page.rows
    ]
    included = []
    if parsed.includes and page.rows:
        patients = {item.patient_id: item.patient for item in page.rows}
        included = [patient_resource(patient) for patient in patients.values()]
    bundle = searchset_bundle(
        matches=matches, includes=included, total=total, links=links, base_url=base_url
    )
    return fhir_response(bundle.model_dump(mode="json", exclude_none=True))


def read_shaped(request, resource, *, definition, last_updated):
    """A read, shaped by ``_summary`` or ``_elements`` where asked, with its validators."""
    query = query_lists(request)
    summary = (query.get("_summary") or [""])[-1]
    if summary and summary not in search.SUMMARY_MODES:
        raise search.invalid(f"_summary={summary[:40]} is not a summary mode.")
    elements = []
    for raw in query.get("_elements", []):
        elements += search.elements_parse(raw, element_names(definition.model))
    body = subset(
        resource.model_dump(mode="json", exclude_none=True),
        model=definition.model,
        summary=summary,
        elements=elements,
    )
    return read_response(request, body, last_updated=last_updated)


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
    return read_shaped(
        request,
        patient_resource(patient),
        definition=registry.PATIENT,
        last_updated=patient.updated_at,
    )


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
    refused = respond.refusal(file)
    if refused is Refusal.GONE:
        raise FhirError(
            410, "deleted", f"{resource_type}/{resource_id} has expired and is no longer available."
        )
    attachment = getattr(file, "patient_attachment", None)
    if attachment is not None and attachment.archived_at is not None:
        # Searches leave archived documents out; a read says why rather than serving it.
        raise FhirError(
            410,
            "deleted",
            f"{resource_type}/{resource_id} was archived from the patient's record on "
            f"{attachment.archived_at.date().isoformat()} and is no longer available.",
        )
    if refused is Refusal.NOT_READY:
        raise FhirError(
            404,
            "not-found",
            f"{resource_type}/{resource_id} is still being checked; it appears once ready.",
            headers={"Retry-After": "5"},
        )
    if refused is Refusal.REJECTED:
        raise not_found(resource_type, resource_id)
    return file


@fhir_endpoint
def document_reference_read(request, resource_id: str):
    file = servable_file(request, "DocumentReference", resource_id, resource_id)
    return read_shaped(
        request,
        document_reference_resource(file, base_url=base_url_of(request)),
        definition=registry.DOCUMENT_REFERENCE,
        last_updated=document_last_updated(file),
    )


@fhir_endpoint(negotiates=True)
def binary_read(request, resource_id: str):
    """The bytes as they are (with the same headers, audit, Range and expiry as every
    download), or, for ``Accept: application/fhir+json``, the Binary resource with
    the bytes in Base64, streamed rather than built whole. Another FHIR format (XML,
    Turtle) is 406."""
    wanted = requested_format(request, raw_allowed=True)
    file_id, facet_name = resource_id, Facet.CONTENT
    if resource_id.endswith(THUMBNAIL_SUFFIX):
        file_id, facet_name = resource_id[: -len(THUMBNAIL_SUFFIX)], Facet.THUMBNAIL
    file = servable_file(request, "Binary", resource_id, file_id)
    facet = next((f for f in file.served_facets if f.name == facet_name), None)
    if facet is None:
        raise not_found("Binary", resource_id)
    last_modified = http_date(document_last_updated(file).timestamp())
    if wanted == "raw":
        response = respond.serve(request, file=file, actor=request.auth.actor, facet=facet)
        response = readable_or_outcome(response, resource_id)
        response["Last-Modified"] = last_modified
        return response
    skeleton = binary_skeleton(file, facet).model_dump(mode="json", exclude_none=True)
    validators = HttpResponse()
    validators["ETag"] = f'W/"{skeleton["meta"]["versionId"]}"'
    checked = with_last_modified(request, validators, last_updated=document_last_updated(file))
    if checked.status_code == 304:
        return checked
    head = json.dumps(skeleton, separators=(",", ":"))[:-1]  # the object, without its "}"

    def wrap(stored):
        yield (head + ',"data":"').encode()
        for chunk in rechunk(stored):
            yield base64.b64encode(chunk)
        yield b'"}'

    envelope = respond.Envelope(
        content_type=f"{FHIR_JSON}; charset=utf-8",
        etag=validators["ETag"],
        wrap=wrap,
        format="fhir+json",
    )
    response = respond.serve(
        request, file=file, actor=request.auth.actor, facet=facet, envelope=envelope
    )
    response = readable_or_outcome(response, resource_id)
    response["Last-Modified"] = last_modified
    return response


def readable_or_outcome(response, resource_id: str):
    """``response``, unless the serving function found the stored bytes unreadable (410
    when they are gone, 503 when the store does not answer): that, as the OperationOutcome a
    record system reads rather than the vendor APIs' JSON error."""
    if response.status_code == 410:
        raise FhirError(
            410,
            "deleted",
            f"Binary/{resource_id}'s stored bytes are missing, so it cannot be sent. Ask the "
            "clinic to upload it again.",
        )
    if response.status_code == 503:
        raise FhirError(
            503,
            "transient",
            "The file store is not answering; try again shortly.",
            headers={"Retry-After": response["Retry-After"]},
        )
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
