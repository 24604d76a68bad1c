"""Celery tasks of file requests: thin wrappers that call services with primary keys.

Celery finds an app's tasks here. The staff e-mail's and the record report's are defined
beside the services they run and that queue them (``staff_notifications``,
``record_reports``) and named here for that discovery."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from filerequests import services
from filerequests.record_reports import record_report_make_task
from filerequests.sms import SmsTemporaryError
from filerequests.staff_notifications import photos_arrived_email_task


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


__all__ = [
    "expire_due_task",
    "notification_send_task",
    "photos_arrived_email_task",
    "record_report_make_task",
]
