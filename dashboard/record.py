"""The patient record: every file of one patient, whatever door it came through.

A file reaches a patient by six doors (a patient answering a request, the X-on files
API, Cliniko's presigned upload, Claros's PDF upload, Medable's photo property, the
dashboard); each names itself in ``File.source`` when it makes the file, and the record
shows that door in words and filters by it, in the same one query that reads the files,
their request and their attachment: the page costs the same however many files it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import groupby

from django.db.models import Q, QuerySet
from django.utils import timezone

from attachments.models import PatientAttachment
from files.models import File
from portal.accounts.models import Account
from portal.patients.models import Patient

KIND_PHOTO = "photo"
KIND_DOCUMENT = "document"
KIND_CHOICES = [(KIND_PHOTO, "Photos"), (KIND_DOCUMENT, "Documents")]

GROUP_DATE = "date"
GROUP_REQUEST = "request"
GROUP_SITE = "site"
GROUP_CHOICES = [
    (GROUP_DATE, "By date"),
    (GROUP_REQUEST, "By request"),
    (GROUP_SITE, "By body site"),
]

ARCHIVED_EXCLUDE = "exclude"
ARCHIVED_ONLY = "only"


def is_photo_q() -> Q:
    """Images by the type detected from the bytes, or (while still processing) declared."""
    return Q(mime_type__startswith="image/") | Q(mime_type="", declared_type__startswith="image/")


def patient_record_files(
    *,
    account: Account,
    patient: Patient,
    source: str = "",
    kind: str = "",
    archived: str = ARCHIVED_EXCLUDE,
) -> QuerySet[File]:
    """The patient's files, newest first, each with ``source``, its request (and who
    asked), its attachment and its reviewer, in one query. Archived attachments are
    left out unless ``archived="only"``."""
    files = File.objects.filter(account=account, patient=patient).select_related(
        "file_request", "patient_attachment", "reviewed_by__user"
    )
    if archived == ARCHIVED_ONLY:
        files = files.filter(patient_attachment__archived_at__isnull=False)
    else:
        files = files.filter(
            Q(patient_attachment__isnull=True) | Q(patient_attachment__archived_at__isnull=True)
        )
    if source in File.Source.values:
        files = files.filter(source=source)
    if kind == KIND_PHOTO:
        files = files.filter(is_photo_q())
    elif kind == KIND_DOCUMENT:
        files = files.exclude(is_photo_q())
    return files.order_by("-created_at", "-id")


def archived_attachment_count(*, account: Account, patient: Patient) -> int:
    return PatientAttachment.objects.filter(
        account=account, patient=patient, archived_at__isnull=False
    ).count()


@dataclass
class RecordGroup:
    """Files shown under one heading: a day, or one request (``file_request``)."""

    key: str
    heading: str
    files: list[File]
    file_request: object = None


def site_groups(files: list[File]) -> list[RecordGroup]:
    """One group per body site and side, in the order of their newest file."""
    order: dict[tuple[str, str], RecordGroup] = {}
    for file in files:
        place = (file.body_site_code, file.body_site_side)
        if place not in order:
            heading = file.body_site_label or "No body site given"
            order[place] = RecordGroup(f"site-{place[0] or 'none'}-{place[1]}", heading, [])
        order[place].files.append(file)
    return sorted(order.values(), key=lambda group: group.key == "site-none-")


def day_heading(day: date) -> str:
    today = timezone.localdate()
    if day == today:
        return "Today"
    if (today - day).days == 1:
        return "Yesterday"
    return f"{day:%A} {day.day} {day:%B %Y}"


def record_groups(files: list[File], *, group: str) -> list[RecordGroup]:
    """Group a page of files (already newest first) by day, or by the request that
    asked for them (files from other doors grouped by their door), or by body site (the
    place photographed most recently first; files with none last)."""
    if group == GROUP_SITE:
        return site_groups(files)
    if group == GROUP_REQUEST:
        order: dict[str, RecordGroup] = {}
        for file in files:
            if file.file_request_id:
                key = f"request-{file.file_request_id}"
                heading = "Request: " + (file.file_request.prompt or "Photos")
                request = file.file_request
            else:
                key = f"source-{file.source}"
                heading = file.get_source_display() or "Received"
                request = None
            if key not in order:
                order[key] = RecordGroup(key, heading, [], request)
            order[key].files.append(file)
        return list(order.values())
    groups = []
    for day, day_files in groupby(files, key=lambda f: timezone.localtime(f.created_at).date()):
        groups.append(RecordGroup(f"day-{day.isoformat()}", day_heading(day), list(day_files)))
    return groups
