"""Save to record: one PDF of a request (or of any set of one patient's files) for the
patient's legal record, which lives in the practice's clinical system.

The PDF is made by the worker, never in a web process (it decodes every photo), and
stored as a file of the patient through the same pipeline as any upload: checked by the
portal's own PDF check, listed in the record, downloadable, offered to record systems
as a FHIR DocumentReference, audited. ``RecordReport`` remembers which files it shows
and a fingerprint of what it says; while that still holds, saving again reuses it
rather than filing a second copy.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import shared_task
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from PIL import Image

from filerequests.models import FileRequest, Notification, RecordReport
from filerequests.report_content import ReportContent, ReportItem
from files.models import Facet, File, Purpose
from files.services import file_create_from_stream
from portal.accounts.models import Account, Staff
from portal.audit.services import Actor, audit_record
from portal.patients.ages import age_short
from portal.patients.models import Patient

logger = logging.getLogger(__name__)

# Files still on their way through processing: a report waits for them.
UNFINISHED = (File.State.PENDING, File.State.PROCESSING)
# The longest side of a photo as drawn in the report: sharp on a printed A4 page, and a
# report of many photos stays a few megabytes.
PHOTO_LONGEST_SIDE = 2000
# Seconds a caller is asked to wait while the worker makes the report.
RETRY_AFTER_SECONDS = 5
# A report still not made after this long is asked of the worker again.
REQUEUE_AFTER = timedelta(minutes=2)

MAKING, READY, FAILED = "making", "ready", "failed"


class ReportRefused(ValueError):
    """Nothing can be reported (no file has arrived yet, or the files are not one
    patient's of this clinic); the message says why, in words."""


@dataclass(frozen=True)
class Progress:
    """Where a report stands: ``making`` (the worker is on it, or its PDF is being
    checked), ``ready`` (``report.file`` can be served) or ``failed`` (``reason``)."""

    state: str
    reason: str = ""


def report_progress(report: RecordReport) -> Progress:
    if report.state == RecordReport.State.FAILED:
        return Progress(FAILED, report.failure_reason or "The report could not be made.")
    file = report.file
    if report.state == RecordReport.State.MAKING or file is None or file.state in UNFINISHED:
        return Progress(MAKING)
    if file.state == File.State.REJECTED:
        return Progress(FAILED, f"The portal refused the report: {file.rejection_reason}")
    return Progress(READY)


# --- What a report shows ----------------------------------------------------------------


def request_files(file_request: FileRequest) -> list[File]:
    """The files a request's report shows: all that have finished processing, in the
    order they arrived."""
    return list(
        File.objects.filter(account_id=file_request.account_id, file_request=file_request)
        .exclude(state__in=UNFINISHED)
        .select_related("reviewed_by")
        .order_by("created_at", "id")
    )


def replies_of(file_request: FileRequest) -> list[Notification]:
    return list(
        Notification.objects.filter(file_request=file_request, reply__isnull=False)
        .select_related("reply")
        .order_by("created_at")
    )


def fingerprint(*, files: list[File], file_request: FileRequest | None) -> str:
    """What the report says, summed up: a change to any of it (a photo arrived or was
    reviewed, an outcome recorded, a reply sent) makes a new report."""
    parts = [f"{f.id}:{f.state}:{f.sha256}:{f.reviewed_at}:{f.reviewed_by_id}" for f in files]
    if file_request is not None:
        parts.append(
            f"request:{file_request.id}:{file_request.review_outcome}:"
            f"{file_request.review_note}:{file_request.review_outcome_at}"
        )
        parts += [f"reply:{n.id}" for n in replies_of(file_request)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def report_current(
    *, account: Account, file_request: FileRequest | None, files: list[File]
) -> RecordReport | None:
    """The latest report that still says what it would say now (and has not failed)."""
    reports = RecordReport.objects.filter(account=account).exclude(state=RecordReport.State.FAILED)
    if file_request is not None:
        reports = reports.filter(file_request=file_request)
    else:
        reports = reports.filter(file_request__isnull=True)
    report = (
        reports.filter(fingerprint=fingerprint(files=files, file_request=file_request))
        .select_related("file")
        .order_by("-created_at")
        .first()
    )
    if report is not None and report_progress(report).state == FAILED:
        return None
    return report


def latest_saved(file_request: FileRequest) -> RecordReport | None:
    """The latest report of the request that someone saved to the record."""
    return (
        file_request.record_reports.filter(saved_at__isnull=False)
        .select_related("file")
        .order_by("-saved_at")
        .first()
    )


# --- Asking for one ---------------------------------------------------------------------


def report_task_queue(report: RecordReport, actor: Actor) -> None:
    arguments = (str(report.id), actor.kind, actor.id, actor.label)
    transaction.on_commit(lambda: record_report_make_task.delay(*arguments), robust=True)


@transaction.atomic
def record_report_request(
    *,
    account: Account,
    actor: Actor,
    file_request: FileRequest | None = None,
    files: list[File] | None = None,
) -> RecordReport:
    """The report of ``file_request`` (or of ``files``, one patient's), current: the
    one already made while it still holds, else a new one the worker makes.

    Raises ``ReportRefused`` when there is nothing to report, or the files are not
    all one patient's of ``account``."""
    if file_request is not None:
        file_request = FileRequest.objects.select_for_update().get(
            pk=file_request.pk, account=account
        )
        files = request_files(file_request)
        if not files:
            raise ReportRefused("Nothing to save yet: no photos have arrived for this request.")
        patient = file_request.patient
    else:
        files = sorted(files or [], key=lambda f: (f.created_at, str(f.id)))
        if not files:
            raise ReportRefused("Choose at least one file.")
        patients = {f.patient_id for f in files}
        if len(patients) != 1 or None in patients or any(f.account_id != account.id for f in files):
            raise ReportRefused("A report holds the files of one patient of this clinic.")
        if any(f.state in UNFINISHED for f in files):
            raise ReportRefused("Some of these files are still being processed.")
        patient = files[0].patient
    report = report_current(account=account, file_request=file_request, files=files)
    if report is not None:
        if report.state == RecordReport.State.MAKING and report.created_at < (
            timezone.now() - REQUEUE_AFTER
        ):
            # Its task was lost (the broker was down when it was asked, or the worker
            # died): ask again. Making is idempotent, so a late first task does no harm.
            report_task_queue(report, actor)
        return report
    report = RecordReport.objects.create(
        account=account,
        patient=patient,
        file_request=file_request,
        file_ids=[str(f.id) for f in files],
        fingerprint=fingerprint(files=files, file_request=file_request),
        requested_by_label=actor.label[:200],
    )
    audit_record(
        account=account,
        actor=actor,
        action="record_report.request",
        target=file_request or report,
        detail={"record_report_id": str(report.id), "file_ids": report.file_ids},
    )
    report_task_queue(report, actor)
    return report


@transaction.atomic
def file_request_save_to_record(
    *, file_request: FileRequest, staff: Staff, actor: Actor
) -> RecordReport:
    """Save the request's report to the patient's record: the current report (made now
    if need be), marked "saved to record by <staff> at <now>" the first time, audited
    every time. Raises ``ReportRefused``."""
    report = record_report_request(
        account=file_request.account, actor=actor, file_request=file_request
    )
    report = RecordReport.objects.select_for_update().get(pk=report.pk)
    if report.saved_at is None:
        report.saved_at = timezone.now()
        report.saved_by = staff
        report.saved_by_name = (staff.display_name or str(staff))[:200]
        report.save(update_fields=["saved_at", "saved_by", "saved_by_name"])
    audit_record(
        account=file_request.account,
        actor=actor,
        action="file_request.save_to_record",
        target=file_request,
        detail={"record_report_id": str(report.id)},
    )
    return report


# --- Making it (the worker) ---------------------------------------------------------------


def when(moment: datetime | None) -> str:
    """``6 Dec 2026, 09:41 GMT``: local time, saying which zone."""
    if moment is None:
        return "—"
    local = timezone.localtime(moment)
    return f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def banner_born(patient: Patient) -> str:
    if not patient.date_of_birth:
        return "not known"
    born = patient.date_of_birth
    return f"{born.day:02d}-{born:%b-%Y} ({age_short(born)})"


def photo_for_page(file: File) -> bytes | None:
    """The cleaned original, shrunk to ``PHOTO_LONGEST_SIDE`` and re-encoded as JPEG for
    the page; None if it is not an image or its bytes are not there."""
    if not file.is_image:
        return None
    facet = file.facets.filter(name=Facet.CONTENT, state=Facet.State.READY).first()
    if facet is None:
        return None
    with default_storage.open(facet.storage_key, "rb") as stored, Image.open(stored) as image:
        image.thumbnail((PHOTO_LONGEST_SIDE, PHOTO_LONGEST_SIDE))
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def reviewed_words(file: File) -> str:
    if file.reviewed_at is None:
        return "Not reviewed yet"
    who = file.reviewed_by.display_name if file.reviewed_by else "a colleague"
    return f"{who}, {when(file.reviewed_at)}"


def item_for(file: File, number: int, count: int) -> ReportItem:
    kind = "Photo" if file.is_image or file.mime_type.startswith("image/") else "File"
    heading = f"{kind} {number} of {count}"
    if file.display_name:
        heading += f": {file.display_name}"
    facts = [("Arrived", when(file.created_at))]
    if file.state == File.State.REJECTED:
        facts.append(("Refused", file.rejection_reason or "The portal refused this file."))
    else:
        facts.append(("SHA-256", file.sha256))
        if file.width and file.height:
            facts.append(("Size", f"{file.width} by {file.height} pixels"))
        if not file.is_image:
            facts.append(("Type", f"{file.mime_type}: in the patient's record beside this"))
    facts.append(("Reviewed by", reviewed_words(file)))
    image = photo_for_page(file) if file.state == File.State.READY else None
    return ReportItem(
        heading=heading,
        note=(file.description or "").strip(),
        facts=facts,
        image=image,
        image_alt=f"{heading}, sent {when(file.created_at)}",
    )


def review_rows(file_request: FileRequest, files: list[File]) -> list[tuple[str, str]]:
    reviewed = [f for f in files if f.reviewed_at is not None]
    rows = []
    if reviewed:
        last = max(reviewed, key=lambda f: f.reviewed_at)
        who = last.reviewed_by.display_name if last.reviewed_by else "a colleague"
        words = f"{who}, {when(last.reviewed_at)}"
        if len(reviewed) < len(files):
            words += f" ({len(reviewed)} of {len(files)} files)"
        rows.append(("Reviewed by", words))
    else:
        rows.append(("Reviewed by", "Not reviewed yet"))
    if file_request.review_outcome:
        rows.append(("Outcome", file_request.get_review_outcome_display()))
        if file_request.review_note:
            rows.append(("Note", file_request.review_note))
        who = file_request.review_outcome_by_name or "a colleague"
        rows.append(("Outcome recorded", f"{who}, {when(file_request.review_outcome_at)}"))
    for notification in replies_of(file_request):
        sent = notification.sent_at or notification.created_at
        rows.append(("Reply texted", f"{when(sent)}: “{notification.reply.body}”"))
    return rows


def report_content(report: RecordReport, files: list[File]) -> ReportContent:
    patient, account, file_request = report.patient, report.account, report.file_request
    items = [item_for(f, n, len(files)) for n, f in enumerate(files, start=1)]
    if file_request is not None:
        title = "Photos sent by the patient"
        summary = [
            ("Clinic", account.name),
            ("Asked by", file_request.staff_name or "—"),
            ("Asked on", when(file_request.created_at)),
            ("Photos sent", when(file_request.answered_at)),
            ("Files", str(len(files))),
        ]
        prompt, review = file_request.prompt.strip(), review_rows(file_request, files)
    else:
        title = "Files from the patient's record"
        summary = [("Clinic", account.name), ("Files", str(len(files)))]
        prompt, review = "", []
    return ReportContent(
        title=title,
        patient_name=patient.name_family_first,
        patient_born=banner_born(patient),
        nhs_number=patient.nhs_number_display,
        clinic=account.name,
        summary=summary,
        prompt=prompt,
        review=review,
        items=items,
        footer=f"Made for the record by {account.name} on {when(timezone.now())}",
    )


def report_file_name(report: RecordReport) -> str:
    patient = report.patient
    family = patient.last_name or patient.first_name or "patient"
    made = timezone.localtime(report.created_at)
    kind = "photos" if report.file_request_id else "files"
    return f"{family} {patient.first_name} {kind} {made:%Y-%m-%d %H%M}.pdf".replace("  ", " ")


def report_description(report: RecordReport) -> str:
    if report.file_request is None:
        return f"Report for the record: {len(report.file_ids)} files of the patient's record."
    prompt = report.file_request.prompt.strip() or "photos"
    if len(prompt) > 80:
        prompt = prompt[:79] + "…"
    return f"Report for the record: the photos sent for “{prompt}”, with the review."


def record_report_make(*, report_id, actor: Actor) -> RecordReport | None:
    """Make the PDF and store it as a file of the patient (pending: the pipeline checks
    it and makes it ready). Idempotent: a report already made is left as it is."""
    with transaction.atomic():
        report = (
            RecordReport.objects.select_for_update(of=("self",))
            .select_related("account", "patient", "file_request")
            .filter(pk=report_id)
            .first()
        )
        if report is None or report.state != RecordReport.State.MAKING or report.file_id:
            return report
        by_id = {
            str(f.id): f
            for f in File.objects.filter(
                account=report.account, pk__in=report.file_ids
            ).select_related("reviewed_by")
        }
        files = [by_id[i] for i in report.file_ids if i in by_id]
        # Loaded here, in the worker making a report: the PDF library takes a fifth of a
        # second to import, which every process of the portal paid when it was at the top.
        from filerequests import report_pdf

        try:
            # Times in the clinic's own zone, each with its name ("14:05 BST").
            with timezone.override(report.account.zone):
                pdf = report_pdf.render(report_content(report, files))
                name = report_file_name(report)
        except (OSError, ValueError, RuntimeError) as exc:
            logger.exception("Record report %s could not be made", report.pk)
            report.state = RecordReport.State.FAILED
            report.failure_reason = f"The report could not be made ({type(exc).__name__})."
            report.save(update_fields=["state", "failure_reason"])
            return report
        file = file_create_from_stream(
            account=report.account,
            patient=report.patient,
            purpose=Purpose.DOCUMENT,
            original_name=name,
            declared_type="application/pdf",
            source=File.Source.REPORT,
            stream=io.BytesIO(pdf),
            uploaded_by=actor,
            description=report_description(report),
        )
        report.file = file
        report.state = RecordReport.State.READY
        report.made_at = timezone.now()
        report.save(update_fields=["file", "state", "made_at"])
        audit_record(
            account=report.account,
            actor=actor,
            action="record_report.made",
            target=report.file_request or report,
            detail={"record_report_id": str(report.id), "file_id": str(file.id)},
        )
    return report


# The task that makes a report, beside the service it runs (filerequests.tasks names it
# for Celery's discovery).
@shared_task(
    name="filerequests.record_report_make",
    acks_late=True,
    autoretry_for=(OSError,),  # the file store did not answer: the photos or the PDF
    retry_backoff=10,
    max_retries=5,
    soft_time_limit=300,
    time_limit=360,
)
def record_report_make_task(
    report_id: str, actor_kind: str = "system", actor_id: str = "", actor_label: str = "system"
) -> None:
    """Make a record report's PDF and store it as a file of the patient."""
    record_report_make(report_id=report_id, actor=Actor(actor_kind, actor_id, actor_label))
