"""The lean download path (files.lean_download) answers exactly as the DRF view it stands
in front of, checks the key and its revocation on every request, and audits every download."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient, APIRequestFactory

from files.api import FileDetailApi
from files.lean_download import AUDIT_COLUMNS, lean_file_response
from files.models import Facet
from files.renditions import facet_rendition_render
from portal.accounts.services import api_key_create, api_key_revoke
from portal.audit.models import AuditEvent
from tests.factories import FileFactory
from tests.files import samples

pytestmark = pytest.mark.django_db

# Every column of the audit row but its own id and time: both paths must write the same.
AUDIT_FIELDS = tuple(
    field.attname
    for field in AuditEvent._meta.concrete_fields
    if field.name not in ("id", "occurred_at")
)
IGNORED_HEADERS = {"date"}
# Added by the middleware to every answer (the route passes through it; calling the view
# class directly does not): the only headers the two answers may differ by.
# Added by middleware around every view (the DRF view called alone has none of them);
# the request id is each request's own, so it differs between the two answers too.
MIDDLEWARE_HEADERS = {
    "x-frame-options",
    "referrer-policy",
    "cross-origin-opener-policy",
    "x-request-id",
}


@pytest.fixture
def ready_photo(account, patient):
    """A processed photo with its imageSize=200x140 answer made, as the worker would."""
    file = FileFactory(
        account=account,
        patient=patient,
        original_name="Scan  2024 é.jpg",
        content=samples.jpeg((800, 600)),
        ready=True,
    )
    facet_rendition_render(file_id=file.pk, width=200, height=140)
    return file


def test_the_lean_audit_insert_writes_every_column_of_the_audit_row():
    """GIVEN the audit model WHEN the lean path's hand-written INSERT is compared with it
    THEN it names every column: a field added to AuditEvent fails here, not in production."""
    assert set(AUDIT_COLUMNS) == {field.name for field in AuditEvent._meta.concrete_fields}


def answer(response) -> tuple:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    headers = {
        name.lower(): value
        for name, value in response.headers.items()
        if name.lower() not in IGNORED_HEADERS
    }
    return response.status_code, headers, body


def last_download() -> dict:
    event = AuditEvent.objects.filter(action="file.download").order_by("-occurred_at").first()
    return {field: getattr(event, field) for field in AUDIT_FIELDS}


@pytest.mark.parametrize(
    "query",
    [{}, {"imageSize": "200x140"}, {"imageSize": "4000x4000"}],
    ids=["content", "kept-rendition", "larger-than-original"],
)
@pytest.mark.parametrize("form", ["x-api-key", "bearer"])
def test_lean_answer_is_the_drf_answer(storage_mode, api_key, ready_photo, query, form):
    """GIVEN a ready photo WHEN downloaded through the route (lean path) and through
    FileDetailApi itself THEN the same status, headers and bytes, and the same audit row."""
    headers = (
        {"HTTP_X_API_KEY": api_key.plaintext}
        if form == "x-api-key"
        else {"HTTP_AUTHORIZATION": f"Bearer {api_key.plaintext}"}
    )
    url = f"/api/v1/files/{ready_photo.id}"
    lean = answer(APIClient().get(url, query, **headers))
    lean_audit = last_download()
    request = APIRequestFactory().get(url, query, **headers)
    drf = answer(FileDetailApi.as_view()(request, file_id=str(ready_photo.id)))
    assert lean[0] == drf[0] == 200
    assert lean[2] == drf[2]
    assert set(lean[1]) - set(drf[1]) <= MIDDLEWARE_HEADERS
    assert {name: lean[1][name] for name in drf[1]} == drf[1]
    assert lean_audit == last_download()
    assert AuditEvent.objects.filter(action="file.download").count() == 2
    # ...and the route's answer really was the lean path's, not the DRF view's twice.
    lean_only = APIRequestFactory().get(url, query, **headers)
    assert lean_file_response(lean_only, str(ready_photo.id)) is not None


@pytest.mark.parametrize(
    "credential",
    ["revoked", "right prefix, wrong secret", "another clinic's key", "malformed", "empty"],
)
def test_lean_path_refuses_as_the_drf_path(api, api_key, other_account, ready_photo, credential):
    """GIVEN a file downloaded once with a good key WHEN the next download carries a key
    that must not get in THEN the refusal of the DRF path (401 or 404), no bytes, no audit."""
    url = f"/api/v1/files/{ready_photo.id}"
    assert api.get(url).status_code == 200
    if credential == "revoked":
        api_key_revoke(api_key=api_key.api_key)
        key = api_key.plaintext
    elif credential == "right prefix, wrong secret":
        key = api_key.plaintext[:-4] + (
            "AAAA" if not api_key.plaintext.endswith("AAAA") else "BBBB"
        )
    elif credential == "another clinic's key":
        key = api_key_create(account=other_account).plaintext
    elif credential == "malformed":
        key = "not-a-key"
    else:
        key = ""
    audited = AuditEvent.objects.filter(action="file.download").count()
    response = APIClient().get(url, HTTP_X_API_KEY=key)
    expected = 404 if credential == "another clinic's key" else 401
    assert response.status_code == expected
    assert not response.streaming
    assert AuditEvent.objects.filter(action="file.download").count() == audited
    if expected == 401 and key:
        assert "invalid or has been revoked" in response.json()["error"]


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_API_KEY": "", "HTTP_AUTHORIZATION": "Basic !!!"},
        {"HTTP_X_API_KEY": "", "HTTP_AUTHORIZATION": "Basic " + "A" * 5000},
        {"HTTP_X_API_KEY": "\x00", "HTTP_AUTHORIZATION": "Bearer"},
        {"HTTP_AUTHORIZATION": "Bearer " + "x" * 10_000},
        {"HTTP_AUTHORIZATION": "Bearer \x00\x00"},
    ],
    ids=[
        "empty key, broken Basic",
        "empty key, huge Basic",
        "NUL key",
        "huge bearer",
        "NUL bearer",
    ],
)
def test_broken_credentials_are_refused_not_a_server_error(ready_photo, headers):
    """GIVEN a ready photo WHEN the download carries a broken or hostile credential (an
    empty X-API-Key beside undecodable Basic, NUL bytes, huge values) THEN 401 with no
    bytes and no audit row, never a 500."""
    response = APIClient().get(f"/api/v1/files/{ready_photo.id}", **headers)
    assert response.status_code == 401, response.content
    assert not response.streaming
    assert not AuditEvent.objects.filter(action="file.download").exists()


def test_a_facet_not_yet_made_still_goes_through_the_drf_path(settings, api, ready_photo):
    """GIVEN a size the worker has not made WHEN asked THEN 409 not_ready with Retry-After
    (the lean path has nothing to serve and hands the request on)."""
    settings.FILES_RENDITION_WAIT_SECONDS = 0
    Facet.objects.filter(file=ready_photo, name__startswith="rendition:").delete()
    response = api.get(f"/api/v1/files/{ready_photo.id}", {"imageSize": "300x300"})
    assert response.status_code == 409
    assert response["Retry-After"]
