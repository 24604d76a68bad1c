"""Celery tasks of file requests: thin wrappers that call services with primary keys."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from filerequests import services
from filerequests.sms import SmsTemporaryError


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
        services.notification_send(notification_id=notification_id, final_attempt=final_attempt)
    except SmsTemporaryError as exc:
        # 10 s, 20 s, 40 s… capped at ten minutes.
        raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc


@shared_task(name="filerequests.expire_due", acks_late=True, soft_time_limit=120, time_limit=180)
def expire_due_task() -> int:
    return services.file_request_expire_due()


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
    from filerequests.staff_notifications import photos_arrived_email_send

    return photos_arrived_email_send(file_request_id=file_request_id, file_ids=file_ids)


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
    from filerequests.record_reports import record_report_make
    from portal.audit.services import Actor

    record_report_make(report_id=report_id, actor=Actor(actor_kind, actor_id, actor_label))
