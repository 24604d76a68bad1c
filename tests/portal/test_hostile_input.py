"""Hostile files through every door in: each ends as a clear 4xx or a ``rejected`` file
with its reason, never a 500, and is never served back as active content.

Doors: X-on Base64 JSON and multipart (``POST /api/v1/files``), Claros's PDF upload,
Cliniko's presigned flow, the patient page's tickets (after the date-of-birth check)
and Medable's photo property. The ticket doors post to the embedded storage's own
POST endpoint (``/storage/upload``), so that door is walked too. Processing runs the
pipeline's function directly (the real worker is proven in tests/faults and soak).

Hostile *content* must be refused. Hostile *names* on good content may also end
``ready``, under a safe name (no path, control or bidirectional characters, not a
Windows device name, at most 150 characters) and served as an attachment.
"""

from __future__ import annotations

import datetime
import io
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from attachments.models import PatientPhoto
from attachments.services import photo_upload_collect
from files.models import File
from files.names import WINDOWS_RESERVED, stored_name
from files.pipeline.processing import file_process
from portal.accounts.services import api_key_create
from tests.factories import AccountFactory, FileRequestFactory, PatientFactory, StaffFactory
from tests.files import samples
from tests.support.sessions import sign_in

pytestmark = pytest.mark.django_db

DOB = datetime.date(1969, 7, 20)
SAFE_TYPES = {"image/jpeg", "image/png", "image/webp", "application/pdf"}
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'


def corrupt_png() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@dataclass(frozen=True)
class Item:
    name: str
    data: object  # bytes, or a function of the door's kind ("photo" | "pdf") to bytes
    declared: str = "image/jpeg"
    hostile_name: bool = False

    def bytes_for(self, kind: str) -> bytes:
        return self.data(kind) if callable(self.data) else self.data


def good(kind: str) -> bytes:
    return samples.pdf() if kind == "pdf" else samples.jpeg((64, 48))


def named(stem: str) -> Item:
    """Good content under a hostile name; the door's extension is added (``{ext}``)."""
    return Item(stem, good, hostile_name=True)


CORPUS = {
    # Hostile content.
    "empty file": Item("empty.jpg", b""),
    "decompression bomb": Item("bomb.png", lambda kind: samples.png_bomb(), "image/png"),
    "truncated jpeg": Item("truncated.jpg", lambda kind: samples.jpeg((400, 300))[:600]),
    "corrupt png": Item("corrupt.png", corrupt_png(), "image/png"),
    "truncated pdf": Item("truncated.pdf", lambda kind: samples.pdf()[:-60], "application/pdf"),
    "jpeg + html polyglot": Item("polyglot.jpg", lambda kind: samples.jpeg() + HTML),
    "jpeg + zip polyglot": Item("zip.jpg", lambda kind: samples.jpeg() + samples.zip_bytes()),
    "pdf + html polyglot": Item(
        "polyglot.pdf", lambda kind: samples.pdf() + HTML, "application/pdf"
    ),
    "pdf + zip polyglot": Item(
        "zip.pdf", lambda kind: samples.pdf() + samples.zip_bytes(), "application/pdf"
    ),
    "svg with script": Item("image.svg", SVG, "image/svg+xml"),
    "svg named .jpg": Item("image.jpg", SVG),
    "html named .jpg": Item("page.jpg", b"<!DOCTYPE html>" + HTML),
    "pdf named .png": Item("document.png", lambda kind: samples.pdf(), "image/png"),
    "program named .jpg": Item("setup.jpg", b"MZ\x90\x00" + b"\x00" * 200),
    "shell script named .jpg": Item("run.jpg", b"#!/bin/sh\nrm -rf /\n"),
    "zip named .pdf": Item("archive.pdf", lambda kind: samples.zip_bytes(), "application/pdf"),
    "jpeg named .html": Item("photo.html", lambda kind: samples.jpeg(), "text/html"),
    # Hostile names on good content.
    "name with ../": named("../../../etc/passwd{ext}"),
    "name with ..\\": named("..\\..\\windows\\win.ini{ext}"),
    "name with NUL": named("photo.php\x00{ext}"),
    "name with right-to-left override": named("scan\u202egpj.exe"),
    "name of 10,000 characters": named("a" * 10_000 + "{ext}"),
    "windows reserved name CON": named("CON{ext}"),
    "windows reserved name LPT1": named("lpt1{ext}"),
    "name with markup and quotes": named('<img src=x onerror=alert(1)>"; x=".html{ext}'),
    "name with CR LF": named("a\r\nContent-Type: text/html\r\n{ext}"),
}


@dataclass
class Outcome:
    status: int  # the HTTP status of the step that ended the door's flow
    file: File | None = None
    body: bytes = b""


@dataclass
class Clinic:
    account: object
    patient: object
    api: APIClient
    patient_browser: Client
    staff_browser: Client


@pytest.fixture
def clinic() -> Clinic:
    account = AccountFactory(name="Hostile Clinic")
    patient = PatientFactory(account=account, date_of_birth=DOB)
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=api_key_create(account=account).plaintext)
    file_request = FileRequestFactory(account=account, patient=patient)
    browser = Client()
    verified = browser.post(
        f"/r/{file_request.short_link_id}",
        {"day": DOB.day, "month": DOB.month, "year": DOB.year},
    )
    assert verified.status_code == 302
    staff_browser = Client()
    sign_in(staff_browser, StaffFactory(account=account).user)
    return Clinic(account, patient, api, browser, staff_browser)


def post_to_storage(url: str, fields, name: str, data: bytes, content_type: str):
    """The embedded storage's POST endpoint, fields in order and the file last."""
    form = dict(fields)
    form["file"] = SimpleUploadedFile(name, data, content_type=content_type)
    return Client().post(urlsplit(url).path, form)


def file_of(file_id) -> File:
    return File.objects.get(pk=file_id)


def xon_json(clinic: Clinic, name: str, data: bytes, declared: str) -> Outcome:
    import base64

    response = clinic.api.post(
        "/api/v1/files",
        {
            "files": [
                {"name": name, "type": declared, "contents": base64.b64encode(data).decode()}
            ],
            "userId": str(clinic.patient.id),
        },
        format="json",
    )
    if response.status_code != 201:
        return Outcome(response.status_code, body=response.content)
    return Outcome(201, file_of(response.json()[0]["id"]))


def xon_multipart(clinic: Clinic, name: str, data: bytes, declared: str) -> Outcome:
    response = clinic.api.post(
        "/api/v1/files",
        {
            "userId": str(clinic.patient.id),
            "files": SimpleUploadedFile(name, data, content_type=declared),
        },
        format="multipart",
    )
    if response.status_code != 201:
        return Outcome(response.status_code, body=response.content)
    return Outcome(201, file_of(response.json()[0]["id"]))


def claros(clinic: Clinic, name: str, data: bytes, declared: str) -> Outcome:
    response = clinic.api.post(
        f"/api/v1/patients/{clinic.patient.id}/pdf/",
        {"filename": name, "file": SimpleUploadedFile(name, data, content_type=declared)},
        format="multipart",
    )
    if response.status_code != 201:
        return Outcome(response.status_code, body=response.content)
    from attachments.models import PatientAttachment

    return Outcome(201, PatientAttachment.objects.get(pk=response.json()["id"]).file)


def cliniko(clinic: Clinic, name: str, data: bytes, declared: str) -> Outcome:
    post = clinic.api.get(f"/api/v1/patients/{clinic.patient.id}/attachment_presigned_post")
    assert post.status_code == 200
    body = post.json()
    stored = post_to_storage(body["url"], body["fields"].items(), name, data, declared)
    if stored.status_code != 201:
        return Outcome(stored.status_code, body=stored.content)
    location = ET.fromstring(stored.content).findtext("Location")
    response = clinic.api.post(
        "/api/v1/patient_attachments",
        {"patient_id": str(clinic.patient.id), "upload_url": location},
        format="json",
    )
    if response.status_code != 201:
        return Outcome(response.status_code, body=response.content)
    from attachments.models import PatientAttachment

    return Outcome(201, PatientAttachment.objects.get(pk=response.json()["id"]).file)


def patient_page(clinic: Clinic, name: str, data: bytes, declared: str) -> Outcome:
    browser = clinic.patient_browser
    ticket = browser.post("/r/upload/ticket", {"size": len(data)}, content_type="application/json")
    if ticket.status_code != 200:
        return Outcome(ticket.status_code, body=ticket.content)
    body = ticket.json()
    stored = post_to_storage(body["url"], body["fields"], name, data, declared)
    if stored.status_code not in (200, 201, 204):
        return Outcome(stored.status_code, body=stored.content)
    confirm = browser.post(
        "/r/upload/confirm", {"ticketId": body["ticketId"]}, content_type="application/json"
    )
    if confirm.status_code != 200:
        return Outcome(confirm.status_code, body=confirm.content)
    return Outcome(200, file_of(confirm.json()["fileId"]))


def dashboard(clinic: Clinic, name: str, data: bytes, declared: str) -> Outcome:
    """A clinician's drag-and-drop on the patient page: ticket, storage, confirm."""
    base = f"/patients/{clinic.patient.id}/attachments/upload"
    browser = clinic.staff_browser
    ticket = browser.post(
        f"{base}/ticket/", {"name": name, "size": len(data)}, content_type="application/json"
    )
    if ticket.status_code != 201:
        return Outcome(ticket.status_code, body=ticket.content)
    body = ticket.json()
    stored = post_to_storage(body["url"], body["fields"], name, data, declared)
    if stored.status_code not in (200, 201, 204):
        return Outcome(stored.status_code, body=stored.content)
    confirm = browser.post(
        f"{base}/confirm/", {"ticketId": body["ticketId"]}, content_type="application/json"
    )
    if confirm.status_code != 201:
        return Outcome(confirm.status_code, body=confirm.content)
    return Outcome(201, file_of(confirm.json()["fileId"]))


def medable(clinic: Clinic, name: str, data: bytes, declared: str) -> Outcome:
    response = clinic.api.put(
        f"/api/v1/patients/{clinic.patient.id}/photo", {"content": name}, format="json"
    )
    if response.status_code != 200:
        return Outcome(response.status_code, body=response.content)
    [upload] = response.json()["uploads"]
    fields = [(field["key"], field["value"]) for field in upload["fields"]]
    stored = post_to_storage(upload["uploadUrl"], fields, name, data, declared)
    if stored.status_code not in (200, 201, 204):
        return Outcome(stored.status_code, body=stored.content)
    photo = PatientPhoto.objects.get(patient=clinic.patient)
    assert photo_upload_collect(photo_id=photo.pk)
    photo.refresh_from_db()
    return Outcome(201, photo.file)


# door: (how it is driven, what kind of good content it takes, the extension it expects)
DOORS = {
    "x-on base64": (xon_json, "photo", ".jpg"),
    "x-on multipart": (xon_multipart, "photo", ".jpg"),
    "claros pdf": (claros, "pdf", ".pdf"),
    "cliniko presigned": (cliniko, "photo", ".jpg"),
    "patient page ticket": (patient_page, "photo", ".jpg"),
    "dashboard drag-and-drop": (dashboard, "photo", ".jpg"),
    "medable photo": (medable, "photo", ".jpg"),
}


def assert_safe_name(name: str) -> None:
    assert "/" not in name and "\\" not in name and ".." not in name, name
    assert not any(unicodedata.category(c) in {"Cc", "Cf"} for c in name), name
    assert 0 < len(name) <= 150, len(name)
    assert name.split(".")[0].upper() not in WINDOWS_RESERVED, name


def assert_served_inert(api: APIClient, file: File) -> None:
    response = api.get(f"/api/v1/files/{file.pk}")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;"), disposition
    assert "\r" not in disposition and "\n" not in disposition
    assert response["Content-Type"] in SAFE_TYPES, response["Content-Type"]
    content = b"".join(response.streaming_content)
    if response["Content-Type"].startswith("image/"):
        Image.open(io.BytesIO(content)).verify()  # a re-encoded image, nothing else


@pytest.mark.slow
@pytest.mark.parametrize("item_name", list(CORPUS))
@pytest.mark.parametrize("door", list(DOORS))
def test_hostile_file_is_refused_through_every_door(
    clinic, door, item_name, django_capture_on_commit_callbacks
):
    """GIVEN a hostile file (content or name) WHEN it comes in through this door
    THEN it ends as a 4xx with a message, or as a rejected file with a reason a person
    can read whose bytes are never served; hostile names on good content may end
    ready, under a safe name, served only as an inert attachment. Never a 500."""
    drive, kind, extension = DOORS[door]
    item = CORPUS[item_name]
    name = item.name.replace("{ext}", extension)
    declared = "application/pdf" if kind == "pdf" and item.hostile_name else item.declared
    outcome = drive(clinic, name, item.bytes_for(kind), declared)

    if outcome.file is None:
        assert 400 <= outcome.status < 500, (outcome.status, outcome.body[:300])
        assert outcome.body.strip(), "a 4xx without a message"
        return
    with django_capture_on_commit_callbacks(execute=True):
        file_process(file_id=outcome.file.pk)
    file = File.objects.get(pk=outcome.file.pk)
    if file.state == File.State.REJECTED:
        assert len(file.rejection_reason) > 10, file.rejection_reason
        refused = clinic.api.get(f"/api/v1/files/{file.pk}")
        assert refused.status_code == 409 and refused["Content-Type"] == "application/json"
        return
    assert item.hostile_name, f"{item_name} was accepted through {door}: {file.state}"
    assert file.state == File.State.READY
    assert_safe_name(file.display_name)
    if door == "x-on base64":
        # JSON carries the name untouched: it is kept as given. A multipart
        # header or a storage key delivers the name as its carrier's parser leaves it.
        assert file.original_name == stored_name(name), "the name is kept as given"
    assert_served_inert(clinic.api, file)


@pytest.mark.parametrize("door", list(DOORS))
def test_a_good_file_goes_through_every_door(clinic, door, django_capture_on_commit_callbacks):
    """The control for the test above: GIVEN a good file under a plain name WHEN it comes
    in through this door THEN it ends ready, so a refusal above is the door judging the
    hostile file, not a door that refuses everything."""
    drive, kind, extension = DOORS[door]
    declared = "application/pdf" if kind == "pdf" else "image/jpeg"
    outcome = drive(clinic, f"good{extension}", good(kind), declared)
    assert outcome.file is not None, (outcome.status, outcome.body[:300])
    with django_capture_on_commit_callbacks(execute=True):
        file_process(file_id=outcome.file.pk)
    assert File.objects.get(pk=outcome.file.pk).state == File.State.READY


def test_corpus_size():
    """The figure for the report: hostile files tried per door."""
    print(f"\nhostile corpus: {len(CORPUS)} files x {len(DOORS)} doors")
    assert len(CORPUS) * len(DOORS) >= 100
