"""What staff do with a request once it is out: unlock a link a patient locked by
mistake, mark what the patient sent as reviewed, ask for more.

Each is one transaction with its audit event; the text message of an unlock or a
follow-up is queued to send after commit (``services.notification_queue``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from filerequests import services
from filerequests.models import FileRequest, Notification, Outcome, ReplyText
from filerequests.replies import MAX_REPLY_LENGTH
from files.models import File
from portal.accounts.models import Staff
from portal.audit.services import Actor, audit_record


@transaction.atomic
def file_request_unlock_and_resend(*, file_request: FileRequest, actor: Actor) -> FileRequest:
    """Open a link the date-of-birth check locked, and text the patient a new one.

    The short link id is the credential, and five wrong answers may mean someone
    other than the patient holds it: so the old link dies (a new id replaces it) and
    the new one goes only to the mobile on record. The attempt counter starts again.
    """
    file_request = (
        FileRequest.objects.select_for_update(of=("self",))
        .select_related("account", "patient")
        .get(pk=file_request.pk)
    )
    services.file_request_expire_if_due(file_request)
    if not file_request.accepts_answers():
        raise services.FileRequestStateError(
            f"A {file_request.status} request cannot be unlocked; create a new request."
        )
    if not file_request.is_locked():
        raise services.FileRequestStateError("This link is not locked.")
    if not file_request.patient.mobile:
        raise services.FileRequestStateError(
            "The patient has no mobile number to text a new link to."
        )
    locked_until = file_request.locked_until
    services.short_link_replace(file_request)
    file_request.locked_until = None
    file_request.failed_attempts = 0
    file_request.save(
        update_fields=["short_link_id", "locked_until", "failed_attempts", "updated_at"]
    )
    notification = services.notification_queue(file_request=file_request)
    audit_record(
        account=file_request.account,
        actor=actor,
        action="file_request.unlock",
        target=file_request,
        detail={
            "was_locked_until": locked_until.isoformat(),
            "notification_id": str(notification.id),
        },
    )
    return file_request


@transaction.atomic
def file_request_mark_reviewed(*, file_request: FileRequest, staff: Staff, actor: Actor) -> int:
    """Mark every file the patient has sent for this request as reviewed by ``staff``,
    now. Files already reviewed keep their first reviewer. Returns how many changed."""
    now = timezone.now()
    file_ids = list(
        File.objects.select_for_update()
        .filter(
            account_id=file_request.account_id,
            file_request=file_request,
            reviewed_at__isnull=True,
        )
        .exclude(state__in=(File.State.PENDING, File.State.PROCESSING))
        .values_list("pk", flat=True)
    )
    if not file_ids:
        return 0
    File.objects.filter(pk__in=file_ids).update(reviewed_at=now, reviewed_by=staff)
    audit_record(
        account=file_request.account,
        actor=actor,
        action="file_request.review",
        target=file_request,
        detail={"file_ids": [str(file_id) for file_id in file_ids]},
    )
    return len(file_ids)


class ReviewInputError(ValueError):
    """A review the form must refuse; ``field`` is the one to show it beside."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


NOTE_MAX_LENGTH = 2000


@dataclass(frozen=True)
class Review:
    """What a review did: how many files it marked, and the reply queued, if any."""

    files_marked: int
    reply: Notification | None


def review_input_check(*, file_request: FileRequest, outcome: str, note: str, reply_text: str):
    if outcome not in Outcome.values:
        raise ReviewInputError("outcome", "Choose an outcome.")
    if outcome == Outcome.OTHER and not note:
        raise ReviewInputError(
            "note", "Write a note saying what happens next: the outcome is Other."
        )
    if len(note) > NOTE_MAX_LENGTH:
        raise ReviewInputError("note", f"Keep the note to {NOTE_MAX_LENGTH} characters.")
    if reply_text:
        if len(reply_text) > MAX_REPLY_LENGTH:
            raise ReviewInputError(
                "reply_text", f"A reply can be at most {MAX_REPLY_LENGTH} characters (four texts)."
            )
        if not file_request.patient.mobile:
            raise ReviewInputError(
                "reply_text", "The patient has no mobile number to text a reply to."
            )


@transaction.atomic
def file_request_review(
    *,
    file_request: FileRequest,
    staff: Staff,
    actor: Actor,
    outcome: str,
    note: str = "",
    reply_text: str = "",
    reply_template_name: str = "",
) -> Review:
    """Mark what the patient sent as reviewed, with the outcome (and its note: one is
    required for "other"), and text the patient ``reply_text`` if given, through the
    same path as the request's own text (queued, sent by the worker, retried). Each part
    is audited. Reviewing again records the new outcome (the files keep their first
    reviewer). Raises ``ReviewInputError``."""
    note, reply_text = note.strip(), reply_text.strip()
    file_request = (
        FileRequest.objects.select_for_update(of=("self",))
        .select_related("account", "patient")
        .get(pk=file_request.pk)
    )
    review_input_check(file_request=file_request, outcome=outcome, note=note, reply_text=reply_text)
    marked = file_request_mark_reviewed(file_request=file_request, staff=staff, actor=actor)
    file_request.review_outcome = outcome
    file_request.review_note = note
    file_request.review_outcome_at = timezone.now()
    file_request.review_outcome_by = staff
    file_request.review_outcome_by_name = (staff.display_name or str(staff))[:200]
    file_request.save(
        update_fields=[
            "review_outcome",
            "review_note",
            "review_outcome_at",
            "review_outcome_by",
            "review_outcome_by_name",
            "updated_at",
        ]
    )
    audit_record(
        account=file_request.account,
        actor=actor,
        action="file_request.outcome",
        target=file_request,
        detail={"outcome": outcome, "note": bool(note)},
    )
    reply = None
    if reply_text:
        reply = reply_queue(
            file_request=file_request,
            staff=staff,
            actor=actor,
            body=reply_text,
            template_name=reply_template_name,
        )
    return Review(files_marked=marked, reply=reply)


def reply_queue(
    *, file_request: FileRequest, staff: Staff, actor: Actor, body: str, template_name: str
) -> Notification:
    """Queue a reply text: a ``Notification`` sent by the same task as the request's own
    text, with its words kept beside it (``ReplyText``)."""
    notification = services.notification_queue(file_request=file_request)
    ReplyText.objects.create(
        notification=notification,
        body=body,
        template_name=template_name[:80],
        staff_name=(staff.display_name or str(staff))[:200],
    )
    audit_record(
        account=file_request.account,
        actor=actor,
        action="file_request.reply",
        target=file_request,
        detail={"notification_id": str(notification.id), "template": template_name[:80]},
    )
    return notification


@transaction.atomic
def file_request_follow_up_create(
    *,
    file_request: FileRequest,
    staff: Staff,
    actor: Actor,
    prompt: str,
    short_link_expires_at: datetime,
) -> FileRequest:
    """Ask the same patient for more: a new request (its own link and text message),
    linked to the first by ``follow_up_of``, answering the sending system's account id
    of the first, so that system files it under the same account. The first request's
    files count as reviewed by whoever asked for more: they have seen them."""
    patient = file_request.patient
    if not patient.mobile:
        raise services.FileRequestStateError(
            "The patient has no mobile number. Add one to their details first."
        )
    follow_up = services.file_request_create(
        account=file_request.account,
        actor=actor,
        type=file_request.type,
        staff_id=staff.id,
        staff_name=staff.display_name or str(staff),
        patient_mobile=patient.mobile,
        patient_date_of_birth=patient.date_of_birth,
        patient_first_name=patient.first_name,
        patient_last_name=patient.last_name,
        prompt=prompt,
        short_link_expires_at=short_link_expires_at,
        sender_account_id=file_request.sender_account_id,
    )
    follow_up.follow_up_of = file_request
    follow_up.save(update_fields=["follow_up_of", "updated_at"])
    audit_record(
        account=file_request.account,
        actor=actor,
        action="file_request.follow_up",
        target=file_request,
        detail={"follow_up_id": str(follow_up.id)},
    )
    file_request_mark_reviewed(file_request=file_request, staff=staff, actor=actor)
    return follow_up
