"""Celery tasks of this app: thin wrappers that call services."""

from celery import shared_task

from attachments.services import photo_uploads_collect


@shared_task(name="attachments.photo_uploads_collect", ignore_result=True, acks_late=True)
def photo_uploads_collect_task() -> int:
    """Every few seconds (beat): confirm Medable photo uploads whose bytes have arrived."""
    return photo_uploads_collect()
