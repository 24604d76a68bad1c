"""Reads for the review inbox: every new file no one has reviewed yet, whatever door it
came through, and the requests whose text message never reached the patient (until the
text is sent again, or the request answered, cancelled or over).

A file is "to review" once it has finished processing (ready or rejected: a rejected
photo is news too), until a staff member marks it reviewed. Files answering a request
are shown under their request; files of the other doors (the practice system, a PDF
letter, the patient's app, a colleague's upload) under their patient and door, in the
words of ``File.Source``. The count is one indexed query (the partial index
``file_awaiting_review_any_door``), cheap enough for every page's navigation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Max, OuterRef, Prefetch, Q, QuerySet, Subquery

from filerequests.models import FileRequest, Notification, RecordReport
from files.models import File
from portal.accounts.models import Account, Staff
from portal.patients.models import Patient

DONE_STATES = (File.State.READY, File.State.REJECTED)
# What the clinic made itself (a report saved to the record) is not news to it.
NOT_NEWS = (File.Source.REPORT,)
# Thumbnails shown on one row of the inbox.
ROW_FILES = 4


def files_to_review(*, account: Account, staff: Staff | None = None) -> QuerySet[File]:
    """Files of every door waiting for review; with ``staff``, those of their requests.
    A file of no patient (the practice system's upload for a staff member) is not one:
    the inbox is of patients."""
    files = File.objects.filter(
        account=account, reviewed_at__isnull=True, state__in=DONE_STATES, patient__isnull=False
    ).exclude(source__in=NOT_NEWS)
    if staff is not None:
        files = files.filter(file_request__staff=staff)
    return files


def review_counts(*, account: Account, staff: Staff) -> dict[str, int]:
    """``{"clinic": n, "mine": m}``: files to review in the clinic, and of requests
    ``staff`` sent, in one query."""
    counts = files_to_review(account=account).aggregate(
        clinic=Count("pk"), mine=Count("pk", filter=Q(file_request__staff=staff))
    )
    return {"clinic": counts["clinic"] or 0, "mine": counts["mine"] or 0}


def review_inbox(*, account: Account, staff: Staff | None = None) -> QuerySet[FileRequest]:
    """Requests with files to review, the latest arrival first; each with ``to_review``
    (how many), ``arrived_at`` (the latest) and ``files_to_review`` (prefetched)."""
    waiting = Q(
        files__reviewed_at__isnull=True,
        files__state__in=DONE_STATES,
    ) & ~Q(files__source__in=NOT_NEWS)
    requests = (
        FileRequest.objects.filter(account=account)
        .annotate(
            to_review=Count("files", filter=waiting),
            arrived_at=Max("files__created_at", filter=waiting),
        )
        .filter(to_review__gt=0)
        .select_related("patient", "staff")
        .prefetch_related(
            Prefetch(
                "files",
                queryset=File.objects.filter(
                    reviewed_at__isnull=True, state__in=DONE_STATES
                ).order_by("created_at", "id"),
                to_attr="files_to_review",
            ),
            Prefetch(
                "record_reports",
                queryset=RecordReport.objects.filter(saved_at__isnull=False).order_by("-saved_at"),
                to_attr="prefetched_saved_reports",
            ),
        )
    )
    if staff is not None:
        requests = requests.filter(staff=staff)
    return requests.order_by("-arrived_at", "-id")


def arrivals_for(*, account: Account, staff: Staff, limit: int = 5) -> list[dict]:
    """The latest requests of ``staff`` with new files, for the page's live notice:
    ids and times only, so the browser can tell what is new since it last looked."""
    rows = (
        FileRequest.objects.filter(account=account, staff=staff)
        .annotate(
            arrived_at=Max(
                "files__created_at",
                filter=Q(files__reviewed_at__isnull=True, files__state__in=DONE_STATES),
            )
        )
        .filter(arrived_at__isnull=False)
        .order_by("-arrived_at")
        .values("id", "arrived_at")[:limit]
    )
    return [{"id": str(row["id"]), "arrivedAt": row["arrived_at"].isoformat()} for row in rows]


@dataclass
class InboxRow:
    """One row of the inbox: a request with new files, or one patient's new files of one
    other door (``source``). ``file_ids`` are the files Mark reviewed marks: those shown."""

    arrived_at: dt.datetime
    patient: Patient
    to_review: int
    file_request: FileRequest | None = None
    source: str = ""
    files: list[File] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)
    # The request's latest text, when it did not reach the patient.
    undelivered: Notification | None = None

    @property
    def key(self) -> str:
        if self.file_request is not None:
            return str(self.file_request.pk)
        return f"{self.patient.pk}-{self.source}"

    @property
    def source_label(self) -> str:
        return File.Source(self.source).label if self.source in File.Source else "Received"


def door_rows(*, account: Account) -> list[InboxRow]:
    """New files that answer no request, one row per patient and door, the latest first:
    one grouped query, however many files wait."""
    groups = (
        files_to_review(account=account)
        .filter(file_request__isnull=True)
        .values("patient_id", "source")
        .annotate(n=Count("pk"), arrived_at=Max("created_at"))
        .order_by("-arrived_at")
    )
    groups = list(groups)
    patients = Patient.objects.in_bulk([g["patient_id"] for g in groups if g["patient_id"]])
    return [
        InboxRow(
            arrived_at=group["arrived_at"],
            patient=patients[group["patient_id"]],
            to_review=group["n"],
            source=group["source"],
        )
        for group in groups
        if group["patient_id"] in patients
    ]


def door_rows_fill(*, account: Account, rows: list[InboxRow]) -> None:
    """The files of each door row on a page (its first few, oldest first) and their ids,
    in one query for the whole page."""
    door = [row for row in rows if row.file_request is None]
    if not door:
        return
    wanted = Q(pk__in=[])
    for row in door:
        wanted |= Q(patient=row.patient, source=row.source)
    files = (
        files_to_review(account=account)
        .filter(wanted, file_request__isnull=True)
        .order_by("created_at", "id")
    )
    by_row: dict[tuple, list[File]] = {}
    for file in files:
        by_row.setdefault((file.patient_id, file.source), []).append(file)
    for row in door:
        found = by_row.get((row.patient.pk, row.source), [])
        row.files = found[:ROW_FILES]
        row.file_ids = [str(f.pk) for f in found]


def undelivered_texts(*, account: Account, staff: Staff | None = None) -> list[Notification]:
    """The latest text of each request still waiting for the patient whose text the
    provider could not send or the network could not deliver."""
    latest = Notification.objects.filter(file_request=OuterRef("pk")).order_by("-created_at")
    requests = FileRequest.objects.filter(
        account=account, status__in=(FileRequest.Status.SENT, FileRequest.Status.OPENED)
    ).annotate(latest_text=Subquery(latest.values("pk")[:1]))
    if staff is not None:
        requests = requests.filter(staff=staff)
    texts = (
        Notification.objects.filter(pk__in=requests.values("latest_text"))
        .filter(Q(status=Notification.Status.FAILED) | Q(delivery=Notification.Delivery.FAILED))
        .select_related("file_request__patient", "file_request__staff")
    )
    return [text for text in texts if text.file_request.accepts_answers()]


def inbox_rows(*, account: Account, staff: Staff | None = None) -> list[InboxRow]:
    """The whole inbox, the latest arrival first: requests with new files, requests whose
    text was not delivered (with the reason) and, for the whole clinic (``staff`` None),
    each patient's new files of the other doors."""
    rows = [
        InboxRow(
            arrived_at=request.arrived_at,
            patient=request.patient,
            to_review=request.to_review,
            file_request=request,
            source=File.Source.REQUEST,
            files=request.files_to_review[:ROW_FILES],
        )
        for request in review_inbox(account=account, staff=staff)
    ]
    by_request = {row.file_request.pk: row for row in rows}
    for text in undelivered_texts(account=account, staff=staff):
        row = by_request.get(text.file_request_id)
        if row is None:
            rows.append(
                InboxRow(
                    arrived_at=text.delivery_at or text.failed_at or text.created_at,
                    patient=text.file_request.patient,
                    to_review=0,
                    file_request=text.file_request,
                    undelivered=text,
                )
            )
        else:
            row.undelivered = text
    if staff is None:
        rows += door_rows(account=account)
    rows.sort(key=lambda row: row.arrived_at, reverse=True)
    return rows
