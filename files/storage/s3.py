"""The portal's S3 storage: django-storages' S3Storage, with one boto3 session per
process and set of credentials.

django-storages makes a boto3 session for each thread's first use of each storage, and
every new session parses botocore's S3 service model again: 0.13 s of CPU before a
thread's first byte (a gunicorn thread's first download, each Celery child's first file,
each storage a test switches to). One session per process shares the parsed model:
0.01 s. A boto3 session is not safe to make clients from in two threads at once
(boto/boto3#1592), so making a connection holds a lock; the connections themselves stay
one per thread, as django-storages keeps them.
"""

from __future__ import annotations

import os
import threading

import boto3
from storages.backends.s3 import S3Storage

_SESSIONS: dict[tuple, boto3.Session] = {}
_LOCK = threading.Lock()


def _lock_renewed() -> None:
    """A forked child (a Celery pool process) starts with the lock free, whichever thread
    of its parent held it at the fork."""
    global _LOCK
    _LOCK = threading.Lock()


os.register_at_fork(after_in_child=_lock_renewed)


class SharedSession:
    """A process's boto3 session, handing out connections one at a time."""

    def __init__(self, session: boto3.Session) -> None:
        self.session = session

    def resource(self, *args, **kwargs):
        with _LOCK:
            return self.session.resource(*args, **kwargs)


class S3FileStorage(S3Storage):
    def _create_session(self):
        credentials = (self.session_profile, self.access_key, self.secret_key, self.security_token)
        with _LOCK:
            session = _SESSIONS.get(credentials)
            if session is None:
                session = _SESSIONS[credentials] = super()._create_session()
        return SharedSession(session)
