"""Reads of file requests, always within one account."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from filerequests.models import FileRequest, Notification, RecordReport
from files.models import File
from portal.accounts.models import Account
from portal.ids import parse_uuid

LOCKED = "locked"


def file_request_status_shown(file_request: FileRequest, *, now=None) -> tuple[str, str]:
    """The status staff are shown, ``(code, word)``, wherever a request appears: the one
    place that decides it. A link the date-of-birth check locked reads "Locked" while
    the patient could otherwise still answer; a link that has lapsed reads "Expired"
    before the sweep has marked it."""
    now = now or timezone.now()
    if file_request.accepts_answers(now) and file_request.is_locked(now):
        return LOCKED, "Locked"
    if file_request.status in (FileRequest.Status.SENT, FileRequest.Status.OPENED) and (
        file_request.link_has_expired(now)
    ):
        return FileRequest.Status.EXPIRED, FileRequest.Status.EXPIRED.label
    return file_request.status, file_request.get_status_display()


def file_request_get(*, account: Account, file_request_id) -> FileRequest | None:
    """The account's request with this id; None for a missing *or foreign* id."""
    request_uuid = parse_uuid(file_request_id)
    if request_uuid is None:
        return None
    return (
        FileRequest.objects.select_related("account", "patient", "staff")
        .filter(account=account, pk=request_uuid)
        .first()
    )


def file_request_list(
    *,
    account: Account,
    statuses: list[str] | None = None,
    patient_id=None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[FileRequest]:
    requests = (
        FileRequest.objects.select_related("account", "patient", "staff")
        .filter(account=account)
        .prefetch_related(*answer_prefetches())
    )
    if statuses:
        requests = requests.filter(status__in=statuses)
    if patient_id is not None:
        requests = requests.filter(patient_id=patient_id)
    if created_after is not None:
        requests = requests.filter(created_at__gte=created_after)
    if created_before is not None:
        requests = requests.filter(created_at__lt=created_before)
    return requests.order_by("-created_at", "-id")


def answer_prefetches() -> list[Prefetch]:
    """Prefetch a page of requests' files (with facets) and notifications at once, so a
    list costs the same few queries however many requests it shows."""
    return [
        Prefetch(
            "files",
            queryset=File.objects.prefetch_related("facets").order_by("created_at", "id"),
            to_attr="prefetched_files",
        ),
        Prefetch(
            "notifications",
            queryset=Notification.objects.filter(reply__isnull=True).order_by("-created_at"),
            to_attr="prefetched_notifications",
        ),
        Prefetch(
            "record_reports",
            queryset=RecordReport.objects.filter(saved_at__isnull=False).order_by("-saved_at"),
            to_attr="prefetched_saved_reports",
        ),
    ]


def file_request_file_get(*, file_request: FileRequest, file_id) -> File | None:
    """One of the files the patient sent in answer to ``file_request`` (one query), or None
    for another request's file and malformed ids alike."""
    parsed = parse_uuid(file_id)
    if parsed is None:
        return None
    return File.objects.filter(
        account_id=file_request.account_id, file_request=file_request, pk=parsed
    ).first()


def file_request_files(*, file_request: FileRequest) -> list[File]:
    """The files the patient sent in answer, oldest first, with their facets.

    For the API and the dashboard: each File has ``state`` (pending, processing,
    ready, rejected) and ``facets`` (``thumbnail`` once ready).
    """
    if hasattr(file_request, "prefetched_files"):
        return file_request.prefetched_files
    return list(
        File.objects.filter(account_id=file_request.account_id, file_request=file_request)
        .prefetch_related("facets")
        .order_by("created_at", "id")
    )
