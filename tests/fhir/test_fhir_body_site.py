"""Where on the body a photo was taken, in FHIR R4: DocumentReference has no bodySite
before R5, so the core extension ``bodySite`` names a contained BodyStructure whose
``location`` is the SNOMED CT code and ``locationQualifier`` the side."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.documentreference import DocumentReference
from fhirclient.models.documentreference import DocumentReference as SmartDocumentReference

from files.models import File
from files.services import file_body_site_set
from portal.audit.services import Actor

pytestmark = pytest.mark.django_db

EXTENSION = "http://hl7.org/fhir/StructureDefinition/bodySite"


def test_a_photos_body_site_is_a_contained_body_structure(fhir, record):
    photo = record.request_photos[0]
    file_body_site_set(file=photo, actor=Actor.system(), code="14975008", side="right")
    body = fhir(f"DocumentReference/{photo.pk}").json()
    DocumentReference(**body)
    SmartDocumentReference(body)
    assert body["extension"] == [{"url": EXTENSION, "valueReference": {"reference": "#bodysite"}}]
    (structure,) = body["contained"]
    assert structure["resourceType"] == "BodyStructure" and structure["id"] == "bodysite"
    assert structure["location"]["coding"] == [
        {"system": "http://snomed.info/sct", "code": "14975008", "display": "Forearm"}
    ]
    assert structure["location"]["text"] == "Right forearm"
    assert structure["locationQualifier"][0]["coding"][0]["code"] == "24028007"
    assert structure["patient"] == {"reference": f"Patient/{record.patient.pk}"}


def test_a_site_without_a_side_has_no_qualifier_and_a_file_without_one_no_extension(fhir, record):
    photo, other = record.request_photos[0], record.request_photos[1]
    file_body_site_set(file=photo, actor=Actor.system(), code="43067004")
    body = fhir(f"DocumentReference/{photo.pk}").json()
    assert "locationQualifier" not in body["contained"][0]
    assert File.objects.get(pk=other.pk).body_site_code == ""
    plain = fhir(f"DocumentReference/{other.pk}").json()
    assert "contained" not in plain and "extension" not in plain
