"""``GET /api/v1/files/{id}``, the common case: the API's fast door, outside DRF's dispatch.

A download is the request integrators make most, and a ready file's kept facet is what
they almost always ask for. Through DRF it cost one query for the key, one for the file,
one for the facet, each built by the ORM, plus DRF's content negotiation, authenticator
and permission classes, and its response finalising.

This door finds the caller and the file for that case with one round trip: one prepared
statement that checks the key (known, not revoked, its digest compared in constant time
here) and finds the file in the key's account with its ready facets. Then it hands them to
``files.serving.respond.serve`` like every other door, which decides the rest (the state checks,
headers, audit row, streaming). The key and its revocation are read on every request.

Anything else goes to the DRF view (``FileDetailApi``) unchanged, which then answers as it
always has: no key or a session, a Basic header, an unknown, wrong or revoked key, a file
not in the account, not ready, rejected, expired or purged, a size not made yet or failed,
``Range``/``If-None-Match``/``If-Range``, a method other than GET, a malformed
``imageSize``. Falling back repeats the look-ups, but only on those rarer requests.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import AuthenticationFailed

from files.models import Facet, File
from files.pipeline import rendering
from files.pipeline.renditions import rendition_name_for
from files.serving import respond
from portal.accounts import keys
from portal.accounts.models import ApiKey
from portal.api.authentication import key_from_request
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.ids import parse_uuid

# The headers DRF's APIView adds to every answer of FileDetailApi (its renderers make it
# vary on Accept; Allow lists the view's methods), so both paths answer alike.
DRF_HEADERS = {"Allow": "GET, HEAD, OPTIONS", "Vary": "Accept"}
# Only these query parameters are understood; any other goes to the DRF view as well, so
# what it does with them stays its business.
KNOWN_PARAMETERS = {"imageSize"}
CONDITIONAL_HEADERS = ("HTTP_RANGE", "HTTP_IF_RANGE", "HTTP_IF_NONE_MATCH")
FILE_COLUMNS = (
    "account",
    "state",
    "expires_at",
    "purged_at",
    "mime_type",
    "width",
    "height",
    "original_name",
)
FACET_COLUMNS = ("name", "storage_key", "mime_type", "size", "sha256")


def _column(model, field: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field).column)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _lookup_sql() -> str:
    """Key, file and the file's ready facets in one statement (one row per ready facet;
    no row when the key is unknown or revoked, or the file is not in the key's account)."""
    k, f, c = ApiKey, File, Facet
    key_columns = ", ".join(
        f"k.{_column(k, name)}" for name in ("id", "key_digest", "last_used_at")
    )
    file_columns = ", ".join(f"f.{_column(f, name)}" for name in FILE_COLUMNS)
    facet_columns = ", ".join(f"c.{_column(c, name)}" for name in FACET_COLUMNS)
    return (
        f"SELECT {key_columns}, {file_columns}, {facet_columns} "
        f"FROM {_table(k)} k "
        f"JOIN {_table(f)} f ON f.{_column(f, 'account')} = k.{_column(k, 'account')} "
        f"LEFT JOIN {_table(c)} c ON c.{_column(c, 'file')} = f.{_column(f, 'id')} "
        f"AND c.{_column(c, 'state')} = %s "
        f"WHERE k.{_column(k, 'prefix')} = %s AND k.{_column(k, 'revoked_at')} IS NULL "
        f"AND f.{_column(f, 'id')} = %s"
    )


_LOOKUP_SQL: str | None = None


def _lookup(prefix: str, file_id) -> list[tuple]:
    global _LOOKUP_SQL
    if _LOOKUP_SQL is None:
        _LOOKUP_SQL = _lookup_sql()
    # The file id as Django would adapt it for this database (a uuid on PostgreSQL,
    # 32 hex digits on SQLite).
    file_id_param = File._meta.pk.get_db_prep_value(file_id, connection)
    return respond.run_statement(
        _LOOKUP_SQL, [Facet.State.READY.value, prefix, file_id_param], fetch=True
    )


def _datetime(value):
    """A datetime column as the ORM would give it. PostgreSQL's driver answers aware
    datetimes; SQLite answers naive UTC ones (or text), which Django's SQLite backend
    converts only for the ORM's own queries."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    if settings.USE_TZ and timezone.is_naive(value):
        value = timezone.make_aware(value, connection.timezone)
    return value


def _facet_name(*, mime_type: str, width, height, image_size) -> str:
    """The facet that answers, as ``files.pipeline.renditions.rendition_for`` names it."""
    if image_size is None or not (mime_type.startswith("image/") and width is not None):
        return Facet.CONTENT
    return rendition_name_for(width, height, *image_size) or Facet.CONTENT


class FileRow:
    """The file as the look-up found it: what ``respond.serve`` reads of a ``File``."""

    __slots__ = ("account_id", "expires_at", "original_name", "pk", "purged_at", "state")
    rejection_reason = ""  # never read: a rejected file is handed on

    def __init__(self, pk, account_id, state, expires_at, purged_at, original_name) -> None:
        self.pk = pk
        self.account_id = account_id
        self.state = state
        self.expires_at = expires_at
        self.purged_at = purged_at
        self.original_name = original_name


class FacetRow:
    """One ready facet as the look-up found it: what ``respond.serve`` reads of a Facet."""

    __slots__ = FACET_COLUMNS

    def __init__(self, name, storage_key, mime_type, size, sha256) -> None:
        self.name = name
        self.storage_key = storage_key
        self.mime_type = mime_type
        self.size = size
        self.sha256 = sha256


def lean_file_response(request: HttpRequest, file_id: str):
    """The download, or None when the DRF view must answer (see the module's docstring)."""
    if request.method != "GET" or any(name in request.META for name in CONDITIONAL_HEADERS):
        return None
    if not set(request.GET).issubset(KNOWN_PARAMETERS):
        return None
    if "HTTP_X_API_KEY" not in request.META and not request.META.get(
        "HTTP_AUTHORIZATION", ""
    ).lower().startswith("bearer "):
        return None  # Basic (whose errors the DRF path words), a session, or nobody
    try:
        plaintext = key_from_request(request)
    except AuthenticationFailed:
        return None  # a credential the DRF path refuses in its own words (401)
    prefix = keys.parse_prefix(plaintext) if plaintext else None
    parsed_id = parse_uuid(file_id)
    if prefix is None or parsed_id is None:
        return None
    image_size = None
    if "imageSize" in request.GET:
        try:
            image_size = rendering.parse_image_size(request.GET["imageSize"])
        except ValueError:
            return None

    rows = _lookup(prefix, parsed_id)
    if not rows:
        return None
    key_id, key_digest, last_used_at, account_id, state, expires_at, purged_at = rows[0][:7]
    mime_type, width, height, original_name = rows[0][7:11]
    if not keys.digests_match(plaintext, key_digest):
        return None
    file = FileRow(
        parsed_id, account_id, state, _datetime(expires_at), _datetime(purged_at), original_name
    )
    if respond.refusal(file) is not None:
        return None  # the DRF view waits for processing, or words the refusal
    wanted = _facet_name(mime_type=mime_type, width=width, height=height, image_size=image_size)
    facet = next((FacetRow(*row[11:]) for row in rows if row[11] == wanted), None)
    if facet is None:
        return None  # not made yet, failed, or missing: the DRF view knows what to say

    # UUIDs as the ORM gives them (SQLite stores 32 hex digits), so the audit row names the
    # key exactly as the DRF path's does.
    key_id = uuid.UUID(str(key_id))
    # The key was used: recorded at most once a minute, as api_key_authenticate does.
    now = timezone.now()
    last_used_at = _datetime(last_used_at)
    resolution = dt.timedelta(seconds=settings.API_KEY_LAST_USED_RESOLUTION_SECONDS)
    if last_used_at is None or now - last_used_at > resolution:
        ApiKey.objects.filter(pk=key_id).update(last_used_at=now)

    # The actor Actor.for_api_key names, without building the ApiKey it reads.
    actor = Actor(AuditEvent.ActorKind.API_KEY, str(key_id), f"key {prefix}")
    response = respond.serve(request, file=file, facet=facet, actor=actor)
    for name, value in DRF_HEADERS.items():
        response[name] = value
    return response


def lean_download_view(drf_view):
    """``drf_view`` (``FileDetailApi.as_view()``) with the lean path in front of it. Keeps
    the attributes drf-spectacular and the URL walker read from a DRF view."""

    @csrf_exempt
    def view(request, file_id: str):
        response = lean_file_response(request, file_id)
        return response if response is not None else drf_view(request, file_id=file_id)

    view.cls = drf_view.cls
    view.initkwargs = drf_view.initkwargs
    view.view_class = getattr(drf_view, "view_class", drf_view.cls)
    view.view_initkwargs = getattr(drf_view, "view_initkwargs", drf_view.initkwargs)
    view.__doc__ = drf_view.__doc__
    return view
