"""The audit log is append-only: in the ORM and, on PostgreSQL, in the database itself."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

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


@pytest.mark.parametrize("user_agent", ["Mozilla/5.0\x00", "\x00" * 500, "a\x00b" * 200])
def test_a_request_whose_user_agent_carries_nul_is_recorded_without_it(account, user_agent):
    """GIVEN a request whose User-Agent carries NUL (PostgreSQL cannot store it) WHEN any
    change is audited through it THEN the row is written, its User-Agent without NUL, cut
    to 300 characters."""
    request = RequestFactory().get("/", HTTP_USER_AGENT=user_agent)
    event = audit_record(account=account, actor=Actor.system(), action="test.nul", request=request)
    event.refresh_from_db()
    assert event.user_agent == user_agent.replace("\x00", "")[:300]
