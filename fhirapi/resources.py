"""The portal's records as FHIR R4 resources, built with fhir.resources' models.

Every resource is validated by the model library as it is built (types,
cardinalities, code and date formats), so the door cannot answer a resource a
strict client would refuse. fhir.resources ships R4B (4.3.0), which for Patient,
DocumentReference, Binary, Bundle, OperationOutcome and CapabilityStatement is
R4 (4.0.1) element for element; the FHIR clients in the tests parse with R4 models.
"""

from __future__ import annotations

import datetime as dt

from fhir.resources.R4B.binary import Binary
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.patient import Patient as FhirPatient

from attachments.selectors import FileSource
from fhirapi import codes
from fhirapi.hashes import facet_sha1_base64
from files.models import Facet, File
from portal.patients.models import Patient

THUMBNAIL_SUFFIX = "-thumbnail"


def instant(moment: dt.datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds") if moment else None


def patient_resource(patient: Patient) -> FhirPatient:
    data: dict = {
        "id": str(patient.pk),
        "meta": {"lastUpdated": instant(patient.updated_at)},
        "identifier": [
            {"use": "usual", "system": codes.patient_id_system(), "value": str(patient.pk)},
            {
                "use": "secondary",
                "system": codes.patient_number_system(),
                "value": str(patient.number),
            },
        ],
        "active": True,
        "birthDate": patient.date_of_birth.isoformat(),
    }
    if patient.is_shell:
        data["meta"]["tag"] = [
            {
                "system": codes.shell_patient_tag_system(),
                "code": "shell",
                "display": "Shell patient: known only by mobile number and date of birth",
            }
        ]
    if patient.first_name or patient.last_name:
        name: dict = {"use": "official", "text": patient.full_name}
        if patient.last_name:
            name["family"] = patient.last_name
        if patient.first_name:
            name["given"] = [patient.first_name]
        data["name"] = [name]
    if patient.mobile:
        data["telecom"] = [{"system": "phone", "value": patient.mobile.as_e164, "use": "mobile"}]
    return FhirPatient(**data)


def file_kind(file: File) -> str:
    """Photo or document, by the type detected from the bytes (as the record files them)."""
    return codes.KIND_PHOTO if file.mime_type.startswith("image/") else codes.KIND_DOCUMENT


def file_author(file: File) -> str | None:
    """The staff member behind a file, where known: who asked for it, or who uploaded it."""
    if file.file_request_id:
        return file.file_request.staff_name or None
    if file.actor_kind == "staff":
        return file.actor_label or None
    return None


def binary_id(file: File, facet_name: str) -> str:
    return str(file.pk) + (THUMBNAIL_SUFFIX if facet_name == Facet.THUMBNAIL else "")


def attachment_for(file: File, facet: Facet, *, base_url: str) -> dict:
    title = file.display_name or "file"
    if facet.name == Facet.THUMBNAIL:
        title = f"Thumbnail of {title}"
    return {
        "contentType": facet.mime_type,
        "url": f"{base_url}Binary/{binary_id(file, facet.name)}",
        "size": facet.size,
        "hash": facet_sha1_base64(facet),
        "title": title,
        "creation": instant(file.created_at),
    }


def document_reference_resource(file: File, *, base_url: str) -> DocumentReference:
    """One ready file as a DocumentReference: its patient, door, note, request and bytes."""
    facets = {facet.name: facet for facet in getattr(file, "served_facets", [])}
    kind = file_kind(file)
    data: dict = {
        "id": str(file.pk),
        "meta": {"lastUpdated": instant(file.processed_at or file.created_at)},
        "identifier": [{"system": codes.file_id_system(), "value": str(file.pk)}],
        "status": "current",
        "type": {
            "coding": [
                {"system": codes.kind_system(), "code": kind, "display": codes.KIND_DISPLAY[kind]}
            ],
            "text": codes.KIND_DISPLAY[kind],
        },
        "category": [
            {
                "coding": [
                    {
                        "system": codes.source_system(),
                        "code": file.source,
                        "display": FileSource.LABELS.get(file.source, file.source),
                    }
                ]
            }
        ],
        "subject": {"reference": f"Patient/{file.patient_id}"},
        "date": instant(file.created_at),
        "content": [
            {"attachment": attachment_for(file, facets[name], base_url=base_url)}
            for name in (Facet.CONTENT, Facet.THUMBNAIL)
            if name in facets
        ],
    }
    author = file_author(file)
    if author:
        data["author"] = [{"display": author}]
    if file.description:
        data["description"] = file.description
    if file.file_request_id:
        request = file.file_request
        data["context"] = {
            "related": [
                {
                    "identifier": {
                        "system": codes.file_request_id_system(),
                        "value": str(request.pk),
                    },
                    "display": f"File request: {request.prompt}" if request.prompt else None,
                }
            ]
        }
    return DocumentReference(**data)


def binary_skeleton(file: File, facet: Facet) -> Binary:
    """The Binary resource without its ``data``, which is streamed (see views)."""
    return Binary(
        id=binary_id(file, facet.name),
        meta={"lastUpdated": instant(file.processed_at or file.created_at)},
        contentType=facet.mime_type,
    )


def searchset_bundle(
    *,
    matches: list,
    includes: list,
    total: int | None,
    links: list[dict],
    base_url: str,
) -> Bundle:
    entries = [
        {
            "fullUrl": f"{base_url}{resource.__resource_type__}/{resource.id}",
            "resource": resource,
            "search": {"mode": mode},
        }
        for mode, resources in (("match", matches), ("include", includes))
        for resource in resources
    ]
    return Bundle(
        type="searchset",
        total=total,
        link=links,
        entry=entries or None,
        meta={"lastUpdated": instant(dt.datetime.now(dt.UTC))},
    )
