"""The identifier systems and code systems the portal's FHIR resources carry.

They are namespaced by the installation's public address, as FHIR asks of an
issuer's own identifiers: two portals never hand out the same system. One place
for them, so the resources, the search parameters and the CapabilityStatement
cannot disagree.
"""

from __future__ import annotations

from django.conf import settings

FHIR_VERSION = "4.0.1"
FHIR_JSON = "application/fhir+json"

# What a file is, from the purpose its door gave it (DocumentReference.type).
KIND_PHOTO = "photo"
KIND_DOCUMENT = "document"
KIND_DISPLAY = {KIND_PHOTO: "Photo", KIND_DOCUMENT: "Document"}

# Which door a file came through (DocumentReference.category): the record's own
# vocabulary (``attachments.selectors.FileSource``), so the dashboard and FHIR name doors alike.


def system_base() -> str:
    return settings.PORTAL_PUBLIC_BASE_URL.rstrip("/") + "/fhir"


def patient_id_system() -> str:
    return f"{system_base()}/sid/patient-id"


def patient_number_system() -> str:
    return f"{system_base()}/sid/patient-number"


def file_id_system() -> str:
    return f"{system_base()}/sid/file-id"


def file_request_id_system() -> str:
    return f"{system_base()}/sid/file-request-id"


def kind_system() -> str:
    return f"{system_base()}/CodeSystem/file-kind"


def source_system() -> str:
    return f"{system_base()}/CodeSystem/file-source"


def shell_patient_tag_system() -> str:
    return f"{system_base()}/CodeSystem/patient-tag"
