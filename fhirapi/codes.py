"""The identifier systems and code systems the portal's FHIR resources carry.

Fixed URIs of the portal's own, the same on every installation and whatever address it
answers at: a record system stores them beside each id it keeps, so a system built
from the public address would change every stored identifier when the portal moved.
The host is ``clinic-file-portal.invalid``: a name under ``.invalid`` (RFC 2606) is
never anyone's, so these systems cannot collide with another issuer's. The values are
what tells two portals' resources apart: ids are UUIDs, patient numbers are per clinic.

Systems built from the public address before (``<base>/fhir/sid/patient-id``...) are
still accepted in searches (``legacy_system_matches``). One place for all of them, so the
resources, the search parameters and the CapabilityStatement cannot disagree.
"""

from __future__ import annotations

from urllib.parse import urlsplit

FHIR_VERSION = "4.0.1"
FHIR_JSON = "application/fhir+json"

SYSTEM_BASE = "https://clinic-file-portal.invalid/fhir"

PATIENT_ID_SYSTEM = f"{SYSTEM_BASE}/sid/patient-id"
PATIENT_NUMBER_SYSTEM = f"{SYSTEM_BASE}/sid/patient-number"
# The NHS's own system for the NHS number (UK Core), not the portal's: GP systems search by it.
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
# A file's id: X-on's ``id`` and the DocumentReference's own id.
FILE_ID_SYSTEM = f"{SYSTEM_BASE}/sid/file-id"
# An attachment's id: what Cliniko's and Claros's doors answered as ``id``.
ATTACHMENT_ID_SYSTEM = f"{SYSTEM_BASE}/sid/attachment-id"
FILE_REQUEST_ID_SYSTEM = f"{SYSTEM_BASE}/sid/file-request-id"
KIND_SYSTEM = f"{SYSTEM_BASE}/CodeSystem/file-kind"
DOCUMENT_CLASS_SYSTEM = f"{SYSTEM_BASE}/CodeSystem/document-class"
SOURCE_SYSTEM = f"{SYSTEM_BASE}/CodeSystem/file-source"
PATIENT_TAG_SYSTEM = f"{SYSTEM_BASE}/CodeSystem/patient-tag"
THUMBNAIL_EXTENSION = f"{SYSTEM_BASE}/StructureDefinition/thumbnail"

LOINC = "http://loinc.org"
# LOINC's document code for a photograph (class DOC.ONTOLOGY, scale Doc).
LOINC_PHOTOGRAPHIC_IMAGE = {
    "system": LOINC,
    "code": "72170-4",
    "display": "Photographic image",
}
# FHIR's tag for a resource answered with some of its elements left out (_summary, _elements).
SUBSETTED_TAG = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "subsetted",
}

# What a file is, from the type detected from its bytes (DocumentReference.type, beside LOINC).
KIND_PHOTO = "photo"
KIND_DOCUMENT = "document"
KIND_DISPLAY = {KIND_PHOTO: "Photo", KIND_DOCUMENT: "Document"}

# The class of document (DocumentReference.category).
CLASS_PHOTOGRAPH = "clinical-photograph"
CLASS_DOCUMENT = "clinical-document"
CLASS_DISPLAY = {CLASS_PHOTOGRAPH: "Clinical photograph", CLASS_DOCUMENT: "Clinical document"}
CLASS_OF_KIND = {KIND_PHOTO: CLASS_PHOTOGRAPH, KIND_DOCUMENT: CLASS_DOCUMENT}

# Which door a file came through (a meta.tag of the DocumentReference): the record's own
# vocabulary (``files.models.File.Source``), so the dashboard and FHIR name doors alike.


def legacy_system_matches(system: str, current: str) -> bool:
    """Whether ``system`` is ``current`` as it was built before from a public address:
    ``http(s)://<any host>[/<prefix>]/fhir/sid/patient-id`` for ``current``'s
    ``/fhir/sid/patient-id``. The address of before is not known (the portal may have
    moved since), so any host is accepted; the value must still match. Only the portal's
    own systems had such forms (the NHS number's system is the NHS's, never another's)."""
    if not current.startswith(SYSTEM_BASE):
        return False
    if not system.startswith(("http://", "https://")) or system == current:
        return False
    suffix = urlsplit(current).path
    parts = urlsplit(system)
    return bool(parts.netloc) and (parts.path == suffix or parts.path.endswith(suffix))


def system_matches(system: str | None, current: str) -> bool:
    """No system (any), the system, or its form of before (``legacy_system_matches``)."""
    return system is None or system == current or legacy_system_matches(system, current)
