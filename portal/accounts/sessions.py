"""Ending a person's signed-in sessions, wherever they are open.

Sessions live in the database (Django's default session engine, in every deployment
shape), keyed by a random id with the user inside the signed data, so finding one
person's sessions means reading each unexpired one. That costs a pass over the
session table, which is acceptable for a rare act (a reset after a lost phone) and
keeps sign-in itself free of any bookkeeping of its own.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from portal.accounts.models import User


def session_store_class():
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store, "get_model_class"):
        # A cookie or cache-only store cannot be searched: refuse rather than let a
        # reset claim that sessions ended when they did not.
        raise ImproperlyConfigured(
            f"Sessions kept by {settings.SESSION_ENGINE} cannot be ended from the server; "
            "use a database-backed session engine."
        )
    return store


def user_sessions_end(*, user: User) -> int:
    """Delete every unexpired session signed in as ``user``; answers how many.

    Call inside the transaction of the change that needs it: a request of that
    session still running when it commits cannot write the session back (Django
    refuses to save a session whose row was deleted), and its next request is
    anonymous."""
    store = session_store_class()
    model = store.get_model_class()
    user_id = str(user.pk)
    ended = 0
    rows = model.objects.filter(expire_date__gt=timezone.now()).only("session_key", "session_data")
    for row in rows.iterator(chunk_size=500):
        if store().decode(row.session_data).get(SESSION_KEY) == user_id:
            store(session_key=row.session_key).delete()
            ended += 1
    return ended
