"""Django's PostgreSQL backend, with a time limit on every wait for the server.

PostgreSQL's own ``statement_timeout`` (set for each connection in the settings) ends a
query that runs too long, but only a server that still runs can enforce it: a server
that is frozen, or a network that stops carrying packets, leaves a query waiting for
ever, and every web request with it. So each wait for an answer also has a limit on
this side, a little longer than the server's, after which the connection is given up
(its protocol state is unknown) and the query fails with ``OperationalError``, which
the portal answers as 503 with ``Retry-After`` (config.views). Connecting is limited by
libpq's ``connect_timeout`` (the settings again).
"""

from __future__ import annotations

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base as postgresql
from psycopg import errors


class BudgetedConnection(psycopg.Connection):
    """A psycopg connection that waits at most ``budget`` seconds for each answer."""

    budget: float | None = None

    def wait(self, gen, *args, timeout: float | None = None, **kwargs):
        limit = timeout if timeout is not None else self.budget
        try:
            return super().wait(gen, *args, timeout=limit, **kwargs)
        except errors._WaitTimeout:
            # Half a conversation: nothing more can be said on this connection.
            self.close()
            raise errors.OperationalError(
                f"the database server did not answer within {limit:g} s"
            ) from None


class BudgetedPsycopg:
    """The psycopg module as Django's backend uses it, connecting BudgetedConnections."""

    def __getattr__(self, name):
        return getattr(psycopg, name)

    @staticmethod
    def connect(*args, **kwargs) -> BudgetedConnection:
        connection = BudgetedConnection.connect(*args, **kwargs)
        connection.budget = settings.DATABASE_WAIT_BUDGET_SECONDS or None
        return connection


class DatabaseWrapper(postgresql.DatabaseWrapper):
    Database = BudgetedPsycopg()

    def is_usable(self) -> bool:
        """Django's check of a kept connection before a request uses it: a server that
        does not answer a ``SELECT 1`` at once is treated as gone (a new connection is
        tried, within the connect timeout), so the check never holds a request long."""
        if self.connection is None:
            return False
        kept = self.connection.budget
        self.connection.budget = settings.DATABASE_HEALTH_CHECK_BUDGET_SECONDS
        try:
            return super().is_usable()
        finally:
            self.connection.budget = kept
