"""Real FHIR clients against the live portal: SMART on FHIR's ``fhirclient`` and
``fhirpy``, written as their users write them, with only the base URL and a Bearer key."""

from __future__ import annotations

import base64
import hashlib

import pytest
import requests
from fhirclient import client as smart_client
from fhirclient.models.binary import Binary as SmartBinary
from fhirclient.models.documentreference import DocumentReference as SmartDocumentReference
from fhirclient.models.patient import Patient as SmartPatient
from fhirpy import SyncFHIRClient

from tests.fhir.conftest import record_build

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_record(account):
    return record_build(account)


@pytest.fixture
def base(live_server):
    return f"{live_server.url}/fhir/R4"


def smart(base: str, key: str):
    settings = {"app_id": "record-system", "api_base": base}
    fhir = smart_client.FHIRClient(settings=settings)
    fhir.server.session.headers["Authorization"] = f"Bearer {key}"
    return fhir


def test_fhirclient_pages_documents_and_checks_each_hash(base, live_record):
    """GIVEN a record system using fhirclient WHEN it searches a patient's
    DocumentReferences two to a page, following the server's next links, and reads each
    Binary THEN it gets all five files, each Binary's SHA-1 matching the hash."""
    fhir = smart(base, live_record.api_key)
    patient = SmartPatient.read(str(live_record.patient.pk), fhir.server)
    assert patient.name[0].family == "Smith"
    search = SmartDocumentReference.where(
        struct={"patient": str(live_record.patient.pk), "_count": "2"}
    )
    bundles = list(search.perform_iter(fhir.server))
    assert len(bundles) == 3
    documents = [entry.resource for bundle in bundles for entry in bundle.entry]
    assert [d.id for d in documents] == [str(f.pk) for f in live_record.files]
    for document in documents:
        attachment = document.content[0].attachment
        data = fhir.server.request_data(attachment.url, headers={"Accept": "*/*"})
        assert len(data) == attachment.size
        assert base64.b64decode(attachment.hash) == hashlib.sha1(data).digest()
    notes = {d.description for d in documents}
    assert {"Worse in the morning.", "Here it is from the side."} <= notes
    binary = SmartBinary.read(str(live_record.request_photos[0].pk), fhir.server)
    assert binary.contentType == "image/jpeg"
    assert base64.b64decode(binary.data)[:3] == b"\xff\xd8\xff"


def test_fhirpy_fetches_all_pages_and_pulls_binaries(base, live_record):
    """GIVEN a record system using fhirpy WHEN it fetches all of a patient's photos with
    fetch_all (which follows next links) and reads each Binary resource THEN every photo
    comes back once, with its patient included, and each Binary's bytes match its hash."""
    fhir = SyncFHIRClient(base, authorization=f"Bearer {live_record.api_key}")
    photos = (
        fhir.resources("DocumentReference")
        .search(patient=str(live_record.patient.pk), type="photo")
        .limit(1)
        .fetch_all()
    )
    assert sorted(p.id for p in photos) == sorted(
        str(f.pk) for f in live_record.files if f.mime_type.startswith("image/")
    )
    assert len(photos) == 4
    for photo in photos:
        attachment = photo["content"][0]["attachment"]
        binary = fhir.reference("Binary", attachment["url"].rsplit("/", 1)[1]).to_resource()
        data = base64.b64decode(binary["data"])
        assert base64.b64decode(attachment["hash"]) == hashlib.sha1(data).digest()
    patients = fhir.resources("Patient").search(phone="07911 123456").fetch_all()
    assert [p.id for p in patients] == [str(live_record.patient.pk)]
    assert fhir.resources("DocumentReference").search(category="claros").count() == 1


def test_another_clinics_key_sees_nothing_through_a_real_client(base, live_record, other_account):
    from portal.accounts.services import api_key_create

    key = api_key_create(account=other_account, name="theirs").plaintext
    fhir = SyncFHIRClient(base, authorization=f"Bearer {key}")
    assert fhir.resources("DocumentReference").fetch_all() == []
    answer = requests.get(
        f"{base}/DocumentReference/{live_record.files[0].pk}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert answer.status_code == 404
    assert answer.json()["resourceType"] == "OperationOutcome"
