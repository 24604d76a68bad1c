"""Every door that sends a file's bytes sends them alike: the X-on files API (its fast door
and the DRF view behind it), Cliniko's attachment content, the dashboard's record, the
Django admin's thumbnail and FHIR's Binary. The same headers (type, download name,
nosniff, sandbox, no caching, ETag, Range), the same ``file.download`` audit row but for
who acted, and the same refusals as each door gave before: expired, purged, not ready,
rejected, another clinic's file, missing bytes."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from attachments.models import PatientAttachment
from attachments.services import attachment_record
from files.models import Facet, File
from files.serving.respond import content_disposition
from files.storage.objects import storage_put
from portal.accounts.models import Staff
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from tests.dashboard.conftest import signed_in_client
from tests.factories import FileFactory, StaffFactory, UserFactory
from tests.files import samples
from tests.support.sessions import sign_in

pytestmark = pytest.mark.django_db

NAME = 'Scan "left" é.jpg'
USER_AGENT = "door-test/1.0"
# What the one serving function decides for every door's answer carrying the bytes.
SERVED_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Content-Disposition",
    "X-Content-Type-Options",
    "Content-Security-Policy",
    "Cache-Control",
    "ETag",
    "Accept-Ranges",
    "Content-Range",
)
AUDITED = ("account_id", "action", "target_type", "target_id", "ip_address", "user_agent", "detail")


@dataclass
class World:
    file: File
    key: str
    staff_client: Client
    admin_client: Client
    staff_actor: Actor
    admin_actor: Actor
    attachment_id: str


@pytest.fixture
def world(account, patient, api_key):
    clinician = StaffFactory(account=account, role=Staff.Role.CLINICIAN)
    file = FileFactory(
        account=account,
        patient=patient,
        original_name=NAME,
        content=samples.jpeg((800, 600)),
        ready=True,
    )
    attachment = attachment_record(
        account=account, patient=patient, file=file, description=None, actor=Actor.system()
    )
    operator = UserFactory(email="ops@portal.example", is_staff=True, is_superuser=True)
    return World(
        file=file,
        key=api_key.plaintext,
        staff_client=signed_in_client(clinician),
        admin_client=sign_in(Client(), operator),
        staff_actor=Actor.for_staff(clinician),
        admin_actor=Actor.for_admin(operator),
        attachment_id=str(attachment.pk),
    )


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@dataclass(frozen=True)
class Door:
    """One way in: the request it makes for ``file`` (``headers`` added), and who the
    audit row must name."""

    get: Callable[[World, object, dict], object]
    actor: Callable[[World], tuple[str, str]]


def api_actor(world: World) -> tuple[str, str]:
    return AuditEvent.ActorKind.API_KEY, f"key {world.key.split('_')[1]}"


CONTENT_DOORS = {
    "X-on API, fast door": Door(
        lambda w, f, h: APIClient().get(f"/api/v1/files/{f.pk}", HTTP_X_API_KEY=w.key, **h),
        api_actor,
    ),
    "X-on API, DRF view (Basic)": Door(
        lambda w, f, h: APIClient().get(
            f"/api/v1/files/{f.pk}", HTTP_AUTHORIZATION=basic(w.key), **h
        ),
        api_actor,
    ),
    "Cliniko attachment content": Door(
        lambda w, f, h: APIClient().get(
            f"/api/v1/patient_attachments/{w.attachment_id}/content",
            HTTP_AUTHORIZATION=basic(w.key),
            **h,
        ),
        api_actor,
    ),
    "dashboard record": Door(
        lambda w, f, h: w.staff_client.get(f"/patients/{f.patient_id}/files/{f.pk}/content/", **h),
        lambda w: (w.staff_actor.kind, w.staff_actor.label),
    ),
    "FHIR Binary": Door(
        lambda w, f, h: APIClient().get(
            f"/fhir/R4/Binary/{f.pk}", HTTP_AUTHORIZATION=f"Bearer {w.key}", **h
        ),
        api_actor,
    ),
}
THUMBNAIL_DOORS = {
    "dashboard record thumbnail": Door(
        lambda w, f, h: w.staff_client.get(
            f"/patients/{f.patient_id}/files/{f.pk}/thumbnail/", **h
        ),
        lambda w: (w.staff_actor.kind, w.staff_actor.label),
    ),
    "admin thumbnail": Door(
        lambda w, f, h: w.admin_client.get(reverse("admin:files_file_thumbnail", args=[f.pk]), **h),
        lambda w: (w.admin_actor.kind, w.admin_actor.label),
    ),
    "FHIR Binary thumbnail": Door(
        lambda w, f, h: APIClient().get(
            f"/fhir/R4/Binary/{f.pk}-thumbnail", HTTP_AUTHORIZATION=f"Bearer {w.key}", **h
        ),
        api_actor,
    ),
}
DOORS = {**CONTENT_DOORS, **THUMBNAIL_DOORS}


def downloads() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="file.download").order_by("occurred_at"))


def expected_headers(facet: Facet, *, partial: tuple[int, int] | None = None) -> dict:
    headers = {
        "Content-Type": facet.mime_type,
        "Content-Disposition": content_disposition(NAME, facet.mime_type),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, no-store",
        "ETag": f'"{facet.sha256}"',
        "Accept-Ranges": "bytes",
    }
    if partial is None:
        headers["Content-Length"] = str(facet.size)
    else:
        start, end = partial
        headers["Content-Length"] = str(end - start + 1)
        headers["Content-Range"] = f"bytes {start}-{end}/{facet.size}"
    return headers


# Directives that only tighten "private, no-store" (the admin's never_cache adds them).
STRICTER_CACHE_DIRECTIVES = {"max-age=0", "no-cache", "must-revalidate"}


def served(response) -> tuple[dict, bytes]:
    headers = {name: response[name] for name in SERVED_HEADERS if response.has_header(name)}
    directives = [d.strip() for d in headers.get("Cache-Control", "").split(",")]
    headers["Cache-Control"] = ", ".join(
        d for d in directives if d not in STRICTER_CACHE_DIRECTIVES
    )
    return headers, b"".join(response.streaming_content)


@pytest.mark.parametrize("door", list(DOORS))
def test_every_door_sends_the_same_headers_bytes_and_audit_row(world, door):
    """GIVEN a ready photo WHEN its bytes are fetched through each door THEN the headers
    the one serving function decides, the stored bytes, and one ``file.download`` row that
    differs from the other doors' only in who acted."""
    facet_name = Facet.THUMBNAIL if door in THUMBNAIL_DOORS else Facet.CONTENT
    facet = world.file.facets.get(name=facet_name)
    response = DOORS[door].get(world, world.file, {"HTTP_USER_AGENT": USER_AGENT})
    assert response.status_code == 200, response.content
    headers, body = served(response)
    assert headers == expected_headers(facet)
    assert body == default_storage.open(facet.storage_key).read()
    (event,) = downloads()
    assert {field: getattr(event, field) for field in AUDITED} == {
        "account_id": world.file.account_id,
        "action": "file.download",
        "target_type": "files.file",
        "target_id": str(world.file.pk),
        "ip_address": "127.0.0.1",
        "user_agent": USER_AGENT,
        "detail": {"facet": facet_name, "range": False},
    }
    assert (event.actor_kind, event.actor_label) == DOORS[door].actor(world)


@pytest.mark.parametrize(
    ("range_header", "span"),
    [("bytes=0-9", (0, 9)), ("bytes=-5", None), ("bytes=10-", None)],
    ids=["first ten", "last five", "from the tenth"],
)
@pytest.mark.parametrize("door", list(DOORS))
def test_every_door_answers_a_range_alike(world, door, range_header, span):
    """GIVEN a ready photo WHEN a part of it is asked for through each door THEN 206 with
    the same Content-Range and exactly those bytes, audited as a partial download."""
    facet_name = Facet.THUMBNAIL if door in THUMBNAIL_DOORS else Facet.CONTENT
    facet = world.file.facets.get(name=facet_name)
    whole = default_storage.open(facet.storage_key).read()
    if span is None:
        start = facet.size - 5 if range_header == "bytes=-5" else 10
        span = (start, facet.size - 1)
    response = DOORS[door].get(world, world.file, {"HTTP_RANGE": range_header})
    assert response.status_code == 206
    headers, body = served(response)
    assert headers == expected_headers(facet, partial=span)
    assert body == whole[span[0] : span[1] + 1]
    (event,) = downloads()
    assert event.detail == {"facet": facet_name, "range": True}


@pytest.mark.parametrize("door", list(DOORS))
def test_every_door_answers_a_copy_it_holds_with_304(world, door):
    """GIVEN a client holding the current bytes WHEN it asks again with their ETag
    THEN 304 without a body from every door."""
    facet_name = Facet.THUMBNAIL if door in THUMBNAIL_DOORS else Facet.CONTENT
    etag = f'"{world.file.facets.get(name=facet_name).sha256}"'
    response = DOORS[door].get(world, world.file, {"HTTP_IF_NONE_MATCH": f'"other", {etag}'})
    assert response.status_code == 304
    assert response["ETag"] == etag
    assert not response.content


def expire(file: File) -> None:
    File.objects.filter(pk=file.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))


def purge(file: File) -> None:
    File.objects.filter(pk=file.pk).update(purged_at=timezone.now())


def still_processing(file: File) -> None:
    File.objects.filter(pk=file.pk).update(state=File.State.PROCESSING)


def reject(file: File) -> None:
    File.objects.filter(pk=file.pk).update(state=File.State.REJECTED, rejection_reason="Broken.")


def move_to_another_clinic(file: File) -> None:
    """The file, and the attachment that puts it in a record, are another clinic's."""
    other = FileFactory().account
    File.objects.filter(pk=file.pk).update(account=other)
    PatientAttachment.objects.filter(file=file).update(account=other)


def bytes_lost(file: File) -> None:
    for facet in file.facets.all():
        default_storage.delete(facet.storage_key)


def bytes_emptied(file: File) -> None:
    for facet in file.facets.all():
        storage_put(facet.storage_key, io.BytesIO(b""))


STATES = {
    "expired": expire,
    "purged": purge,
    "not ready": still_processing,
    "rejected": reject,
    "another clinic's": move_to_another_clinic,
    "bytes missing": bytes_lost,
    "bytes emptied": bytes_emptied,
}
# Each door's refusal, as it answered before all doors shared one serving function.
REFUSALS = {
    "X-on API, fast door": {
        "expired": 410,
        "purged": 410,
        "not ready": 409,
        "rejected": 409,
        "another clinic's": 404,
        "bytes missing": 410,
        "bytes emptied": 410,
    },
    "dashboard record": {
        "expired": 410,
        "purged": 410,
        "not ready": 409,
        "rejected": 409,
        "another clinic's": 404,
        "bytes missing": 410,
        "bytes emptied": 410,
    },
    "FHIR Binary": {
        "expired": 410,
        "purged": 410,
        "not ready": 404,
        "rejected": 404,
        "another clinic's": 404,
        "bytes missing": 410,
        "bytes emptied": 410,
    },
}
REFUSALS["X-on API, DRF view (Basic)"] = REFUSALS["X-on API, fast door"]
REFUSALS["Cliniko attachment content"] = REFUSALS["X-on API, fast door"]
REFUSALS["dashboard record thumbnail"] = REFUSALS["dashboard record"]
REFUSALS["FHIR Binary thumbnail"] = REFUSALS["FHIR Binary"]
# The operator sees every clinic's files, so another clinic's is no refusal there.
REFUSALS["admin thumbnail"] = {
    state: status
    for state, status in REFUSALS["dashboard record"].items()
    if state != "another clinic's"
}


@pytest.mark.parametrize(
    ("door", "state"),
    [(door, state) for door, statuses in REFUSALS.items() for state in statuses],
)
def test_every_door_refuses_what_it_refused_before_and_audits_nothing(world, settings, door, state):
    """GIVEN a file that may not be sent (expired, purged, still being checked, rejected,
    another clinic's, or its stored bytes gone) WHEN asked for through each door THEN that
    door's refusal, no bytes and no ``file.download`` row."""
    settings.FILES_SYNC_WAIT_SECONDS = 0
    STATES[state](world.file)
    response = DOORS[door].get(world, world.file, {})
    assert response.status_code == REFUSALS[door][state]
    assert not response.streaming
    assert not downloads()
    if door.startswith("FHIR"):  # a record system reads every refusal as FHIR
        assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("door", ["FHIR Binary", "FHIR Binary thumbnail"])
def test_fhir_binary_as_json_carries_the_same_guard_headers_and_audit_row(world, door):
    """GIVEN a ready photo WHEN its Binary is asked for as FHIR JSON (the bytes in Base64)
    THEN the headers that keep it inert and out of caches, the bytes, and the one audit
    row, naming the format."""
    facet_name = Facet.THUMBNAIL if door in THUMBNAIL_DOORS else Facet.CONTENT
    facet = world.file.facets.get(name=facet_name)
    response = DOORS[door].get(world, world.file, {"HTTP_ACCEPT": "application/fhir+json"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert response["Cache-Control"] == "private, no-store"
    assert response["ETag"].startswith('W/"')
    resource = json.loads(b"".join(response.streaming_content))
    assert base64.b64decode(resource["data"]) == default_storage.open(facet.storage_key).read()
    (event,) = downloads()
    assert event.detail == {"facet": facet_name, "format": "fhir+json"}
    assert (event.actor_kind, event.target_id) == ("api_key", str(world.file.pk))


def test_fhir_binary_as_json_with_its_bytes_missing_is_gone_before_a_byte_is_sent(world):
    """GIVEN a ready file whose stored bytes are gone WHEN its Binary is asked for as
    FHIR JSON THEN 410 at once (not a 200 cut off half way), and no audit row."""
    bytes_lost(world.file)
    response = CONTENT_DOORS["FHIR Binary"].get(
        world, world.file, {"HTTP_ACCEPT": "application/fhir+json"}
    )
    assert response.status_code == 410
    assert not response.streaming
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "stored bytes are missing" in response.json()["issue"][0]["diagnostics"]
    assert not downloads()


def test_the_admins_thumbnail_of_a_file_without_one_is_a_404_in_words(world):
    """GIVEN a ready file whose thumbnail was never made (a PDF has none) WHEN the operator
    opens its thumbnail THEN 404 saying the file has no such form, and nothing audited."""
    world.file.facets.filter(name=Facet.THUMBNAIL).delete()
    response = DOORS["admin thumbnail"].get(world, world.file, {})
    assert response.status_code == 404
    assert response.json()["error"] == "This file has no such form."
    assert not downloads()
