"""``GET /fhir/R4/metadata``: the CapabilityStatement, generated from ``registry``."""

from __future__ import annotations

from django.conf import settings
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from fhirapi.codes import FHIR_JSON, FHIR_VERSION
from fhirapi.registry import RESOURCES

PUBLISHED = "2026-11-30"


def capability_statement(*, base_url: str) -> CapabilityStatement:
    resources = []
    for definition in RESOURCES.values():
        entry: dict = {
            "type": definition.type,
            "documentation": definition.documentation,
            "interaction": [{"code": code} for code in definition.interactions],
            "versioning": "no-version",
            "readHistory": False,
            "updateCreate": False,
            "conditionalCreate": False,
            "conditionalRead": "not-supported",
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
                "documentation": "Read and search only. Paging with _count (at most 100) and "
                "_offset; Prefer: handling=strict refuses unknown search parameters.",
                "security": {
                    "cors": False,
                    "description": "An account's API key as Authorization: Bearer <key> "
                    "(X-API-Key and HTTP Basic with the key as user name also work). Every "
                    "resource belongs to the key's clinic; another clinic's answers 404.",
                },
                "resource": resources,
            }
        ],
    )
