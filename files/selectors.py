"""Reads of files and upload tickets, always within one account."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from files.keys import path_problem
from files.models import Facet, File, UploadTicket
from portal.accounts.models import Account
from portal.ids import parse_uuid

_UUID = r"[0-9a-f-]{36}"
# A temporary key (``files.models.temp_prefix``), and the layout before it, which tickets
# issued before an upgrade still name.
TEMP_KEYS = (
    re.compile(
        rf"(?:^|/)(?P<key>temp/accounts/(?P<account>{_UUID})/patients/(?P<patient>{_UUID}|none)"
        rf"/(?P<token>{_UUID})/(?P<name>[^/]+))$"
    ),
    re.compile(
        rf"(?:^|/)(?P<key>accounts/(?P<account>{_UUID})/patients/(?P<patient>{_UUID}|none)"
        rf"/temp/(?P<token>{_UUID})/(?P<name>[^/]+))$"
    ),
)


def temp_key_match(path: str) -> re.Match | None:
    """The temporary key at the end of ``path`` (a key, or a URL's path), parsed."""
    for pattern in TEMP_KEYS:
        match = pattern.search(path or "")
        if match:
            return match
    return None


def file_get(*, account: Account, file_id) -> File | None:
    """The account's file with this id, or None (foreign and malformed ids alike)."""
    parsed = parse_uuid(file_id)
    if parsed is None:
        return None
    try:
        file = File.objects.get(account=account, pk=parsed)
    except File.DoesNotExist:
        return None
    file.account = account  # the caller's, already loaded: no join, no second query
    return file


def facet_get(*, file: File, name: str) -> Facet | None:
    # order_by(): Facet's default ordering ("file", ...) would join files_file to sort one row.
    return file.facets.filter(name=name, state=Facet.State.READY).order_by().first()


def upload_ticket_get(*, account: Account, ticket_id) -> UploadTicket | None:
    parsed = parse_uuid(ticket_id)
    if parsed is None:
        return None
    return UploadTicket.objects.filter(account=account, pk=parsed).first()


def upload_ticket_for_key(*, key: str, account: Account | None = None) -> UploadTicket | None:
    """The ticket whose temporary prefix holds ``key`` (scoped to ``account`` when given).

    None for a key that is not already clean (``files.keys``): a Location sent back by a
    client is never looked up in storage under a name a storage would normalise."""
    match = temp_key_match(key)
    if not match or match["key"] != key or path_problem(key):
        return None
    tickets = UploadTicket.objects.filter(pk=match["token"], account_id=match["account"])
    if account is not None:
        tickets = tickets.filter(account=account)
    ticket = tickets.select_related("account", "patient").first()
    if ticket is None or not key.startswith(ticket.key_prefix):
        return None
    return ticket


def key_from_location(location: str) -> str:
    """The temporary key in an S3 ``Location`` URL (any host style, key URL-encoded):
    the path's end that is a temporary key, whatever bucket or endpoint path precedes it;
    "" when it holds none."""
    match = temp_key_match(unquote(urlsplit(location or "").path))
    return match["key"] if match else ""


def upload_ticket_for_location(*, account: Account, location: str) -> UploadTicket | None:
    """The account's ticket for an uploaded object's ``Location`` (Cliniko's ``upload_url``)."""
    return upload_ticket_for_key(key=key_from_location(location), account=account)
