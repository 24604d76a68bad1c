"""One client per seed, written as its vendor's users write it (not our
test helpers), against the live portal with a real worker, on both storages.

Cliniko and Medable upload with the presigned-POST recipe of boto3's documentation
(``requests.post(url, data=fields, files={"file": ...})``); X-on and Claros are typed
clients whose strict pydantic models come from the seeds' field tables and must parse
every answer."""

from __future__ import annotations

import base64
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
import requests
from pydantic import TypeAdapter

from tests.contract.seed_models import ClarosPdf, XonFile, XonFileRequest
from tests.factories import PatientFactory
from tests.files import samples
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PHOTO = samples.jpeg((640, 480))


@pytest.fixture
def portal(live_server, settings, storage_mode, tmp_path, api_key, account):
    """The live portal, a worker on the same storage, and the clinic's key."""
    settings.PORTAL_PUBLIC_BASE_URL = live_server.url
    settings.FILES_SYNC_WAIT_SECONDS = 30
    env = {"PORTAL_PUBLIC_BASE_URL": live_server.url, "ATTACHMENTS_PHOTO_COLLECT_SECONDS": "1"}
    with celery_worker(tmp_path, beat=True, extra_env=env):
        yield live_server.url, api_key.plaintext


def eventually(fetch, done, *, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while True:
        answer = fetch()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.3)


def cliniko_client(portal, account):
    """Cliniko's document, step by step, HTTP Basic with the key as user name."""
    base, key = portal
    patient = PatientFactory(account=account)
    cliniko = requests.Session()
    cliniko.auth = (key, "")
    presign = cliniko.get(f"{base}/api/v1/patients/{patient.id}/attachment_presigned_post")
    assert presign.status_code == 200, presign.text
    presign = presign.json()
    uploaded = requests.post(
        presign["url"],
        data=presign["fields"],
        files={"file": ("the-name-of-the-file.jpg", PHOTO)},
        timeout=30,
    )
    assert uploaded.status_code == 201, uploaded.text
    answer = ET.fromstring(uploaded.content)
    # The document says: use Location as it is. SeaweedFS answers it empty (docs/
    # operations/scaled.md: stores), where a client joins the presign url and the Key,
    # as AWS would answer.
    location = answer.findtext("Location") or (
        presign["url"].rstrip("/") + "/" + quote(answer.findtext("Key"), safe="")
    )
    created = cliniko.post(
        f"{base}/api/v1/patient_attachments",
        json={"patient_id": str(patient.id), "upload_url": location},
    )
    assert created.status_code == 201, created.text
    attachment_url = f"{base}/api/v1/patient_attachments/{created.json()['id']}"
    attachment = eventually(
        lambda: cliniko.get(attachment_url).json(), lambda a: a["processing_completed"]
    )
    assert attachment["processing_completed"] is True
    content = cliniko.get(attachment["content"]["links"]["self"])
    assert content.status_code == 200
    assert content.content[:3] == b"\xff\xd8\xff"


def medable_client(portal, account):
    """Medable's two-stage upload: write the property, post the fields in order with the
    file last under uploadKey, then read the facets."""
    base, key = portal
    patient = PatientFactory(account=account)
    medable = requests.Session()
    medable.headers["Authorization"] = f"Bearer {key}"
    written = medable.put(
        f"{base}/api/v1/patients/{patient.id}/photo", json={"content": "IMG_1399.JPG"}
    )
    assert written.status_code == 200, written.text
    (upload,) = written.json()["uploads"]
    posted = requests.post(
        upload["uploadUrl"],
        data=[(field["key"], field["value"]) for field in upload["fields"]],
        files={upload["uploadKey"]: ("IMG_1399.JPG", PHOTO, "image/jpeg")},
        timeout=30,
    )
    assert posted.status_code in (200, 201, 204), posted.text
    photo = eventually(
        lambda: medable.get(f"{base}/api/v1/patients/{patient.id}/photo").json(),
        lambda p: p.get("state") == 2,
    )
    assert photo["state"] == 2, photo
    content = medable.get(f"{base}/api/v1/patients/{patient.id}/photo/content")
    assert content.status_code == 200 and content.content[:3] == b"\xff\xd8\xff"
    thumbnail = medable.get(f"{base}/api/v1/patients/{patient.id}/photo/thumbnail")
    assert thumbnail.status_code == 200


def xon_typed_client(portal, account):
    """A typed X-on client: create a file request (seed 004), answer it through the files
    API (seed 001), read it back; every answer parses with the seeds' types."""
    base, key = portal
    xon = requests.Session()
    xon.headers["Authorization"] = f"Bearer {key}"
    created = xon.post(
        f"{base}/api/v1/file-requests",
        json={
            "prompt": "Please take a close-up photo of the rash.",
            "type": "photo",
            "staffId": "c46c3407-9c79-498f-a713-07b7d8f1fabf",
            "accountId": "12",  # X-on's own id of the sending account, as in seed 004
            "staffName": "Dr Rachel Williams",
            "patientMobile": "+447777123456",
            "patientDateOfBirth": "1980-06-17",
        },
    )
    assert created.status_code == 200, created.text
    file_request = XonFileRequest.model_validate_json(created.content)
    assert (file_request.accountId, file_request.files) == ("12", [])
    uploaded = xon.post(
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
            "fileRequestId": file_request.id,
            "userId": file_request.patientId,
        },
    )
    assert uploaded.status_code == 201, uploaded.text
    (file,) = TypeAdapter(list[XonFile]).validate_json(uploaded.content)
    assert (file.imageWidth, file.imageHeight) == (640, 480)
    download = xon.get(f"{base}/api/v1/files/{file.id}")
    assert download.status_code == 200 and len(download.content) == file.size
    read_back = XonFileRequest.model_validate_json(
        xon.get(f"{base}/api/v1/file-requests/{file_request.id}").content
    )
    assert [f.id for f in read_back.files] == [file.id]
    assert read_back.files[0].mimeType == "image/jpeg"


def claros_typed_client(portal, account):
    """A typed Claros client: X-API-Key, the integer patient id of seed 002 in the path and
    the answer, and the url downloads the PDF at once."""
    base, key = portal
    patient = PatientFactory(account=account)
    claros = requests.Session()
    claros.headers["X-API-Key"] = key
    pdf = samples.pdf()
    answer = claros.post(
        f"{base}/api/v1/patients/{patient.number}/pdf/",
        files={"file": ("medical_record.pdf", pdf, "application/pdf")},
        data={"filename": "medical_record.pdf"},
    )
    assert answer.status_code == 201, answer.text
    uploaded = ClarosPdf.model_validate_json(answer.content)
    assert uploaded.patient_id == patient.number
    served = claros.get(uploaded.url)
    assert served.status_code == 200 and served.content == pdf


def test_every_vendor_client_works_unchanged(portal, account):
    """GIVEN the live portal and a worker, on each storage WHEN each seed's client runs as
    its vendor's users write it THEN each completes its flow (one worker for the four, as
    starting a worker is the slow part)."""
    for client in (cliniko_client, medable_client, xon_typed_client, claros_typed_client):
        client(portal, account)
