"""The portal's records as FHIR R4 resources, built with fhir.resources' models.

Every resource is validated by the model library as it is built (types,
cardinalities, code and date formats), so the door cannot answer a resource a
strict client would refuse. fhir.resources ships R4B (4.3.0), which for Patient,
DocumentReference, Binary, Bundle, OperationOutcome and CapabilityStatement is
R4 (4.0.1) element for element; the FHIR clients in the tests parse with R4 models.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from fhir.resources.R4B.binary import Binary
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.patient import Patient as FhirPatient

from fhirapi import codes
from fhirapi.hashes import facet_sha1_base64
from files.body_sites import BODY_SITE_BY_CODE, SIDE_BY_KEY, SNOMED_SYSTEM
from files.models import Facet, File
from portal.patients.models import Patient

THUMBNAIL_SUFFIX = "-thumbnail"


def instant(moment: dt.datetime | None) -> str | None:
    """An instant to the microsecond, as stored: ``_lastUpdated`` compares at the same
    precision, so ``gt<a meta.lastUpdated>`` answers exactly what changed after it."""
    return moment.isoformat(timespec="microseconds") if moment else None


def versioned(data: dict) -> dict:
    """``data`` with ``meta.versionId``: a digest of everything else it says, so the
    version changes whenever the resource does (and the ETag with it)."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode())
    data["meta"] = {"versionId": digest.hexdigest()[:16], **data.get("meta", {})}
    return data


def patient_resource(patient: Patient) -> FhirPatient:
    data: dict = {
        "id": str(patient.pk),
        "meta": {"lastUpdated": instant(patient.updated_at)},
        "identifier": [
            {"use": "usual", "system": codes.PATIENT_ID_SYSTEM, "value": str(patient.pk)},
            {
                "use": "secondary",
                "system": codes.PATIENT_NUMBER_SYSTEM,
                "value": str(patient.number),
            },
        ],
        "active": True,
        "birthDate": patient.date_of_birth.isoformat(),
    }
    if patient.nhs_number:
        data["identifier"].append(
            {"use": "official", "system": codes.NHS_NUMBER_SYSTEM, "value": patient.nhs_number}
        )
    if patient.is_shell:
        data["meta"]["tag"] = [
            {
                "system": codes.PATIENT_TAG_SYSTEM,
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
    return FhirPatient(**versioned(data))


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


def document_identifiers(file: File) -> list[dict]:
    """The file's id (X-on's door answers it), and the attachment's id where the file is
    in the record as one (Cliniko's and Claros's doors answer that)."""
    identifiers = [{"system": codes.FILE_ID_SYSTEM, "value": str(file.pk)}]
    attachment = getattr(file, "patient_attachment", None)
    if attachment is not None:
        identifiers.append({"system": codes.ATTACHMENT_ID_SYSTEM, "value": str(attachment.pk)})
    return identifiers


def document_type(kind: str) -> dict:
    """LOINC's code where one fits (a photograph), the portal's own kind beside it."""
    local = {"system": codes.KIND_SYSTEM, "code": kind, "display": codes.KIND_DISPLAY[kind]}
    coding = [codes.LOINC_PHOTOGRAPHIC_IMAGE, local] if kind == codes.KIND_PHOTO else [local]
    return {"coding": coding, "text": codes.KIND_DISPLAY[kind]}


def document_reference_resource(file: File, *, base_url: str) -> DocumentReference:
    """One ready file as a DocumentReference: its patient, door, note, request and bytes.

    The file is the one ``content`` entry, so a record system importing every entry
    files the document once; a photo's thumbnail is named by an extension on that
    attachment (``codes.THUMBNAIL_EXTENSION``), served as ``Binary/<id>-thumbnail``. The
    door it came through is a ``meta.tag`` (searched with ``_tag``); ``category`` is the
    document class."""
    facets = {facet.name: facet for facet in getattr(file, "served_facets", [])}
    kind = file_kind(file)
    document_class = codes.CLASS_OF_KIND[kind]
    # A door is blank only on a row the previous release inserted during an upgrade.
    door = file.source or "unknown"
    content = attachment_for(file, facets[Facet.CONTENT], base_url=base_url)
    if Facet.THUMBNAIL in facets:
        content["extension"] = [
            {
                "url": codes.THUMBNAIL_EXTENSION,
                "valueAttachment": attachment_for(file, facets[Facet.THUMBNAIL], base_url=base_url),
            }
        ]
    data: dict = {
        "id": str(file.pk),
        "meta": {
            "lastUpdated": instant(document_last_updated(file)),
            "tag": [
                {
                    "system": codes.SOURCE_SYSTEM,
                    "code": door,
                    "display": File.Source(door).label if door in File.Source else "Received",
                }
            ],
        },
        "identifier": document_identifiers(file),
        "status": "current",
        "type": document_type(kind),
        "category": [
            {
                "coding": [
                    {
                        "system": codes.DOCUMENT_CLASS_SYSTEM,
                        "code": document_class,
                        "display": codes.CLASS_DISPLAY[document_class],
                    }
                ]
            }
        ],
        "subject": {"reference": f"Patient/{file.patient_id}"},
        "date": instant(file.created_at),
        "content": [{"attachment": content}],
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
                        "system": codes.FILE_REQUEST_ID_SYSTEM,
                        "value": str(request.pk),
                    },
                    "display": f"File request: {request.prompt}" if request.prompt else None,
                }
            ]
        }
    structure = body_structure(file)
    if structure is not None:
        data["contained"] = [structure]
        data["extension"] = [
            {"url": BODY_SITE_EXTENSION, "valueReference": {"reference": "#bodysite"}}
        ]
    return DocumentReference(**versioned(data))


# R4's core extension for where on the body (Reference(BodyStructure)), usable on any
# element: DocumentReference has no bodySite of its own before R5.
BODY_SITE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/bodySite"


def body_structure(file: File) -> dict | None:
    """A contained BodyStructure for the file's body site: ``location`` its SNOMED CT
    code, ``locationQualifier`` the side; None for a file with no site."""
    site = BODY_SITE_BY_CODE.get(file.body_site_code or "")
    if site is None:
        return None
    structure: dict = {
        "resourceType": "BodyStructure",
        "id": "bodysite",
        "location": {
            "coding": [{"system": SNOMED_SYSTEM, "code": site.code, "display": site.display}],
            "text": file.body_site_label,
        },
        "patient": {"reference": f"Patient/{file.patient_id}"},
    }
    side = SIDE_BY_KEY.get(file.body_site_side or "")
    if side is not None:
        structure["locationQualifier"] = [
            {"coding": [{"system": SNOMED_SYSTEM, "code": side.code, "display": side.display}]}
        ]
    return structure


def document_last_updated(file: File) -> dt.datetime:
    """When the document last changed: when it became ready (the search's ``last_updated``)."""
    return getattr(file, "last_updated", None) or file.processed_at or file.created_at


def binary_skeleton(file: File, facet: Facet) -> Binary:
    """The Binary resource without its ``data``, which is streamed (see views)."""
    return Binary(
        id=binary_id(file, facet.name),
        meta={
            "versionId": facet.sha256[:16] or "1",
            "lastUpdated": instant(document_last_updated(file)),
        },
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
    def as_dict(resource) -> dict:
        if isinstance(resource, dict):
            return resource
        return resource.model_dump(mode="json", exclude_none=True)

    entries = [
        {
            "fullUrl": f"{base_url}{body['resourceType']}/{body['id']}",
            "resource": body,
            "search": {"mode": mode},
        }
        for mode, resources in (("match", matches), ("include", includes))
        for body in map(as_dict, resources)
    ]
    return Bundle(
        type="searchset",
        total=total,
        link=links,
        entry=entries or None,
        meta={"lastUpdated": instant(dt.datetime.now(dt.UTC))},
    )


def subset(resource: dict, *, model, summary: str = "", elements: list[str] | None = None) -> dict:
    """``resource`` as ``_summary`` (true, text) or ``_elements`` ask: the summary (or
    named) top-level elements, with ``id``, ``meta`` and the elements the resource cannot
    be without, and the SUBSETTED tag FHIR asks for. Other summary modes change nothing
    (this server writes no narrative ``text``)."""
    if summary == "true":
        kept = {
            info.alias or name
            for name, info in model.model_fields.items()
            if (info.json_schema_extra or {}).get("summary_element_property")
        }
    elif summary == "text":
        kept = {"text"}
    elif elements:
        kept = set(elements)
    else:
        return resource
    kept |= {"resourceType", "id", "meta"} | mandatory_elements(model)
    shaped = {key: value for key, value in resource.items() if key in kept}
    meta = dict(shaped.get("meta", {}))
    meta["tag"] = [*meta.get("tag", []), codes.SUBSETTED_TAG]
    shaped["meta"] = meta
    return shaped


def mandatory_elements(model) -> set[str]:
    return {
        info.alias or name
        for name, info in model.model_fields.items()
        if info.is_required() or (info.json_schema_extra or {}).get("element_required")
    }


def element_names(model) -> frozenset[str]:
    """The top-level elements ``_elements`` may name."""
    return frozenset(
        info.alias or name
        for name, info in model.model_fields.items()
        if not name.endswith("__ext") and name != "fhir_comments"
    )
