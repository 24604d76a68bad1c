"""Whether a file request still takes files, asked by every door that can answer one.

A request takes files while it is sent, opened or answered and its short link has
not passed its expiry; cancelled and expired requests take none, whichever door the
files come through (X-on's ``POST /v1/files`` with ``fileRequestId``, the patient
page's upload tickets, the embedded storage endpoint receiving such a ticket's
bytes). The periodic sweep marks a request ``expired`` a few minutes after its link
lapses; the link's own expiry is what counts, so that gap is no way in.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from filerequests.models import FileRequest


def file_request_closed_reason(
    file_request: FileRequest, *, now: dt.datetime | None = None
) -> str | None:
    """Why the request takes no more files (a sentence for the caller), or None."""
    now = now or timezone.now()
    if file_request.status == FileRequest.Status.CANCELLED:
        return "This file request was cancelled; it accepts no more files."
    if file_request.status == FileRequest.Status.EXPIRED or file_request.link_has_expired(now):
        return "This file request has expired; it accepts no more files."
    return None


def upload_ticket_seconds(file_request: FileRequest, *, now: dt.datetime | None = None) -> int:
    """How long an upload ticket for this request may last: the usual time, but never
    past the request's link, so a ticket issued just before it expires cannot be used
    after (the signed policy's own expiry is what S3 enforces). 0: none may be issued."""
    now = now or timezone.now()
    seconds = settings.FILES_UPLOAD_TICKET_SECONDS
    if file_request.short_link_expires_at is not None:
        left = int((file_request.short_link_expires_at - now).total_seconds())
        seconds = min(seconds, max(0, left))
    return seconds


def ticket_closed_reason(ticket) -> str | None:
    """Why an upload ticket issued for a file request may no longer be used (the request
    was cancelled or has expired since), or None; registered with ``files.tickets.policies``."""
    if ticket.file_request_id is None:
        return None
    return file_request_closed_reason(ticket.file_request)
