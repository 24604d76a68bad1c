"""The project shell: settings, URLs, the Celery app, WSGI, middleware, health, metrics,
the embedded supervisor and broker, and gunicorn. It sits above every app; no app imports it."""
