"""``GET /fhir/R4/metadata``: the CapabilityStatement, generated from ``registry``.

Served without credentials (a client reads it to learn how to authenticate), so it
holds nothing of any clinic: the same statement for every caller."""

from __future__ import annotations

from django.conf import settings
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from fhirapi.codes import FHIR_JSON, FHIR_VERSION
from fhirapi.registry import RESOURCES
from fhirapi.search import MAX_VALUE_LENGTH, MAX_VALUES

PUBLISHED = "2026-11-30"
SECURITY_SERVICE_SYSTEM = "http://terminology.hl7.org/CodeSystem/restful-security-service"


def capability_statement(*, base_url: str) -> CapabilityStatement:
    resources = []
    for definition in RESOURCES.values():
        entry: dict = {
            "type": definition.type,
            "documentation": definition.documentation,
            "interaction": [{"code": code} for code in definition.interactions],
            "versioning": "versioned",
            "readHistory": False,
            "updateCreate": False,
            "conditionalCreate": False,
            "conditionalRead": "full-support",
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
        }
        if definition.parameters:
            entry["searchParam"] = [
                {"name": p.name, "type": p.type, "documentation": p.documentation}
                for p in definition.parameters.values()
            ]
        if definition.includes:
            entry["searchInclude"] = list(definition.includes)
        resources.append(entry)
    return CapabilityStatement(
        status="active",
        date=PUBLISHED,
        publisher="Clinic File Portal",
        kind="instance",
        software={"name": "Clinic File Portal", "version": "1.0.0"},
        implementation={
            "description": f"Read-only FHIR R4 door of {settings.PORTAL_PUBLIC_BASE_URL}",
            "url": base_url.rstrip("/"),
        },
        fhirVersion=FHIR_VERSION,
        format=["json", FHIR_JSON],
        rest=[
            {
                "mode": "server",
                "documentation": "Read and search only, JSON only (any other format, "
                "_format=xml or Accept: application/fhir+xml, is 406). Pages of _count (at "
                "most 100) follow the next link, whose _cursor carries the last sort key: "
                "documents that come or go while a client pages cost it none other. _sort by "
                "one key (the resource's sort keys, - first for descending), _summary "
                "(true, false, text, data, count) and _elements are supported; _revinclude is "
                f"refused. At most {MAX_VALUES} values of one search parameter, each at most "
                f"{MAX_VALUE_LENGTH} characters. A search parameter the server does not "
                "support is refused (400); with Prefer: handling=lenient an unknown name is "
                "ignored instead (the self link says what was used), but never a chain, a "
                "modifier or _has, which would widen the answer. Every read carries ETag "
                '(W/"<meta.versionId>") and Last-Modified, and answers 304 to a matching '
                "If-None-Match or If-Modified-Since.",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": SECURITY_SERVICE_SYSTEM,
                                    "code": "Basic",
                                    "display": "Basic",
                                }
                            ],
                            "text": "A clinic's API key",
                        }
                    ],
                    "description": "Every request but this one needs an API key of the "
                    "clinic, sent in any of three ways: X-API-Key: <key>, "
                    "Authorization: Bearer <key>, or HTTP Basic with the key as user name "
                    "and no password. Every resource belongs to the key's clinic; "
                    "another clinic's answers 404. A missing, unknown or revoked key "
                    "answers 401.",
                },
                "resource": resources,
            }
        ],
    )
