"""Inputs and states that used to end in a 500: each now gets a 4xx, 410 or 503 that
says what happened, in the error shape of the door it came through.

- JSON nested past what any request needs (``[`` x 100,000 raised RecursionError in
  ``json.load``), sent to every route in the URLconf that takes a body, walked the way
  tests/access/test_route_walker.py walks it.
- A download whose stored object is gone (the 500 came after the headers were sent),
  through every download door, on the embedded storage and on S3.
"""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from attachments.models import PatientPhoto
from files.models import Facet
from portal.accounts.services import api_key_create
from tests.access.routes import OTHER_ROUTES, ROUTES
from tests.access.test_route_walker import (  # noqa: F401  (build_world: this module's world)
    build_world,
    caller_client,
    kind_of,
    walk,
)
from tests.dashboard.objects import attachment_with_file, stored_file
from tests.dashboard.routes import PAGES
from tests.factories import FileRequestFactory, PatientFactory, StaffFactory
from tests.support.renditions import facet_rendition_get_or_create
from tests.support.sessions import sign_in

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("POST", "PUT", "PATCH")

# Bodies nested far past any request: as deep as json.load recurses, and just past
# the portal's limit while still under the interpreter's.
DEEP_BODIES = {
    "[ x 100,000": "[" * 100_000,
    "{ x 50,000": '{"a":' * 50_000,
    "closed, 40 deep": "[" * 40 + "]" * 40,
    "files list, 100,000 deep": '{"files":' + "[" * 100_000,
}


def rule_of(name: str):
    """The route's rule (None for a route without one: test_route_walker fails on those)."""
    return ROUTES.get(name) or PAGES.get(name.removeprefix("dashboard:")) or OTHER_ROUTES.get(name)


def body_routes() -> list[tuple[str, str]]:
    return sorted(
        (name, route)
        for name, route in walk().items()
        if rule_of(name) and any(method in WRITE_METHODS for method in rule_of(name).methods)
    )


def own_caller(world, kind: str) -> Client:
    """A caller that gets as far as the route's body: account A's key for the API, A's
    verified staff for pages, a verified patient for the patient's routes."""
    if kind == "api":
        return Client(HTTP_X_API_KEY=api_key_create(account=world.account).plaintext)
    if kind == "page":
        return sign_in(Client(), world.staff.user)
    if kind == "patient":
        return caller_client(world, "another request's patient")
    return Client()


@pytest.mark.parametrize("body", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
@pytest.mark.parametrize(("name", "route"), body_routes())
def test_deep_json_is_refused_on_every_route_that_takes_a_body(world, name, route, body):
    """GIVEN JSON nested far past what any request needs WHEN it is sent, by a caller
    allowed in, to each route that takes a body THEN never a 5xx, and an API route's
    refusal has a JSON error body."""
    kind = kind_of(name, route)
    rule = rule_of(name)
    url = reverse(name, kwargs=rule.kwargs(world))
    client = own_caller(world, kind)
    for method in (m for m in rule.methods if m in WRITE_METHODS):
        response = client.generic(method, url, body, content_type="application/json")
        where = (name, method, response.status_code)
        assert response.status_code < 500, where
        # A route that reads no body (cancel, resend, archive) may succeed.
        if kind == "api" and response.status_code >= 400:
            assert response["Content-Type"].startswith("application/json"), where
            assert response.json(), where


def test_deep_json_on_a_json_endpoint_says_why(world):
    """GIVEN the patients endpoint WHEN [ x 100,000 is posted THEN 400 in the portal's
    error shape, saying the JSON is nested too deep."""
    client = own_caller(world, "api")

    response = client.post("/api/v1/patients", "[" * 100_000, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert "nested more than" in response.json()["error"]


# --- Downloads whose stored object is gone ----------------------------------------


@pytest.fixture
def open_door(account, patient):
    """A door that serves a file's bytes, for a ready file of its own, made when the test
    asks for it (each test uses one door): name -> (client, url, whose error shape:
    "portal" or "any", file)."""

    def api() -> Client:
        return Client(HTTP_X_API_KEY=api_key_create(account=account).plaintext)

    def staff() -> Client:
        return sign_in(Client(), StaffFactory(account=account).user)

    def xon_file(query: str = ""):
        file = stored_file(account=account, patient=patient)
        # imageSize is answered from a rendition the worker makes: made here as the worker would.
        facet_rendition_get_or_create(file=file, width=50, height=50)
        return api(), f"/api/v1/files/{file.id}{query}", "portal", file

    def attachment_content():
        attachment = attachment_with_file(account=account, patient=patient)
        url = reverse("patient-attachment-content", kwargs={"attachment_id": attachment.id})
        return api(), url, "any", attachment.file

    def photo_facet(facet: str):
        photo_patient = PatientFactory(account=account)
        photo = PatientPhoto.objects.create(
            account=account,
            patient=photo_patient,
            file=stored_file(account=account, patient=photo_patient),
            filename="a.jpg",
            content_type="image/jpeg",
        )
        url = reverse(
            "patient-photo-facet", kwargs={"patient_id": photo_patient.id, "facet": facet}
        )
        return api(), url, "any", photo.file

    def record_file(view: str):
        file = stored_file(account=account, patient=patient)
        url = reverse(view, kwargs={"patient_id": patient.id, "file_id": file.id})
        return staff(), url, "portal", file

    def dashboard_attachment():
        attachment = attachment_with_file(account=account, patient=patient)
        url = reverse(
            "dashboard:patient-attachment-content",
            kwargs={"patient_id": patient.id, "attachment_id": attachment.id},
        )
        return staff(), url, "portal", attachment.file

    def request_file():
        file_request = FileRequestFactory(account=account, patient=patient)
        file = stored_file(account=account, patient=patient, file_request=file_request)
        url = reverse(
            "dashboard:file-request-file-content",
            kwargs={"file_request_id": file_request.id, "file_id": file.id},
        )
        return staff(), url, "portal", file

    made = {
        "X-on file": xon_file,
        "X-on file, imageSize": lambda: xon_file("?imageSize=50x50"),
        "Cliniko attachment content": attachment_content,
        "Medable photo content": lambda: photo_facet("content"),
        "Medable photo thumbnail": lambda: photo_facet("thumbnail"),
        "dashboard record file": lambda: record_file("dashboard:patient-file-content"),
        "dashboard record thumbnail": lambda: record_file("dashboard:patient-file-thumbnail"),
        "dashboard attachment": dashboard_attachment,
        "dashboard request file": request_file,
    }
    return lambda door: made[door]()


def remove_stored_objects(file) -> None:
    for facet in file.facets.all():
        default_storage.delete(facet.storage_key)


@pytest.mark.parametrize(
    "door",
    [
        "X-on file",
        "X-on file, imageSize",
        "Cliniko attachment content",
        "Medable photo content",
        "Medable photo thumbnail",
        "dashboard record file",
        "dashboard record thumbnail",
        "dashboard attachment",
        "dashboard request file",
    ],
)
@pytest.mark.parametrize("range_header", [None, "bytes=0-9"], ids=["whole", "range"])
def test_a_download_whose_object_is_gone_is_410_before_any_byte(
    storage_mode, open_door, door, range_header
):
    """GIVEN a ready file whose stored bytes were removed behind the portal's back
    WHEN it is downloaded through each door (whole, or a range), on each storage
    THEN 410 with a JSON error body, decided before any header was sent."""
    client, url, shape, file = open_door(door)
    assert client.get(url).status_code in (200, 206)  # the door works while the bytes exist
    remove_stored_objects(file)
    headers = {"HTTP_RANGE": range_header} if range_header else {}

    response = client.get(url, **headers)

    assert response.status_code == 410, (door, response.status_code)
    assert not response.streaming
    assert response["Content-Type"].startswith("application/json")
    if shape == "portal":
        assert response.json()["code"] == "gone"
        assert "stored bytes are missing" in response.json()["error"]


def test_a_ready_file_without_its_content_form_is_410(account, patient):
    """GIVEN a ready file whose content facet row is missing WHEN downloaded THEN 410,
    not a 500 from a lookup that found nothing."""
    file = stored_file(account=account, patient=patient)
    file.facets.filter(name=Facet.CONTENT).delete()
    client = Client(HTTP_X_API_KEY=api_key_create(account=account).plaintext)

    response = client.get(f"/api/v1/files/{file.id}")

    assert response.status_code == 410
    assert response.json()["code"] == "gone"


ODD_STORED_KEYS = {
    "traversal": "../../../etc/passwd",
    "dot segment": "accounts/./x.jpg",
    "absolute": "/etc/passwd",
    "a folder": "accounts/",
    "over 1,024 bytes": "accounts/" + "/".join(["a" * 210] * 5),
    "a look-alike dot": "accounts/\u2024\u2024/x.jpg",
    "empty segments": "accounts//x.jpg",
}


@pytest.mark.parametrize("key", ODD_STORED_KEYS.values(), ids=ODD_STORED_KEYS.keys())
def test_a_facet_with_an_odd_storage_key_is_410_not_500(storage_mode, account, patient, key):
    """GIVEN a ready file whose content facet row names an odd storage key (traversal,
    absolute, a folder, too long, look-alikes) WHEN it is downloaded THEN 410 in the error shape,
    decided before any header: never a 500, never bytes from outside the file's key."""
    file = stored_file(account=account, patient=patient)
    file.facets.filter(name=Facet.CONTENT).update(storage_key=key)
    client = Client(HTTP_X_API_KEY=api_key_create(account=account).plaintext)

    response = client.get(f"/api/v1/files/{file.id}")

    assert response.status_code == 410, response.status_code
    assert not response.streaming
    assert response.json()["code"] == "gone"
