"""Celery tasks of file requests: thin wrappers that call services with primary keys.

Celery finds an app's tasks here. The text message's, the staff e-mail's and the record
report's are defined beside the services they run and that queue them (``services``,
``staff_notifications``, ``record_reports``) and named here for that discovery."""

from __future__ import annotations

from celery import shared_task

from filerequests import services
from filerequests.record_reports import record_report_make_task
from filerequests.services import notification_send_task
from filerequests.staff_notifications import photos_arrived_email_task


@shared_task(name="filerequests.expire_due", acks_late=True, soft_time_limit=120, time_limit=180)
def expire_due_task() -> int:
    return services.file_request_expire_due()


__all__ = [
    "expire_due_task",
    "notification_send_task",
    "photos_arrived_email_task",
    "record_report_make_task",
]
