"""Reads for the review inbox: files patients have sent that no one has reviewed yet.

A file is "to review" once it has come in answer to a request (``file_request`` set)
and finished processing (ready or rejected: a rejected photo is news too), until a
staff member marks it reviewed. The count is one indexed query (the partial index
``file_awaiting_review``), cheap enough for every page's navigation.
"""

from __future__ import annotations

from django.db.models import Count, Max, Prefetch, Q, QuerySet

from filerequests.models import FileRequest
from files.models import File
from portal.accounts.models import Account, Staff

DONE_STATES = (File.State.READY, File.State.REJECTED)


def files_to_review(*, account: Account, staff: Staff | None = None) -> QuerySet[File]:
    files = File.objects.filter(
        account=account,
        file_request__isnull=False,
        reviewed_at__isnull=True,
        state__in=DONE_STATES,
    )
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
    )
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
            )
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
