"""The test suite's settings, on top of the others when ``PORTAL_ENVIRONMENT=test``:
hooks that exist only for tests, and defaults that suit a suite that mostly runs without a
worker. Nothing here is read in production or development."""

from __future__ import annotations

from config.environment import env

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
