"""What the FHIR door supports, in one table: resources, interactions, search
parameters, sort keys and includes. The views search with these definitions and the
CapabilityStatement is generated from them, so the two cannot disagree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
from django.conf import settings
from django.db.models import Q
from fhir.resources.R4B.binary import Binary
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.patient import Patient as FhirPatient

from fhirapi import codes
from fhirapi.search import (
    SearchParameter,
    date_condition,
    invalid,
    reference_id,
    string_condition,
    token_parts,
)
from files.models import File
from portal.ids import parse_uuid
from portal.patients.nhs_number import NhsNumberError, nhs_number_parse
from portal.patients.selectors import patient_number_of

NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class ResourceDefinition:
    """``sorts`` maps each ``_sort`` key to the field it orders by; ``default_sort`` is
    the field a search without ``_sort`` pages by (the id breaks ties in both)."""

    type: str
    model: type
    documentation: str
    interactions: tuple[str, ...]
    parameters: dict[str, SearchParameter] = field(default_factory=dict)
    includes: tuple[str, ...] = ()
    sorts: dict[str, str] = field(default_factory=dict)
    default_sort: str = ""


# --- identifiers ---------------------------------------------------------------------


@dataclass(frozen=True)
class IdentifierSystem:
    """One identifier system a resource carries, and the condition its value selects by."""

    system: str
    condition: Callable[[str], Q]


def identifier_condition(*systems: IdentifierSystem):
    """A ``narrow`` for ``identifier``: ``system|value`` selects by that system (or its form
    of before, ``codes.system_matches``), a bare value by any of them; a system the
    resource does not carry, or ``|value`` (no system), selects nothing."""

    def narrow(value: str, modifier: str) -> Q:
        system, code = token_parts(value)
        combined = NOTHING
        for known in systems:
            if codes.system_matches(system, known.system):
                combined |= known.condition(code)
        return combined

    return narrow


def uuid_condition(lookup: str) -> Callable[[str], Q]:
    def condition(value: str) -> Q:
        parsed = parse_uuid(value)
        return Q(**{lookup: parsed}) if parsed else NOTHING

    return condition


def patient_number_condition(value: str) -> Q:
    number = patient_number_of(value)
    return Q(number=number) if number else NOTHING


def nhs_number_condition(value: str) -> Q:
    """The ten digits, written with or without spaces or hyphens; anything that is no
    NHS number selects nothing."""
    try:
        return Q(nhs_number=nhs_number_parse(value))
    except NhsNumberError:
        return NOTHING


# The identifiers a Patient carries, in resources.patient_resource's order.
PATIENT_IDENTIFIERS = (
    IdentifierSystem(codes.PATIENT_ID_SYSTEM, uuid_condition("pk")),
    IdentifierSystem(codes.PATIENT_NUMBER_SYSTEM, patient_number_condition),
    IdentifierSystem(codes.NHS_NUMBER_SYSTEM, nhs_number_condition),
)

# The identifiers a DocumentReference carries: the file's id (X-on's answer) and, for a
# file in the record as an attachment, the attachment's id (Cliniko's and Claros's).
DOCUMENT_IDENTIFIERS = (
    IdentifierSystem(codes.FILE_ID_SYSTEM, uuid_condition("pk")),
    IdentifierSystem(codes.ATTACHMENT_ID_SYSTEM, uuid_condition("patient_attachment__pk")),
)


def id_condition(value: str, modifier: str) -> Q:
    return uuid_condition("pk")(value)


# --- Patient -------------------------------------------------------------------------------


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


GENDER_SYSTEM = "http://hl7.org/fhir/administrative-gender"
GENDERS = ("male", "female", "other", "unknown")


def gender_condition(value: str, modifier: str) -> Q:
    """The portal records no gender, so no patient has one to match: every code answers
    nothing (as FHIR answers a resource without the element), never every patient."""
    system, code = token_parts(value)
    if system not in (None, GENDER_SYSTEM) or code not in GENDERS:
        raise invalid(
            f"'{value[:80]}' is not an administrative gender: gender is one of "
            + ", ".join(GENDERS)
            + f" (system {GENDER_SYSTEM})."
        )
    return NOTHING


PATIENT = ResourceDefinition(
    type="Patient",
    model=FhirPatient,
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
                "The portal's patient id, the patient's number in the clinic, or the NHS "
                f"number (system {codes.NHS_NUMBER_SYSTEM}), with or without its system "
                "(the systems of before, built from the portal's address, are accepted "
                "too).",
                identifier_condition(*PATIENT_IDENTIFIERS),
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
                string_condition("first_name", "last_name"),
                modifiers=("exact", "contains"),
            ),
            SearchParameter(
                "family",
                "string",
                "The start of the family name (:exact, :contains).",
                string_condition("last_name"),
                modifiers=("exact", "contains"),
            ),
            SearchParameter(
                "given",
                "string",
                "The start of the given name (:exact, :contains).",
                string_condition("first_name"),
                modifiers=("exact", "contains"),
            ),
            SearchParameter(
                "gender",
                "token",
                "male, female, other or unknown. The portal records no gender, so every "
                "code matches no patient.",
                gender_condition,
            ),
        )
    },
    sorts={
        "_lastUpdated": "updated_at",
        "_id": "id",
        "birthdate": "date_of_birth",
        "family": "last_name",
        "given": "first_name",
    },
    default_sort="created_at",
)


# --- DocumentReference ------------------------------------------------------------------


def patient_reference_condition(value: str, modifier: str) -> Q:
    if modifier not in ("", "Patient"):
        return NOTHING
    parsed = parse_uuid(reference_id(value, "Patient"))
    return Q(patient_id=parsed) if parsed else NOTHING


PHOTO = Q(mime_type__startswith="image/")


def kind_condition(value: str, modifier: str) -> Q:
    """``photo``/``document`` (the portal's kinds), or LOINC's Photographic image."""
    system, code = token_parts(value)
    if system in (None, codes.LOINC) and code == codes.LOINC_PHOTOGRAPHIC_IMAGE["code"]:
        return PHOTO
    if not codes.system_matches(system, codes.KIND_SYSTEM):
        return NOTHING
    if code == codes.KIND_PHOTO:
        return PHOTO
    if code == codes.KIND_DOCUMENT:
        return ~PHOTO
    return NOTHING


def door_condition(value: str, modifier: str) -> Q:
    system, code = token_parts(value)
    if not codes.system_matches(system, codes.SOURCE_SYSTEM) or code not in File.Source.values:
        return NOTHING
    return Q(source=code)


def category_condition(value: str, modifier: str) -> Q:
    """The document class; a door's code (how category was filled before) still selects
    that door's documents, so existing searches answer as they did."""
    system, code = token_parts(value)
    if codes.system_matches(system, codes.DOCUMENT_CLASS_SYSTEM):
        if code == codes.CLASS_PHOTOGRAPH:
            return PHOTO
        if code == codes.CLASS_DOCUMENT:
            return ~PHOTO
    return door_condition(value, modifier)


DOCUMENT_REFERENCE = ResourceDefinition(
    type="DocumentReference",
    model=DocumentReference,
    documentation="A ready file in a patient's record, whatever door it came through; "
    "content[0] is the file (its only content); a photo's thumbnail is named by the "
    f"extension {codes.THUMBNAIL_EXTENSION} on that attachment.",
    interactions=("read", "search-type"),
    parameters={
        p.name: p
        for p in (
            SearchParameter("_id", "token", "The file's id.", id_condition),
            SearchParameter(
                "_lastUpdated",
                "date",
                "When the file became ready (meta.lastUpdated, to the microsecond): poll "
                "with gt<the newest meta.lastUpdated seen>.",
                date_condition("last_updated"),
            ),
            SearchParameter(
                "identifier",
                "token",
                "The file's id (what X-on's door answered) or its attachment's id (what "
                "Cliniko's and Claros's doors answered), with or without its system.",
                identifier_condition(*DOCUMENT_IDENTIFIERS),
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
            SearchParameter(
                "type",
                "token",
                "photo or document; or LOINC 72170-4 (Photographic image).",
                kind_condition,
            ),
            SearchParameter(
                "category",
                "token",
                "The document class: clinical-photograph or clinical-document (a door's "
                "code, as category carried before, is still accepted).",
                category_condition,
            ),
            SearchParameter(
                "_tag",
                "token",
                "The door it came through: request, xon, cliniko, claros, medable, dashboard.",
                door_condition,
            ),
        )
    },
    includes=("DocumentReference:subject", "DocumentReference:patient"),
    sorts={"_lastUpdated": "last_updated", "date": "created_at", "_id": "id"},
    default_sort="last_updated",
)

BINARY = ResourceDefinition(
    type="Binary",
    model=Binary,
    documentation="A file's bytes (Accept anything but FHIR JSON), or the Binary resource "
    "with the bytes in Base64 (Accept: application/fhir+json). <id>-thumbnail is the "
    "thumbnail.",
    interactions=("read",),
)

RESOURCES = {definition.type: definition for definition in (PATIENT, DOCUMENT_REFERENCE, BINARY)}
