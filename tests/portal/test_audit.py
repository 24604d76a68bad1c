"""The audit log is append-only: in the ORM and, on PostgreSQL, in the database itself."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from portal.audit.models import AppendOnlyError, AuditEvent
from portal.audit.services import Actor, audit_record

pytestmark = pytest.mark.django_db


def test_events_cannot_be_changed_or_deleted(account):
    event = audit_record(account=account, actor=Actor.system(), action="test.thing")
    event.action = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_database_refuses_raw_updates(account):
    event = audit_record(account=account, actor=Actor.system(), action="test.thing")
    assert connection.vendor == "postgresql"
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert event.action == "test.thing"
