"""The free trial's file space: 10 files and 1 MB in all per account (seed 000).

Every File of the account counts except those the pipeline rejected (their
bytes are not kept as the account's) and those whose bytes the retention sweep
has removed. A file not yet measured counts at the size its upload has in
storage. Doors call ``upload_size_limit`` when they hand out an upload ticket,
so the ticket's size range is what is left, and ``trial_quota_check`` when the
bytes are known, inside the transaction that creates the record, with the
account row locked so two uploads cannot both take the last place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Sum
from django.utils import timezone

from files.models import Facet, File, UploadTicket
from portal.accounts.models import Account
from portal.service_errors import QuotaExceeded, TooMany


class TrialQuotaExceeded(QuotaExceeded):
    """The upload would take the account past the trial's file space; says how."""

    def __init__(self, message: str, *, reason: str, code: str = "trial_quota_exceeded"):
        super().__init__(message, code=code)
        self.reason = reason  # "files" or "bytes"


@dataclass(frozen=True)
class TrialUsage:
    files: int
    bytes: int
    max_files: int
    max_bytes: int

    @property
    def files_left(self) -> int:
        return max(0, self.max_files - self.files)

    @property
    def bytes_left(self) -> int:
        return max(0, self.max_bytes - self.bytes)

    def describe(self) -> str:
        return (
            f"Free trial accounts may keep {self.max_files} files of "
            f"{self.max_bytes:,} bytes in all; this account has {self.files} files of "
            f"{self.bytes:,} bytes."
        )


def counted_files(account: Account):
    return File.objects.filter(account=account, purged_at__isnull=True).exclude(
        state=File.State.REJECTED
    )


def stored_size(file) -> int:
    """The size of a file not yet measured: its ticket's record, else its object."""
    ticket = getattr(file, "upload_ticket", None)
    if ticket is not None and ticket.uploaded_size is not None:
        return ticket.uploaded_size
    if file.temp_key:
        try:
            return default_storage.size(file.temp_key)
        except (FileNotFoundError, OSError):
            return 0
    return 0


def rendition_bytes(*, account: Account) -> int:
    """Bytes of the ``imageSize`` renditions kept for the account's counted files: they are
    stored for the account, so they use its space (files.pipeline.renditions)."""
    return (
        Facet.objects.filter(
            file__in=counted_files(account),
            name__startswith="rendition:",
            state=Facet.State.READY,
        ).aggregate(total=Sum("size"))["total"]
        or 0
    )


def trial_usage(*, account: Account) -> TrialUsage | None:
    """What the account uses of the trial's space; None for a full account."""
    if not account.is_trial:
        return None
    files = counted_files(account)
    measured = files.filter(size__isnull=False).aggregate(total=Sum("size"))["total"] or 0
    unmeasured_files = files.filter(size__isnull=True).select_related("upload_ticket")
    unmeasured = sum(stored_size(file) for file in unmeasured_files)
    return TrialUsage(
        files=files.count(),
        bytes=measured + unmeasured + rendition_bytes(account=account),
        max_files=settings.FILES_TRIAL_MAX_FILES,
        max_bytes=settings.FILES_TRIAL_MAX_BYTES,
    )


def upload_size_limit(*, account: Account, largest: int | None = None) -> int:
    """The largest upload a ticket may allow now; raises when no file may be added."""
    largest = largest or settings.FILES_MAX_UPLOAD_BYTES
    usage = trial_usage(account=account)
    if usage is None:
        return largest
    if usage.files_left == 0:
        raise TrialQuotaExceeded(
            f"The free trial's limit of {usage.max_files} files is reached. {usage.describe()}",
            reason="files",
        )
    if usage.bytes_left == 0:
        raise TrialQuotaExceeded(
            f"The free trial's {usage.max_bytes:,} bytes of file space are used. "
            f"{usage.describe()}",
            reason="bytes",
        )
    return min(largest, usage.bytes_left)


def trial_quota_check(*, account: Account, adding_bytes: int) -> None:
    """Raise unless one more file of ``adding_bytes`` fits. Lock the account row first
    (``account_lock``) when the check guards a write."""
    trial_quota_check_many(account=account, sizes=[adding_bytes])


def trial_quota_check_many(*, account: Account, sizes: list[int]) -> None:
    """Raise unless all these files fit together (one request may carry several)."""
    usage = trial_usage(account=account)
    if usage is None or not sizes:
        return
    if usage.files_left < len(sizes):
        raise TrialQuotaExceeded(
            f"The free trial's limit of {usage.max_files} files is reached"
            + (f" ({len(sizes)} sent, {usage.files_left} left)" if len(sizes) > 1 else "")
            + f". {usage.describe()}",
            reason="files",
        )
    adding_bytes = sum(sizes)
    if adding_bytes > usage.bytes_left:
        what = (
            f"This file of {adding_bytes:,} bytes does"
            if len(sizes) == 1
            else (f"These {len(sizes)} files of {adding_bytes:,} bytes do")
        )
        raise TrialQuotaExceeded(
            f"{what} not fit in the {usage.bytes_left:,} bytes left of the free trial's "
            f"file space. {usage.describe()}",
            reason="bytes",
        )


def trial_usage_assert_within(*, account: Account) -> None:
    """Raise when the account already holds more than the trial allows (checked after
    adding a file whose size was only known once it was stored)."""
    usage = trial_usage(account=account)
    if usage is not None and (usage.files > usage.max_files or usage.bytes > usage.max_bytes):
        raise TrialQuotaExceeded(
            f"The upload takes the account past the free trial's file space. {usage.describe()}",
            reason="bytes" if usage.bytes > usage.max_bytes else "files",
        )


def account_lock(account: Account) -> None:
    """Serialise quota-checked writes of one trial account (inside a transaction).

    Full accounts have no quota, so their uploads never wait on each other here."""
    if account.is_trial:
        Account.objects.select_for_update().filter(pk=account.pk).first()


# --- Unconfirmed bytes: what ticket holders may park in storage -------------------------


class UnconfirmedBytesExceeded(TooMany):
    """Too many bytes wait unconfirmed for this request or patient; says how much. Not the
    trial's space: they lapse within minutes, so waiting is the remedy."""

    reason = "unconfirmed"

    def __init__(self, message: str):
        super().__init__(message, code="unconfirmed_bytes_exceeded")


def unconfirmed_bytes(tickets, *, now: dt.datetime | None = None) -> int:
    """Bytes these tickets hold or may still receive before anyone confirms them.

    A ticket that can still be used counts its whole size range (one ticket stores one
    object); one that has expired counts what it was seen to hold (the endpoint's record,
    or the sweep's measure), and its whole range until it has been looked at. Confirmed,
    abandoned and swept tickets count nothing: their bytes are files, or gone.
    """
    now = now or timezone.now()
    waiting = tickets.filter(
        state__in=[UploadTicket.State.ISSUED, UploadTicket.State.UPLOADED],
        swept_at__isnull=True,
    ).values_list("max_size", "uploaded_size", "expires_at")
    total = 0
    for max_size, uploaded_size, expires_at in waiting:
        if expires_at > now:
            total += max(max_size, uploaded_size or 0)
        else:
            total += max_size if uploaded_size is None else uploaded_size
    return total


def unconfirmed_bytes_check(*, account: Account, patient, file_request, adding: int) -> None:
    """Raise ``UnconfirmedBytesExceeded`` unless a new ticket of ``adding`` bytes keeps
    the file request and the patient within their limits of unconfirmed bytes."""
    minutes = max(1, settings.FILES_UPLOAD_TICKET_SECONDS // 60)
    scopes = []
    if file_request is not None:
        scopes.append(
            (
                "this file request",
                UploadTicket.objects.filter(file_request=file_request),
                settings.FILES_UNCONFIRMED_MAX_BYTES_PER_REQUEST,
            )
        )
    scopes.append(
        (
            "this patient" if patient is not None else "uploads without a patient",
            UploadTicket.objects.filter(account=account, patient=patient),
            settings.FILES_UNCONFIRMED_MAX_BYTES_PER_PATIENT,
        )
    )
    for label, tickets, limit in scopes:
        waiting = unconfirmed_bytes(tickets)
        if waiting + adding > limit:
            raise UnconfirmedBytesExceeded(
                f"Uploads of {waiting:,} bytes for {label} are waiting to be confirmed, and "
                f"at most {limit:,} bytes may wait at once. Confirm the uploads already "
                f"sent, or let their upload tickets lapse (about {minutes} minutes), then "
                "ask for a new one."
            )
