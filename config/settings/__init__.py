"""The portal's settings, for every deployment shape, read from ``PORTAL_*`` environment
variables (config/environment.py; docs/operations/configuration.md lists each).

The defaults are the *embedded* shape: SQLite, private files and a Celery broker under one
data folder, so ``make run`` needs nothing installed beside Python.
``PORTAL_DATABASE_URL``, ``PORTAL_CELERY_BROKER_URL`` and ``PORTAL_S3_*`` switch to the
*scaled* shape (PostgreSQL, Redis, S3) without a code change. ``PORTAL_ENVIRONMENT=production``
turns on the production checks: the portal refuses to start without
``PORTAL_SECRET_KEY`` and ``PORTAL_ALLOWED_HOSTS``, and ``manage.py check --deploy`` has
nothing to warn about.

One module per concern, read in this order:

- ``base``: the environment and the data folder, secrets, apps, middleware, sign-in,
  security headers, languages, static files, the REST framework and OpenAPI
- ``database``: SQLite or PostgreSQL, and their time budgets
- ``storage``: private files or S3, and their time budgets
- ``product``: how each app behaves (files, file requests, webhooks, staff, attachments)
- ``celery``: the broker, the worker, beat's lease and the beat schedule
- ``logs``: logging and error reporting
- ``messaging``: e-mail and text messages
- ``test``: only under ``PORTAL_ENVIRONMENT=test``: the suite's hooks and defaults
"""

from config.settings.base import *  # noqa: F403
from config.settings.celery import *  # noqa: F403
from config.settings.database import *  # noqa: F403
from config.settings.logs import *  # noqa: F403
from config.settings.messaging import *  # noqa: F403
from config.settings.product import *  # noqa: F403
from config.settings.storage import *  # noqa: F403

if ENVIRONMENT == "test":  # noqa: F405
    from config.settings.test import *  # noqa: F403
