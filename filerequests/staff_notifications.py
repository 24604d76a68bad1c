"""Telling the staff member who sent a request that the patient has answered, by e-mail
when they chose it (``Staff.notify_photos_by_email``).

The e-mail names no patient and nothing clinical (e-mail is not a private channel):
only that photos arrived for a request of theirs, and a link to sign in and see them.
Sent by a Celery task queued after the answer commits; a retried task does not send
twice (an audit event records each e-mail and is checked first).
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from filerequests.models import FileRequest
from portal.audit.models import AuditEvent
from portal.audit.services import Actor, audit_record

EMAILED = "file_request.staff_emailed"


def photos_arrived_queue(*, file_request: FileRequest, file_ids: list[str]) -> None:
    """Queue the e-mail for after this transaction commits (nothing if it rolls back)."""
    transaction.on_commit(
        lambda: photos_arrived_email_task.delay(str(file_request.id), list(file_ids)),
        robust=True,
    )


def photos_arrived_email_send(*, file_request_id: str, file_ids: list[str]) -> bool:
    """E-mail the requesting staff member about these new files, if they asked to be
    told and have an address. Returns whether an e-mail went out."""
    file_request = (
        FileRequest.objects.select_related("account", "staff__user")
        .filter(pk=file_request_id)
        .first()
    )
    if file_request is None:
        return False
    staff = file_request.staff
    if not (staff.notify_photos_by_email and staff.user_id and staff.user.email):
        return False
    key = sorted(file_ids)
    already = AuditEvent.objects.filter(
        action=EMAILED, target_id=str(file_request.id), detail__file_ids=key
    ).exists()
    if already:
        return False
    count = len(key)
    files_word = "file" if count == 1 else "files"
    url = settings.PORTAL_PUBLIC_BASE_URL.rstrip("/") + reverse(
        "dashboard:file-request-detail", kwargs={"file_request_id": file_request.id}
    )
    send_mail(
        subject=f"{file_request.account.name}: a patient sent {count} new {files_word}",
        message=(
            f"A patient has answered the photo request you sent on "
            f"{file_request.created_at:%d %b %Y}: {count} new {files_word} "
            f"to review.\n\nSign in to see them:\n{url}\n\n"
            "You get this e-mail because you chose it under Notifications in the portal. "
            "It names no patient on purpose."
        ),
        from_email=None,
        recipient_list=[staff.user.email],
    )
    audit_record(
        account=file_request.account,
        actor=Actor.system(),
        action=EMAILED,
        target=file_request,
        detail={"file_ids": key, "staff_id": str(staff.id)},
    )
    return True


# The task that sends it, beside the service it runs (filerequests.tasks names it for
# Celery's discovery).
@shared_task(
    name="filerequests.photos_arrived_email",
    acks_late=True,
    autoretry_for=(OSError,),  # the mail server refused or was unreachable
    retry_backoff=30,
    max_retries=5,
    soft_time_limit=30,
    time_limit=60,
)
def photos_arrived_email_task(file_request_id: str, file_ids: list[str]) -> bool:
    """E-mail the staff member who sent the request, if they chose to be told."""
    return photos_arrived_email_send(file_request_id=file_request_id, file_ids=file_ids)
