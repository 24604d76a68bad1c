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


def validated(resource: dict) -> dict:
    """``resource`` checked by fhir.resources' model of its type."""
    from fhir.resources.R4B import get_fhir_model_class

    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


def test_fhirpy_journey_matches_a_patient_pages_by_cursor_and_reads_every_binary(base, live_record):
    """GIVEN a record system on fhirpy WHEN it matches a patient on family, given and birth
    date, pages through their documents two at a time (one archived mid-way) and reads each
    Binary, JSON and raw, and each thumbnail named by the extension THEN a stranger matches
    no one, every document comes once, and every resource validates."""
    from attachments.services import attachment_archive
    from fhirapi.codes import THUMBNAIL_EXTENSION
    from portal.audit.services import Actor

    fhir = SyncFHIRClient(base, authorization=f"Bearer {live_record.api_key}")
    assert (
        fhir.resources("Patient")
        .search(family="Nobody", given="Nemo", birthdate="1980-06-17")
        .fetch_all()
        == []
    )
    (john,) = (
        fhir.resources("Patient")
        .search(family="Smith", given="John", birthdate="1980-06-17")
        .fetch_all()
    )
    validated(john.serialize())
    pages = fhir.resources("DocumentReference").search(patient=john.id).limit(2)
    first = pages.fetch_raw()
    validated(dict(first))
    seen = [entry["resource"]["id"] for entry in first["entry"]]
    archived = live_record.files[4]
    attachment_archive(attachment=archived.patient_attachment, actor=Actor.system())
    following = next(link["url"] for link in first["link"] if link["relation"] == "next")
    while following:
        bundle = requests.get(
            following, headers={"Authorization": f"Bearer {live_record.api_key}"}, timeout=10
        ).json()
        validated(bundle)
        seen += [entry["resource"]["id"] for entry in bundle.get("entry", [])]
        following = next((ln["url"] for ln in bundle["link"] if ln["relation"] == "next"), None)
    assert seen == [str(f.pk) for f in live_record.files[:4]]
    for document in fhir.resources("DocumentReference").search(patient=john.id).fetch_all():
        validated(document.serialize())
        (content,) = document["content"]
        attachment = content["attachment"]
        binary = fhir.reference("Binary", attachment["url"].rsplit("/", 1)[1]).to_resource()
        validated(binary.serialize())
        data = base64.b64decode(binary["data"])
        assert base64.b64decode(attachment["hash"]) == hashlib.sha1(data).digest()
        raw = requests.get(
            attachment["url"],
            headers={"Authorization": f"Bearer {live_record.api_key}", "Accept": "*/*"},
            timeout=10,
        )
        assert raw.content == data
        for extension in attachment.get("extension", []):
            assert extension["url"] == THUMBNAIL_EXTENSION
            thumbnail = extension["valueAttachment"]
            small = fhir.reference("Binary", thumbnail["url"].rsplit("/", 1)[1]).to_resource()
            validated(small.serialize())
            assert len(base64.b64decode(small["data"])) == thumbnail["size"]
    gone = requests.get(
        f"{base}/DocumentReference/{archived.pk}",
        headers={"Authorization": f"Bearer {live_record.api_key}"},
        timeout=10,
    )
    assert gone.status_code == 410
    validated(gone.json())


def test_fhirclient_journey_reads_with_validators_and_pages_every_document(base, live_record):
    """GIVEN a record system on SMART's fhirclient WHEN it follows every next link of a
    one-per-page search, reads each DocumentReference again with the ETag it holds, and
    reads each Binary THEN every document once, a 304 for each unchanged read, and every
    resource validates."""
    fhir = smart(base, live_record.api_key)
    search = SmartDocumentReference.where(struct={"_count": "1", "_sort": "-_lastUpdated"})
    bundles = list(search.perform_iter(fhir.server))
    assert len(bundles) == len(live_record.files)
    documents = [entry.resource for bundle in bundles for entry in bundle.entry]
    assert [d.id for d in documents] == [str(f.pk) for f in live_record.files][::-1]
    session = fhir.server.session
    for document in documents:
        url = f"{base}/DocumentReference/{document.id}"
        read = session.get(url, timeout=10)
        validated(read.json())
        assert read.headers["ETag"] == f'W/"{document.meta.versionId}"'
        again = session.get(url, headers={"If-None-Match": read.headers["ETag"]}, timeout=10)
        assert again.status_code == 304
        binary = SmartBinary.read(document.content[0].attachment.url.rsplit("/", 1)[1], fhir.server)
        validated(binary.as_json())
        assert len(base64.b64decode(binary.data)) == document.content[0].attachment.size
    patient = SmartPatient.read(str(live_record.patient.pk), fhir.server)
    validated(patient.as_json())
    xml = session.get(f"{base}/Patient/{patient.id}", headers={"Accept": "application/fhir+xml"})
    assert xml.status_code == 406
    validated(xml.json())


def test_fhirpy_finds_a_patient_by_nhs_number_and_only_them(base, live_record):
    """GIVEN John Smith's NHS number on his record, and the same number on a patient of
    another clinic WHEN a record system on fhirpy searches Patient by the NHS number
    system and value THEN John alone is answered, his identifier carries the NHS system,
    and a valid number nobody here holds matches no one."""
    from tests.factories import AccountFactory, PatientFactory

    live_record.patient.nhs_number = "9434765919"
    live_record.patient.save(update_fields=["nhs_number"])
    PatientFactory(account=AccountFactory(), nhs_number="9434765919")
    fhir = SyncFHIRClient(base, authorization=f"Bearer {live_record.api_key}")
    nhs = "https://fhir.nhs.uk/Id/nhs-number"
    (john,) = fhir.resources("Patient").search(identifier=f"{nhs}|9434765919").fetch_all()
    validated(john.serialize())
    assert john.id == str(live_record.patient.pk)
    official = {"use": "official", "system": nhs, "value": "9434765919"}
    assert official in john["identifier"]
    assert fhir.resources("Patient").search(identifier=f"{nhs}|4010232137").fetch_all() == []
