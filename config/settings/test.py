"""The test suite's settings, on top of the others when ``PORTAL_ENVIRONMENT=test``:
hooks that exist only for tests, and defaults that suit a suite that mostly runs without a
worker. Nothing here is read in production or development."""

from __future__ import annotations

from config.environment import env
from config.settings.database import DATABASES

# Fast password hashing: the suite makes thousands of users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Texts are kept in a file the tests read (filerequests.sms.FileSmsBackend).
SMS_BACKEND = env.str("PORTAL_SMS_BACKEND", default="filerequests.sms.FileSmsBackend")
# The in-app doors answer at once; a test that runs a worker sets the wait it needs.
FILES_SYNC_WAIT_SECONDS = env.float("PORTAL_FILES_SYNC_WAIT_SECONDS", default=0.0)
# Processing holds each file this long half-way
# through storing it (content stored, thumbnail not yet), and logs that it does, so
# fault tests can kill a worker in the middle of processing.
FILES_PROCESSING_PAUSE_SECONDS = env.float("PORTAL_FILES_PROCESSING_PAUSE_SECONDS", default=0.0)
# With a path here, the hold lasts while that file exists (at most the seconds above): a
# test that must kill the worker while it is held removes the file only after the kill,
# however slow the machine is.
FILES_PROCESSING_HOLD_PATH = env.str("PORTAL_FILES_PROCESSING_HOLD_PATH", default="")
# WhiteNoise finds a static file when it is asked for, instead of building its table of
# every static file when the middleware is made: Django's test client makes the middleware
# afresh for each client, and that table (a stat and headers for each of some 200 files)
# cost 38 ms per client, the largest single cost of the quick tests. Same files, same
# headers.
WHITENOISE_AUTOREFRESH = True
# The suite's PostgreSQL holds a migrated database (tests/plugins/migrated_cluster.py): each
# test database is created as a copy of it, so Django's migrate finds nothing to do.
if _template := env.str("PORTAL_TEST_DATABASE_TEMPLATE", default=""):
    DATABASES["default"].setdefault("TEST", {})["TEMPLATE"] = _template
