"""The time budgets of the scaled shape's dependencies, on the real servers the suite
runs: PostgreSQL ends a statement at its statement_timeout (answered 503 by the portal,
tests/config/test_service_unavailable.py), connecting gives up at connect_timeout, Redis and S3
clients carry their timeouts. Each dependency frozen under a running portal is
tests/faults/test_frozen_dependencies.py."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import OperationalError, connection, transaction

from config.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_postgresql_ends_a_statement_at_its_timeout_and_the_portal_says_so():
    """GIVEN the portal's database connection THEN every statement runs under the 5 s
    budget (statement_timeout, set on each connection), and a statement past its budget
    is ended by the server: QueryCanceled, an OperationalError to Django. Shown with the
    budget shortened for one savepoint, so the test does not sit out five seconds; a
    budget that did nothing would leave the 30-second sleep to finish and the test to
    fail."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "5s"
    with (
        pytest.raises(OperationalError, match="statement timeout"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL statement_timeout = '200ms'")
        cursor.execute("SELECT pg_sleep(30)")
    with connection.cursor() as cursor:  # the savepoint's end took the short budget away
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "5s"


def test_connecting_to_postgresql_has_a_timeout():
    assert settings.DATABASES["default"]["OPTIONS"]["connect_timeout"] == 3
    connection.ensure_connection()
    assert connection.connection.info.get_parameters()["connect_timeout"] == "3"


def test_the_broker_and_the_storage_clients_carry_their_timeouts(s3_bucket):
    options = celery_app.conf.broker_transport_options
    assert options["socket_timeout"] == 2.0 and options["socket_connect_timeout"] == 2.0
    with celery_app.connection_for_write() as conn:
        pool = conn.default_channel.client.connection_pool
        assert pool.connection_kwargs["socket_timeout"] == 2.0
        assert pool.connection_kwargs["socket_connect_timeout"] == 2.0
    client = default_storage.connection.meta.client
    assert client.meta.config.connect_timeout == 2.0
    assert client.meta.config.read_timeout == 2.0
    assert client.meta.config.retries["total_max_attempts"] == 3  # two retries
