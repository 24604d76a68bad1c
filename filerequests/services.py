"""State changes of file requests: create, notify, check the date of birth, answer,
cancel, expire. Every write that also publishes an event lives here."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from filerequests.models import (
    AddressThrottle,
    FileRequest,
    Notification,
    ReplacedShortLink,
    ReplyText,
    link_policy,
)
from filerequests.request_templates import request_template_get
from filerequests.selectors import file_request_files
from filerequests.shortlinks import short_link_id_new, short_link_url
from filerequests.sms import SmsPermanentError, SmsTemporaryError, sms_backend
from filerequests.staff_notifications import photos_arrived_queue
from files.body_sites import BodySiteError, body_site_clean
from files.models import File
from portal.accounts.models import Account, Staff
from portal.audit.services import Actor, audit_record
from portal.clientip import client_throttle_key
from portal.ids import parse_uuid
from portal.patients.services import patient_find_or_create_shell
from portal.sendlimits import DAY, Refusal, SendLimit, at_words
from portal.throttle import WindowLimit, retry_after_seconds
from portal.webhooks import events
from portal.webhooks.services import event_record

logger = logging.getLogger(__name__)

# "Use the default expiry" as distinct from None, which means "never expires".
DEFAULT_EXPIRY = object()


class FileRequestInputError(ValueError):
    """The caller's input cannot make a request; ``field`` names the culprit."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class FileRequestStateError(ValueError):
    """The request is in a state that does not allow this change."""


# --- Staff --------------------------------------------------------------------


def staff_find_or_create_shell(
    *, account: Account, actor: Actor, staff_id=None, account_user_id: str = "", staff_name: str
) -> Staff:
    """The account's staff member by ``staffId``, else by ``accountUserId``, else a new
    shell staff member (seed 004: "If no staff user is found with the provided ID, a new
    'shell' user is created").

    An unknown ``staffId`` without ``accountUserId`` names the shell: it becomes the
    shell's id, so the answer's ``staffId`` is the one sent and the next request finds
    the same person. Only if that id is already another clinic's staff member (never
    used, never revealed) does the shell get an id of its own, remembered as its
    ``account_user_id`` so it is found again all the same.
    """
    staff_uuid = parse_uuid(staff_id) if staff_id else None
    if staff_uuid is not None:
        found = Staff.objects.filter(account=account, pk=staff_uuid).first()
        if found is not None:
            return found
        if not account_user_id:
            account_user_id = str(staff_uuid)
    existing = Staff.objects.filter(account=account, account_user_id=account_user_id).first()
    if existing is not None:
        return existing
    shell_fields = {
        "account": account,
        "user": None,
        "display_name": staff_name[:200],
        "is_shell": True,
    }
    try:
        with transaction.atomic():
            if staff_uuid is not None and account_user_id == str(staff_uuid):
                if Staff.objects.filter(pk=staff_uuid).exists():
                    staff = Staff.objects.create(account_user_id=account_user_id, **shell_fields)
                else:
                    staff = Staff.objects.create(pk=staff_uuid, **shell_fields)
            else:
                staff = Staff.objects.create(account_user_id=account_user_id, **shell_fields)
    except IntegrityError:
        # Another request created the same shell staff member a moment ago.
        by_id = Staff.objects.filter(account=account, pk=staff_uuid) if staff_uuid else None
        if by_id is not None and by_id.exists():
            return by_id.get()
        return Staff.objects.get(account=account, account_user_id=account_user_id)
    audit_record(account=account, actor=actor, action="staff.create_shell", target=staff)
    return staff


# --- Create, notify -------------------------------------------------------------


def default_short_link_expiry(now: datetime) -> datetime | None:
    seconds = settings.FILE_REQUEST_SHORT_LINK_TTL_SECONDS
    return now + timedelta(seconds=seconds) if seconds > 0 else None


@transaction.atomic
def file_request_create(
    *,
    account: Account,
    actor: Actor,
    type: str,
    staff_name: str,
    patient_mobile,
    patient_date_of_birth: date,
    sender_account_id: str = "",
    prompt: str = "",
    staff_id=None,
    account_user_id: str = "",
    patient_first_name: str = "",
    patient_last_name: str = "",
    patient_nhs_number: str = "",
    files_update_webhook_url: str = "",
    short_link_expires_at=DEFAULT_EXPIRY,
    full_resolution: bool = False,
    template_id=None,
    body_site_code: str = "",
    body_site_side: str = "",
) -> FileRequest:
    """Create a request, find or create its patient and staff, and queue the text message.

    The patient is the account's patient with this mobile *and* date of birth
    (families share phones), else a new shell patient. ``sender_account_id`` is the
    sending system's id of its own account (X-on's ``accountId``): kept and answered as
    sent, it never chooses the clinic, which is ``account`` (the API key's).

    ``template_id`` names one of the clinic's templates: its photo slots are copied onto
    the request, and its message is the prompt when none is given. Another clinic's
    template is refused like a made-up id. ``body_site_*`` is checked against the
    shipped list (``files.body_sites``).
    """
    template, slots = request_template_for(account=account, template_id=template_id)
    if template is not None and not prompt.strip():
        prompt = template.message
    try:
        body_site_code, body_site_side = body_site_clean(body_site_code, body_site_side)
    except BodySiteError as exc:
        raise FileRequestInputError("bodySite", exc.message) from None
    now = timezone.now()
    if short_link_expires_at is DEFAULT_EXPIRY:
        short_link_expires_at = default_short_link_expiry(now)
    elif short_link_expires_at is not None and short_link_expires_at <= now:
        raise FileRequestInputError("shortLinkExpiresAt", "The expiry must be in the future.")
    staff = staff_find_or_create_shell(
        account=account,
        actor=actor,
        staff_id=staff_id,
        account_user_id=account_user_id,
        staff_name=staff_name,
    )
    patient = patient_find_or_create_shell(
        account=account,
        actor=actor,
        mobile=patient_mobile,
        date_of_birth=patient_date_of_birth,
        first_name=patient_first_name,
        last_name=patient_last_name,
        nhs_number=patient_nhs_number,
    )
    file_request = FileRequest.objects.create(
        account=account,
        patient=patient,
        staff=staff,
        staff_name=staff_name,
        prompt=prompt,
        type=type,
        short_link_id=short_link_id_new(),
        short_link_expires_at=short_link_expires_at,
        files_update_webhook_url=files_update_webhook_url,
        sender_account_id=sender_account_id,
        full_resolution=full_resolution,
        template=template,
        slots=slots,
        body_site_code=body_site_code,
        body_site_side=body_site_side,
        created_by_label=actor.label,
        created_at=now,
    )
    audit_record(account=account, actor=actor, action="file_request.create", target=file_request)
    event_record(
        account=account,
        type=events.FILE_REQUEST_CREATED,
        data=file_request_event_data(file_request),
    )
    notification_queue(file_request=file_request)
    return file_request


def request_template_for(*, account: Account, template_id) -> tuple:
    """``(template, slots to copy)`` for a ``templateId``; ``(None, [])`` for none."""
    if template_id in (None, ""):
        return None, []
    template = request_template_get(account=account, template_id=template_id)
    if template is None:
        raise FileRequestInputError(
            "templateId", "No request template with this id in your clinic."
        )
    return template, template.slot_snapshot()


def file_request_event_data(file_request: FileRequest) -> dict:
    """Thin event data: ids and state, nothing about the patient beyond the id."""
    return {
        "fileRequestId": str(file_request.id),
        "patientId": str(file_request.patient_id),
        "staffId": str(file_request.staff_id),
        "status": file_request.status,
    }


def sms_text(file_request: FileRequest) -> str:
    """The text message. It names the clinic and the link, never anything clinical."""
    return (
        f"{file_request.account.name} has asked you for photos. "
        f"Open this link to send them: {short_link_url(file_request.short_link_id)}"
    )


def notification_body(notification: Notification) -> str:
    """A reply after review says its own words (``ReplyText``); any other message is the
    request's text with its link."""
    reply = ReplyText.objects.filter(notification=notification).first()
    return reply.body if reply is not None else sms_text(notification.file_request)


def notification_queue(*, file_request: FileRequest) -> Notification:
    """Record a queued text message and send it from a worker once this transaction commits."""
    notification = Notification.objects.create(file_request=file_request)
    # robust: a broker that is down must not fail the committed request; the
    # periodic sweep queues the message again (sending is idempotent).
    transaction.on_commit(partial(notification_send_task.delay, str(notification.id)), robust=True)
    return notification


def notification_requeue_stale(*, now=None) -> int:
    """Queue again messages still 'queued' and never tried after ten minutes (the
    broker was down at commit, or the task was lost)."""
    now = now or timezone.now()
    stale = Notification.objects.filter(
        status=Notification.Status.QUEUED,
        attempts=0,
        created_at__lt=now - timedelta(minutes=10),
        created_at__gte=now - timedelta(days=1),
    ).values_list("pk", flat=True)[:500]
    for notification_id in stale:
        notification_send_task.delay(str(notification_id))
    return len(stale)


def notification_send(*, notification_id, final_attempt: bool = True) -> Notification | None:
    """Send one queued message. Idempotent: a message already sent is not sent again.

    A temporary failure is raised again (after its attempt is recorded) for the
    task to retry, unless this was the final attempt; then, like a permanent
    failure, it marks the message failed. The row stays locked while sending,
    so two workers holding the same task never both send it.
    """
    retry_error: SmsTemporaryError | None = None
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("file_request__account", "file_request__patient")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None or notification.status != Notification.Status.QUEUED:
            return notification
        file_request = notification.file_request
        backend = sms_backend()
        notification.attempts += 1
        notification.backend = backend.name
        try:
            receipt = backend.send(
                to=file_request.patient.mobile.as_e164,
                body=notification_body(notification),
                reference=str(notification.id),
            )
        except SmsTemporaryError as exc:
            if final_attempt:
                notification_mark_failed(notification, str(exc))
                return notification
            notification.error = str(exc)[:300]
            notification.save(update_fields=["attempts", "backend", "error"])
            retry_error = exc
        except SmsPermanentError as exc:
            notification_mark_failed(notification, str(exc))
            return notification
        else:
            notification.status = Notification.Status.SENT
            notification.sent_at = timezone.now()
            notification.provider_message_id = receipt.provider_message_id[:100]
            notification.error = ""
            notification.save()
            audit_record(
                account=file_request.account,
                actor=Actor.system(),
                action="file_request.notification_sent",
                target=file_request,
                detail={"notification_id": str(notification.id), "backend": backend.name},
            )
    if retry_error is not None:
        raise retry_error
    return notification


def notification_mark_failed(notification: Notification, reason: str) -> None:
    notification.status = Notification.Status.FAILED
    notification.failed_at = timezone.now()
    notification.error = reason[:300]
    notification.save()
    logger.warning("SMS for file request %s failed: %s", notification.file_request_id, reason)
    audit_record(
        account=notification.file_request.account,
        actor=Actor.system(),
        action="file_request.notification_failed",
        target=notification.file_request,
        detail={"notification_id": str(notification.id), "reason": reason[:200]},
    )


class TextLimitReached(Exception):
    """A resend that would text the patient sooner, or more often, than allowed."""

    def __init__(self, refusal: Refusal, now: datetime):
        self.refusal = refusal
        self.retry_after_seconds = refusal.retry_after_seconds(now)
        if refusal.reason == "cooldown":
            message = (
                f"A text was sent to the patient {refusal.cooldown_words()} ago, with the "
                f"same link. {refusal.try_again_words(now)}"
            )
        else:
            message = (
                f"This request has already been texted {refusal.per_day} times in 24 hours. "
                f"The next text can go after {at_words(refusal.retry_at, now)}."
            )
        super().__init__(message)


def text_limit() -> SendLimit:
    return SendLimit(
        cooldown=timedelta(seconds=settings.FILE_REQUEST_RESEND_COOLDOWN_SECONDS),
        per_day=settings.FILE_REQUEST_TEXTS_PER_DAY,
    )


@transaction.atomic
def file_request_resend(*, file_request: FileRequest, actor: Actor) -> Notification:
    """Send the link again (a new message; the link itself does not change).

    Every text of the request counts, the first included: none goes within the
    cooldown of the last, nor past the day's cap (``TextLimitReached``, nothing sent).
    The request's row lock makes two resends at once wait for each other."""
    file_request = FileRequest.objects.select_for_update().get(pk=file_request.pk)
    file_request_expire_if_due(file_request)
    if not file_request.accepts_answers():
        raise FileRequestStateError(
            f"A {file_request.status} request cannot be sent again; create a new request."
        )
    now = timezone.now()
    sent = file_request.notifications.filter(created_at__gt=now - DAY).values_list(
        "created_at", flat=True
    )
    refusal = text_limit().refusal(sent, now)
    if refusal is not None:
        raise TextLimitReached(refusal, now)
    notification = notification_queue(file_request=file_request)
    audit_record(
        account=file_request.account,
        actor=actor,
        action="file_request.resend",
        target=file_request,
        detail={"notification_id": str(notification.id)},
    )
    return notification


# --- Links a newer one replaced -------------------------------------------------------


def short_link_replace(file_request: FileRequest) -> str:
    """Give the request a new short link id (saved by the caller, in its transaction),
    remembering the old one, which then opens nothing but a page saying a newer text
    was sent. Answers the new id."""
    ReplacedShortLink.objects.create(
        short_link_id=file_request.short_link_id, file_request=file_request
    )
    file_request.short_link_id = short_link_id_new()
    return file_request.short_link_id


def short_link_replaced(*, short_link_id: str) -> ReplacedShortLink | None:
    return (
        ReplacedShortLink.objects.select_related("file_request__account")
        .filter(short_link_id=short_link_id)
        .first()
    )


def file_request_newer_link(*, file_request: FileRequest) -> FileRequest | None:
    """A request sent after this one lapsed, asking the same patient again (staff's
    "ask again" of an expired request), whose link still works."""
    for newer in file_request.follow_ups.order_by("-created_at"):
        if newer.accepts_answers():
            return newer
    return None


# --- Cancel, expire ----------------------------------------------------------------


@transaction.atomic
def file_request_cancel(*, file_request: FileRequest, actor: Actor) -> FileRequest:
    """Close the link at once. Cancelling a cancelled request changes nothing."""
    file_request = (
        FileRequest.objects.select_for_update().select_related("account").get(pk=file_request.pk)
    )
    if file_request.status == FileRequest.Status.CANCELLED:
        return file_request
    if file_request.status == FileRequest.Status.EXPIRED:
        raise FileRequestStateError("The request has expired; there is nothing to cancel.")
    file_request.status = FileRequest.Status.CANCELLED
    file_request.cancelled_at = timezone.now()
    file_request.save(update_fields=["status", "cancelled_at", "updated_at"])
    audit_record(
        account=file_request.account, actor=actor, action="file_request.cancel", target=file_request
    )
    return file_request


def file_request_expire_if_due(file_request: FileRequest, now=None) -> bool:
    """Mark an unanswered request whose link has passed its expiry as expired.

    Call inside a transaction holding the row's lock. An answered request keeps
    its status (the link stops working all the same).
    """
    now = now or timezone.now()
    if file_request.status not in (FileRequest.Status.SENT, FileRequest.Status.OPENED):
        return False
    if not file_request.link_has_expired(now):
        return False
    file_request.status = FileRequest.Status.EXPIRED
    file_request.expired_at = now
    file_request.save(update_fields=["status", "expired_at", "updated_at"])
    audit_record(
        account=file_request.account,
        actor=Actor.system(),
        action="file_request.expire",
        target=file_request,
    )
    event_record(
        account=file_request.account,
        type=events.FILE_REQUEST_EXPIRED,
        data=file_request_event_data(file_request),
    )
    return True


def file_request_expire_by_id(*, file_request_id, now=None) -> bool:
    with transaction.atomic():
        file_request = (
            FileRequest.objects.select_for_update(of=("self",))
            .select_related("account")
            .filter(pk=file_request_id)
            .first()
        )
        return bool(file_request) and file_request_expire_if_due(file_request, now)


def file_request_expire_due(*, now=None) -> int:
    """The periodic sweep: expire every request whose link has passed its expiry."""
    now = now or timezone.now()
    due_ids = list(
        FileRequest.objects.filter(
            status__in=[FileRequest.Status.SENT, FileRequest.Status.OPENED],
            short_link_expires_at__lte=now,
        ).values_list("pk", flat=True)[:1000]
    )
    expired = 0
    for file_request_id in due_ids:
        expired += file_request_expire_by_id(file_request_id=file_request_id, now=now)
    AddressThrottle.objects.filter(window_start__lt=now - timedelta(days=1)).delete()
    file_request_publish_abandoned_batches(now=now)
    notification_requeue_stale(now=now)
    return expired


def file_request_publish_abandoned_batches(*, now=None) -> int:
    """Announce photos a patient confirmed but never pressed "Send" for (the phone died,
    the tab closed): after ``FILE_REQUEST_ABANDONED_BATCH_SECONDS`` they are published
    as one batch, so the clinic never misses a photo that arrived."""
    now = now or timezone.now()
    quiet_since = now - timedelta(seconds=settings.FILE_REQUEST_ABANDONED_BATCH_SECONDS)
    candidates = File.objects.filter(
        file_request__isnull=False, created_at__gte=now - timedelta(days=30)
    ).values_list("file_request_id", "id", "created_at")
    latest: dict = {}
    files_of: dict = {}
    for file_request_id, file_id, created_at in candidates:
        files_of.setdefault(file_request_id, set()).add(str(file_id))
        latest[file_request_id] = max(latest.get(file_request_id, created_at), created_at)
    announced = dict(
        FileRequest.objects.filter(pk__in=list(files_of)).values_list("pk", "announced_file_ids")
    )
    published = 0
    for file_request_id, file_ids in files_of.items():
        if latest[file_request_id] > quiet_since or file_ids <= set(
            announced.get(file_request_id) or []
        ):
            continue
        file_request = FileRequest.objects.get(pk=file_request_id)
        published += bool(
            file_request_publish_files_update(file_request=file_request, actor=Actor.system())
        )
    return published


# --- The patient's date-of-birth check --------------------------------------------


@dataclass(frozen=True)
class DobCheck:
    """What the check decided. ``outcome`` is one of: ``verified``, ``wrong``,
    ``locked``, ``throttled``, ``unavailable`` (expired or cancelled), ``unknown``."""

    outcome: str
    file_request: FileRequest | None = None
    attempts_left: int | None = None
    retry_after: int | None = None


def address_limit() -> WindowLimit:
    """Wrong answers (or unknown links, counted apart) from one client per clock hour."""
    return WindowLimit(
        limit=settings.FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR, window=timedelta(hours=1)
    )


def address_failures(address: str | None, now: datetime, kind: str) -> int:
    if not address:
        return 0
    row = AddressThrottle.objects.filter(
        address=address, kind=kind, window_start=address_limit().window_start(now)
    ).first()
    return row.failures if row else 0


def address_record_failure(
    address: str | None, now: datetime, kind: str = AddressThrottle.Kind.WRONG_ANSWER
) -> None:
    """Count one failure of this kind for this client key in the current hour, atomically."""
    if not address:
        return
    window_start = address_limit().window_start(now)
    try:
        with transaction.atomic():
            row, _ = AddressThrottle.objects.get_or_create(
                address=address, kind=kind, window_start=window_start
            )
    except IntegrityError:  # a parallel request made the row first
        row = AddressThrottle.objects.get(address=address, kind=kind, window_start=window_start)
    AddressThrottle.objects.filter(pk=row.pk).update(failures=F("failures") + 1)


def address_throttled_for(address: str | None, now: datetime, kind: str) -> int | None:
    """Seconds until this client may try again, or None when it is under the limit."""
    return address_limit().retry_after(address_failures(address, now, kind), now)


def unknown_link_tried(*, request) -> DobCheck:
    """Someone asked for a short link that does not exist: count it against their client
    key, apart from wrong answers on live links, and say when they have tried too many.

    Guessing link ids is the attack this slows (a link is the patient's credential); it
    never holds back anyone answering a link that exists.
    """
    now = timezone.now()
    address = client_throttle_key(request)
    kind = AddressThrottle.Kind.UNKNOWN_LINK
    if retry_after := address_throttled_for(address, now, kind):
        return DobCheck("throttled", retry_after=retry_after)
    address_record_failure(address, now, kind)
    return DobCheck("unknown")


def dob_check(*, short_link_id: str, date_of_birth: date, request) -> DobCheck:
    """Check the date of birth a visitor gave for a short link.

    The row is locked (``select_for_update``) while the answer is checked and
    counted, so parallel guesses are serialised and can never exceed the limit.
    After ``FILE_REQUEST_DOB_MAX_ATTEMPTS`` wrong answers the link locks for a
    period that doubles with each lockout: that is the brute-force control.

    Wrong answers are also counted per client (portal.clientip: the address behind
    a trusted proxy, an IPv6 client's /64) per hour across all links. A client past
    ``FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR`` gets 429 for a wrong answer, which
    still counts against its link; a right answer on a live link is never refused by
    this count, because a shared address (CGNAT, a clinic's Wi-Fi, a proxy) is many
    patients, and strangers' guesses must not lock them out. Unknown links are
    counted apart (``unknown_link_tried``). Every failure is an audit event.
    """
    now = timezone.now()
    address = client_throttle_key(request)

    with transaction.atomic():
        file_request = (
            FileRequest.objects.select_for_update(of=("self",))
            .select_related("account", "patient")
            .filter(short_link_id=short_link_id)
            .first()
        )
        if file_request is None:
            outcome = None
        else:
            outcome = dob_check_locked_row(file_request, date_of_birth, request, now)
    if outcome is None:
        return unknown_link_tried(request=request)
    if outcome.outcome not in ("wrong", "locked"):
        return outcome
    retry_after = address_throttled_for(address, now, AddressThrottle.Kind.WRONG_ANSWER)
    address_record_failure(address, now)
    if retry_after is not None and outcome.outcome == "wrong":
        audit_record(
            account=outcome.file_request.account,
            actor=Actor.for_patient_link(outcome.file_request.id),
            action="file_request.dob_check_throttled",
            target=outcome.file_request,
            request=request,
        )
        return DobCheck("throttled", outcome.file_request, retry_after=retry_after)
    return outcome


def dob_check_locked_row(file_request, date_of_birth, request, now) -> DobCheck:
    actor = Actor.for_patient_link(file_request.id)
    file_request_expire_if_due(file_request, now)
    if not file_request.accepts_answers(now):
        return DobCheck("unavailable", file_request)
    if file_request.is_locked(now):
        audit_record(
            account=file_request.account,
            actor=actor,
            action="file_request.dob_check_while_locked",
            target=file_request,
            request=request,
        )
        return DobCheck(
            "locked",
            file_request,
            retry_after=retry_after_seconds(file_request.locked_until, now),
        )

    if date_of_birth == file_request.patient.date_of_birth:
        first_open = file_request.opened_at is None
        # The count starts again; the link's back-off is never forgotten.
        policy = link_policy()
        policy.success_count(file_request, forget_back_off=False)
        if first_open:
            file_request.opened_at = now
        if file_request.status == FileRequest.Status.SENT:
            file_request.status = FileRequest.Status.OPENED
        file_request.save(
            update_fields=[*policy.columns.names(), "opened_at", "status", "updated_at"]
        )
        audit_record(
            account=file_request.account,
            actor=actor,
            action="file_request.dob_check_passed",
            target=file_request,
            request=request,
        )
        if first_open:
            event_record(
                account=file_request.account,
                type=events.FILE_REQUEST_OPENED,
                data=file_request_event_data(file_request),
            )
        return DobCheck("verified", file_request)

    policy = link_policy()
    failure = policy.failure_count(file_request, now)
    audit_record(
        account=file_request.account,
        actor=actor,
        action="file_request.dob_check_failed",
        target=file_request,
        request=request,
        detail={"attempt": failure.attempt, "of": policy.max_failures},
    )
    file_request.save(update_fields=[*policy.columns.names(), "updated_at"])
    if failure.pause is not None:
        audit_record(
            account=file_request.account,
            actor=actor,
            action="file_request.link_locked",
            target=file_request,
            request=request,
            detail={
                "lockout": file_request.lockout_count,
                "locked_until": file_request.locked_until.isoformat(),
            },
        )
        return DobCheck(
            "locked",
            file_request,
            attempts_left=0,
            retry_after=failure.pause.retry_after_seconds(now),
        )
    return DobCheck("wrong", file_request, attempts_left=policy.max_failures - failure.attempt)


# --- Answers: the files.update event ---------------------------------------------------


def file_request_event_summary(file_request: FileRequest, files: list) -> dict:
    """The ``fileRequest`` inside X-on's ``file-request.files.update`` body: ids and
    non-identifying facts only (no prompt, names, notes or file names)."""
    return {
        "id": str(file_request.id),
        "accountId": file_request.account_id_as_sent,
        "createdAt": file_request.created_at.isoformat(),
        "patientId": str(file_request.patient_id),
        "staffId": str(file_request.staff_id),
        "status": file_request.status,
        "type": file_request.type,
        "shortLinkExpiresAt": (
            file_request.short_link_expires_at.isoformat()
            if file_request.short_link_expires_at
            else None
        ),
        "files": [
            {
                "id": str(file.id),
                "createdAt": file.created_at.isoformat(),
                "state": getattr(file, "state", None),
            }
            for file in files
        ],
    }


@transaction.atomic
def file_request_publish_files_update(
    *, file_request: FileRequest, actor: Actor | None = None, request=None
):
    """Announce the files not yet announced, as one ``file-request.files.update`` event,
    and mark the request answered. Returns the event, or None when nothing is new.

    Called when the patient presses "Send"; the body is X-on's ``{"event": {...}}``
    and goes to the account's endpoints and to ``filesUpdateWebhookUrl``.
    """
    file_request = (
        FileRequest.objects.select_for_update().select_related("account").get(pk=file_request.pk)
    )
    files = file_request_files(file_request=file_request)
    announced = set(file_request.announced_file_ids)
    added = [str(file.id) for file in files if str(file.id) not in announced]
    if not added:
        return None
    now = timezone.now()
    file_request.announced_file_ids = [*file_request.announced_file_ids, *added]
    if file_request.status in (FileRequest.Status.SENT, FileRequest.Status.OPENED):
        file_request.status = FileRequest.Status.ANSWERED
    file_request.answered_at = file_request.answered_at or now
    file_request.save(update_fields=["announced_file_ids", "status", "answered_at", "updated_at"])
    audit_record(
        account=file_request.account,
        actor=actor or Actor.for_patient_link(file_request.id),
        action="file_request.answer",
        target=file_request,
        request=request,
        detail={"added_file_ids": added},
    )
    # The staff member who asked hears of it by e-mail, if they chose to (after commit).
    photos_arrived_queue(file_request=file_request, file_ids=added)
    return files_update_record(
        file_request=file_request, files=files, added=added, removed=[], now=now
    )


@transaction.atomic
def file_request_publish_files_removed(
    *, file_request: FileRequest, file_ids: list[str], actor: Actor, request=None
):
    """Announce that files already announced are gone, as one ``file-request.files.update``
    event with ``removedFileIds`` (X-on's field for it). Used when a batch is refused after
    its files were announced: without it a receiver would keep ids that only ever answer
    as rejected. Returns the event, or None when none of ``file_ids`` was announced."""
    file_request = (
        FileRequest.objects.select_for_update().select_related("account").get(pk=file_request.pk)
    )
    announced = set(file_request.announced_file_ids)
    removed = [str(file_id) for file_id in file_ids if str(file_id) in announced]
    if not removed:
        return None
    audit_record(
        account=file_request.account,
        actor=actor,
        action="file_request.files_remove",
        target=file_request,
        request=request,
        detail={"removed_file_ids": removed},
    )
    return files_update_record(
        file_request=file_request,
        files=file_request_files(file_request=file_request),
        added=[],
        removed=removed,
        now=timezone.now(),
    )


def files_update_record(*, file_request: FileRequest, files, added, removed, now):
    """Record one ``file-request.files.update`` event in X-on's ``{"event": {...}}`` body,
    for the account's endpoints and the request's ``filesUpdateWebhookUrl``."""
    event_id = uuid.uuid4()
    body = {
        "event": {
            "id": str(event_id),
            "createdAt": now.isoformat(),
            "type": events.FILE_REQUEST_FILES_UPDATE,
            "fileRequest": file_request_event_summary(file_request, files),
            "addedFileIds": added,
            "removedFileIds": removed,
        }
    }
    extra_urls = (
        [file_request.files_update_webhook_url] if file_request.files_update_webhook_url else []
    )
    data = {"fileRequestId": str(file_request.id), "addedFileIds": added}
    if removed:
        data["removedFileIds"] = removed
    event = event_record(
        account=file_request.account,
        type=events.FILE_REQUEST_FILES_UPDATE,
        data=data,
        body=body,
        extra_urls=extra_urls,
    )
    # One id for the outbox row and the body, so receivers can de-duplicate on it.
    if str(event.id) != str(event_id):
        body["event"]["id"] = str(event.id)
        body["event"]["createdAt"] = event.created_at.isoformat()
        event.payload = body
        event.save(update_fields=["payload"])
    return event


# The task that sends a text, beside the services that queue it (filerequests.tasks names
# it for Celery's discovery).
@shared_task(
    name="filerequests.send_notification",
    bind=True,
    acks_late=True,
    max_retries=None,  # bounded by SMS_SEND_MAX_RETRIES below, read at run time
    soft_time_limit=60,
    time_limit=90,
)
def notification_send_task(self, notification_id: str) -> None:
    """Send a queued text message; retry temporary failures with growing back-off."""
    maximum = settings.SMS_SEND_MAX_RETRIES
    final_attempt = self.request.retries >= maximum
    try:
        notification_send(notification_id=notification_id, final_attempt=final_attempt)
    except SmsTemporaryError as exc:
        # 10 s, 20 s, 40 s… capped at ten minutes.
        raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc
