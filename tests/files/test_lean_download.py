"""The lean download path (files.serving.lean_download) answers exactly as the DRF view it stands
in front of, checks the key and its revocation on every request, and audits every download."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient, APIRequestFactory

from files.api import FileDetailApi
from files.models import Facet
from files.pipeline.renditions import facet_rendition_render
from files.serving.lean_download import lean_file_response
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


# --- Which requests the lean path serves, and which it hands on ---------------------------------
#
# Handing a request on is never wrong for what the client reads (the DRF view answers it),
# so these ask the lean path itself: it serves the common case (and audits it), and hands on
# everything it must not judge alone. Where it serves, the answer is the DRF view's (above).


def lean(request_factory_call, file_id) -> object:
    return lean_file_response(request_factory_call, str(file_id))


def key_headers(api_key) -> dict:
    return {"HTTP_X_API_KEY": api_key.plaintext}


@pytest.mark.parametrize(
    "form",
    [
        lambda key: {"HTTP_X_API_KEY": key},
        lambda key: {"HTTP_AUTHORIZATION": f"Bearer {key}"},
        lambda key: {"HTTP_AUTHORIZATION": f"bearer {key}"},
    ],
    ids=["X-API-Key", "Bearer", "bearer"],
)
@pytest.mark.parametrize("query", [{}, {"imageSize": "200x140"}], ids=["content", "rendition"])
def test_the_common_download_is_served_by_the_lean_path(api_key, ready_photo, form, query):
    request = APIRequestFactory().get(
        f"/api/v1/files/{ready_photo.id}", query, **form(api_key.plaintext)
    )
    response = lean(request, ready_photo.id)
    assert response is not None and response.status_code == 200
    assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"
    assert AuditEvent.objects.filter(action="file.download").count() == 1


HANDED_ON = {
    "HEAD": lambda url, h: APIRequestFactory().head(url, **h),
    "POST": lambda url, h: APIRequestFactory().post(url, **h),
    "Range": lambda url, h: APIRequestFactory().get(url, HTTP_RANGE="bytes=0-9", **h),
    "If-Range": lambda url, h: APIRequestFactory().get(url, HTTP_IF_RANGE='"x"', **h),
    "If-None-Match": lambda url, h: APIRequestFactory().get(url, HTTP_IF_NONE_MATCH='"x"', **h),
    "an unknown parameter": lambda url, h: APIRequestFactory().get(url, {"download": "1"}, **h),
    "a malformed imageSize": lambda url, h: APIRequestFactory().get(url, {"imageSize": "big"}, **h),
    "Basic": lambda url, h: APIRequestFactory().get(
        url,
        HTTP_AUTHORIZATION="Basic "
        + __import__("base64").b64encode(h["HTTP_X_API_KEY"].encode() + b":").decode(),
    ),
    "no credential": lambda url, h: APIRequestFactory().get(url),
    "an Authorization that is no bearer": lambda url, h: APIRequestFactory().get(
        url, HTTP_AUTHORIZATION="Token " + h["HTTP_X_API_KEY"]
    ),
    "a key that is no key": lambda url, h: APIRequestFactory().get(url, HTTP_X_API_KEY="not-a-key"),
    "the right prefix, a wrong secret": lambda url, h: APIRequestFactory().get(
        url,
        HTTP_X_API_KEY=h["HTTP_X_API_KEY"][:-4]
        + ("AAAA" if not h["HTTP_X_API_KEY"].endswith("AAAA") else "BBBB"),
    ),
}


@pytest.mark.parametrize("name", list(HANDED_ON))
def test_what_the_lean_path_must_not_judge_alone_is_handed_on(api_key, ready_photo, name):
    """GIVEN a download in any form but the common one (another method, a conditional or
    range request, a parameter it does not know, another kind of credential, a bad key)
    THEN the lean path hands it on untouched: no answer, no audit row."""
    request = HANDED_ON[name](f"/api/v1/files/{ready_photo.id}", key_headers(api_key))
    assert lean(request, ready_photo.id) is None
    assert not AuditEvent.objects.filter(action="file.download").exists()


def test_an_id_that_is_no_uuid_is_handed_on(api_key, ready_photo):
    request = APIRequestFactory().get("/api/v1/files/123", **key_headers(api_key))
    assert lean_file_response(request, "123") is None


@pytest.mark.parametrize(
    "state",
    [
        "revoked key",
        "another clinic's file",
        "not ready",
        "rejected",
        "purged",
        "rendition not made",
    ],
)
def test_a_file_the_key_may_not_have_now_is_handed_on(api_key, other_account, ready_photo, state):
    from django.utils import timezone

    from files.models import File

    query = {}
    if state == "revoked key":
        api_key_revoke(api_key=api_key.api_key)
    elif state == "another clinic's file":
        File.objects.filter(pk=ready_photo.pk).update(account=other_account)
    elif state == "not ready":
        File.objects.filter(pk=ready_photo.pk).update(state=File.State.PROCESSING)
    elif state == "rejected":
        File.objects.filter(pk=ready_photo.pk).update(state=File.State.REJECTED)
    elif state == "purged":
        File.objects.filter(pk=ready_photo.pk).update(purged_at=timezone.now())
    else:
        query = {"imageSize": "90x90"}
    request = APIRequestFactory().get(
        f"/api/v1/files/{ready_photo.id}", query, **key_headers(api_key)
    )
    assert lean(request, ready_photo.id) is None


@pytest.mark.parametrize(
    ("expires_in", "served"),
    [(1, True), (0, False), (-1, False)],
    ids=["a microsecond before", "at the instant", "a microsecond after"],
)
def test_a_file_is_served_until_it_expires_and_not_at_that_instant(
    api_key, ready_photo, clock, expires_in, served
):
    import datetime as dt

    from files.models import File

    File.objects.filter(pk=ready_photo.pk).update(
        expires_at=clock.now + dt.timedelta(microseconds=expires_in)
    )
    request = APIRequestFactory().get(f"/api/v1/files/{ready_photo.id}", **key_headers(api_key))
    assert (lean(request, ready_photo.id) is not None) is served


@pytest.mark.parametrize(
    ("used_ago", "recorded"),
    [(None, True), (60, False), (60.000001, True)],
    ids=["never used", "exactly a minute ago", "just over a minute ago"],
)
def test_the_keys_last_use_is_recorded_at_most_once_a_minute(
    api_key, ready_photo, clock, settings, used_ago, recorded
):
    import datetime as dt

    from portal.accounts.models import ApiKey

    settings.API_KEY_LAST_USED_RESOLUTION_SECONDS = 60
    before = None if used_ago is None else clock.now - dt.timedelta(seconds=used_ago)
    ApiKey.objects.filter(pk=api_key.api_key.pk).update(last_used_at=before)
    request = APIRequestFactory().get(f"/api/v1/files/{ready_photo.id}", **key_headers(api_key))
    assert lean(request, ready_photo.id) is not None
    last_used = ApiKey.objects.get(pk=api_key.api_key.pk).last_used_at
    assert last_used == (clock.now if recorded else before)


def test_the_audit_row_keeps_the_first_300_characters_of_the_user_agent(api_key, ready_photo):
    """GIVEN a download with a 400-character User-Agent THEN the audit row keeps its first
    300, on the lean path as on the DRF path."""
    request = APIRequestFactory().get(
        f"/api/v1/files/{ready_photo.id}", HTTP_USER_AGENT="u" * 400, **key_headers(api_key)
    )
    assert lean(request, ready_photo.id) is not None
    assert AuditEvent.objects.get(action="file.download").user_agent == "u" * 300
