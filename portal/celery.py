"""The Celery application. Configuration comes from Django settings (``CELERY_*``)."""

import os

from celery import Celery

from portal import sqlite_broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# The embedded shape's broker (``sqlite-queue://``, portal/sqlite_broker.py).
sqlite_broker.register()

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
