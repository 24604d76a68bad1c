"""The ground floor: accounts, staff, patients, API keys and the API plumbing, audit and
webhooks. It imports nothing above it; the project shell (settings, URLs, the Celery app)
is ``config``."""
