"""WSGI entry point, for gunicorn and any other WSGI server."""

from django.core.wsgi import get_wsgi_application

import config  # noqa: F401  (names the settings module, loads the Celery app)

application = get_wsgi_application()
