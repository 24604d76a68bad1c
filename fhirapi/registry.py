"""What the FHIR door supports, in one table: resources, interactions, search
parameters and includes. The views search with these definitions and the
CapabilityStatement is generated from them, so the two cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass, field

import phonenumbers
from django.conf import settings
from django.db.models import Q

from fhirapi import codes
from fhirapi.search import SearchParameter, date_condition, reference_id, token_parts
from portal.ids import parse_uuid
from portal.patients.selectors import patient_number_of

NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class ResourceDefinition:
    type: str
    documentation: str
    interactions: tuple[str, ...]
    parameters: dict[str, SearchParameter] = field(default_factory=dict)
    includes: tuple[str, ...] = ()


def id_condition(value: str, modifier: str) -> Q:
    parsed = parse_uuid(value)
    return Q(pk=parsed) if parsed else NOTHING


def patient_identifier_condition(value: str, modifier: str) -> Q:
    """The patient's UUID or their number within the clinic, with or without a system."""
    system, code = token_parts(value)
    if system == codes.patient_number_system():
        number = patient_number_of(code)
        return Q(number=number) if number else NOTHING
    if system is not None and system != codes.patient_id_system():
        return NOTHING
    if system is None and patient_number_of(code):
        return Q(number=patient_number_of(code))
    return id_condition(code, modifier)


def e164(text: str) -> str | None:
    """The number in E.164, read as the clinic's staff would write it (national or
    international). Possible rather than valid: a stored number is matched as stored."""
    try:
        number = phonenumbers.parse(text, settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_condition(value: str, modifier: str) -> Q:
    system, code = token_parts(value)
    if system not in (None, "phone"):
        return NOTHING
    number = e164(code)
    return Q(mobile=number) if number else NOTHING


def name_condition(value: str, modifier: str) -> Q:
    if modifier == "exact":
        return Q(first_name=value) | Q(last_name=value)
    lookup = "icontains" if modifier == "contains" else "istartswith"
    return Q(**{f"first_name__{lookup}": value}) | Q(**{f"last_name__{lookup}": value})


def patient_reference_condition(value: str, modifier: str) -> Q:
    if modifier not in ("", "Patient"):
        return NOTHING
    parsed = parse_uuid(reference_id(value, "Patient"))
    return Q(patient_id=parsed) if parsed else NOTHING


def kind_condition(value: str, modifier: str) -> Q:
    system, code = token_parts(value)
    if system is not None and system != codes.kind_system():
        return NOTHING
    if code == codes.KIND_PHOTO:
        return Q(mime_type__startswith="image/")
    if code == codes.KIND_DOCUMENT:
        return ~Q(mime_type__startswith="image/")
    return NOTHING


def source_condition(value: str, modifier: str) -> Q:
    system, code = token_parts(value)
    if system is not None and system != codes.source_system():
        return NOTHING
    return Q(source=code)


PATIENT = ResourceDefinition(
    type="Patient",
    documentation="A patient of the clinic, shell patients (known by mobile and date of "
    "birth only) included.",
    interactions=("read", "search-type"),
    parameters={
        p.name: p
        for p in (
            SearchParameter("_id", "token", "The patient's id.", id_condition),
            SearchParameter(
                "_lastUpdated",
                "date",
                "When the patient's details last changed.",
                date_condition("updated_at"),
            ),
            SearchParameter(
                "identifier",
                "token",
                "The portal's patient id, or the patient's number in the clinic, with or "
                "without its system.",
                patient_identifier_condition,
            ),
            SearchParameter(
                "phone",
                "token",
                "The mobile number, E.164 or as written in the clinic's region.",
                phone_condition,
            ),
            SearchParameter(
                "telecom", "token", "The mobile number (system phone).", phone_condition
            ),
            SearchParameter(
                "birthdate",
                "date",
                "The date of birth.",
                date_condition("date_of_birth", is_date_only=True),
            ),
            SearchParameter(
                "name",
                "string",
                "The start of the given or family name (:exact, :contains).",
                name_condition,
                modifiers=("exact", "contains"),
            ),
        )
    },
)

DOCUMENT_REFERENCE = ResourceDefinition(
    type="DocumentReference",
    documentation="A ready file in a patient's record, whatever door it came through; "
    "content[0] is the file, content[1] its thumbnail where it has one.",
    interactions=("read", "search-type"),
    parameters={
        p.name: p
        for p in (
            SearchParameter("_id", "token", "The file's id.", id_condition),
            SearchParameter(
                "_lastUpdated",
                "date",
                "When the file became ready: poll with gt<last time seen>.",
                date_condition("processed_at"),
            ),
            SearchParameter(
                "patient", "reference", "The patient (Patient/<id>).", patient_reference_condition
            ),
            SearchParameter(
                "subject",
                "reference",
                "The patient (Patient/<id>).",
                patient_reference_condition,
                modifiers=("Patient",),
            ),
            SearchParameter(
                "date", "date", "When the file was uploaded.", date_condition("created_at")
            ),
            SearchParameter("type", "token", "photo or document.", kind_condition),
            SearchParameter(
                "category",
                "token",
                "The door it came through: request, xon, cliniko, claros, medable, dashboard.",
                source_condition,
            ),
        )
    },
    includes=("DocumentReference:subject", "DocumentReference:patient"),
)

BINARY = ResourceDefinition(
    type="Binary",
    documentation="A file's bytes (Accept anything but FHIR JSON), or the Binary resource "
    "with the bytes in Base64 (Accept: application/fhir+json). <id>-thumbnail is the "
    "thumbnail.",
    interactions=("read",),
)

RESOURCES = {definition.type: definition for definition in (PATIENT, DOCUMENT_REFERENCE, BINARY)}
