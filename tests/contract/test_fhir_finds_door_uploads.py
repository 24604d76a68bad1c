"""A record system finds over FHIR the document it uploaded through a vendor's door, by
the id that door answered: X-on's file ``id``, Claros's and Cliniko's attachment ``id``
(``DocumentReference?identifier=<id>``), against the live portal and a real worker."""

from __future__ import annotations

import base64
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
import requests

from tests.factories import PatientFactory
from tests.files import samples
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PHOTO = samples.jpeg((320, 240))


@pytest.fixture
def portal(live_server, settings, tmp_path, api_key):
    settings.PORTAL_PUBLIC_BASE_URL = live_server.url
    settings.FILES_SYNC_WAIT_SECONDS = 30
    with celery_worker(tmp_path, extra_env={"PORTAL_PUBLIC_BASE_URL": live_server.url}):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {api_key.plaintext}"
        yield live_server.url, session


def found(base, session, door_id: str, *, patient) -> dict:
    """The one DocumentReference the door's id finds, polled until the worker is done."""
    deadline = time.monotonic() + 60
    while True:
        bundle = session.get(
            f"{base}/fhir/R4/DocumentReference", params={"identifier": door_id}, timeout=10
        ).json()
        if bundle.get("total") or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert bundle["total"] == 1, bundle
    (entry,) = bundle["entry"]
    document = entry["resource"]
    assert document["subject"]["reference"] == f"Patient/{patient.pk}"
    (identifier,) = [i for i in document["identifier"] if i["value"] == door_id]
    with_system = session.get(
        f"{base}/fhir/R4/DocumentReference",
        params={"identifier": f"{identifier['system']}|{door_id}"},
        timeout=10,
    ).json()
    assert [e["resource"]["id"] for e in with_system["entry"]] == [document["id"]]
    return document


def test_each_door_s_id_finds_its_document(portal, account):
    base, session = portal
    patient = PatientFactory(account=account)

    xon = session.post(
        f"{base}/api/v1/files",
        json={
            "files": [
                {
                    "name": "IMG_0292.JPG",
                    "description": None,
                    "type": "image/jpeg",
                    "contents": base64.b64encode(PHOTO).decode(),
                }
            ],
            "expiryInterval": 3600,
            "userId": str(patient.pk),
        },
        timeout=30,
    )
    assert xon.status_code == 201, xon.text
    (xon_file,) = xon.json()
    assert found(base, session, xon_file["id"], patient=patient)["id"] == xon_file["id"]

    claros = session.post(
        f"{base}/api/v1/patients/{patient.number}/pdf/",
        files={"file": ("letter.pdf", samples.pdf(), "application/pdf")},
        data={"filename": "letter.pdf"},
        timeout=60,
    )
    assert claros.status_code == 201, claros.text
    letter = found(base, session, claros.json()["id"], patient=patient)
    assert letter["content"][0]["attachment"]["contentType"] == "application/pdf"

    presign = session.get(
        f"{base}/api/v1/patients/{patient.pk}/attachment_presigned_post", timeout=10
    ).json()
    uploaded = requests.post(
        presign["url"], data=presign["fields"], files={"file": ("p.jpg", PHOTO)}, timeout=30
    )
    assert uploaded.status_code == 201, uploaded.text
    answer = ET.fromstring(uploaded.content)
    location = answer.findtext("Location") or (
        presign["url"].rstrip("/") + "/" + quote(answer.findtext("Key"), safe="")
    )
    cliniko = session.post(
        f"{base}/api/v1/patient_attachments",
        json={"patient_id": str(patient.pk), "upload_url": location},
        timeout=30,
    )
    assert cliniko.status_code == 201, cliniko.text
    photo = found(base, session, cliniko.json()["id"], patient=patient)
    assert photo["meta"]["tag"][0]["code"] == "cliniko"
    assert len({xon_file["id"], letter["id"], photo["id"]}) == 3
