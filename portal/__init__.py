"""The Clinic File Portal project: settings, URLs, the Celery app and the tenancy apps."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]
