"""Writing audit events. Call inside the transaction of the change being recorded,
so the change and its record commit together or not at all.

The audit log sits below the accounts that write to it, so it names their rows (an
account, a member of staff, an API key) as models, never by importing them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection

from portal.audit.models import AuditEvent
from portal.clientip import client_address

if TYPE_CHECKING:
    from django.db.models import Model
    from django.http import HttpRequest


@dataclass(frozen=True)
class Actor:
    """Who acted: a staff member, an API key, a patient through a link, or the system."""

    kind: str
    id: str = ""
    label: str = ""

    @classmethod
    def for_staff(cls, staff: Model) -> Actor:
        return cls(AuditEvent.ActorKind.STAFF, str(staff.pk), str(staff)[:200])

    @classmethod
    def for_admin(cls, user) -> Actor:
        """A signed-in Django admin: a user, who need not be a member of the account
        whose objects they change, so the log names them as an admin."""
        return cls(AuditEvent.ActorKind.STAFF, str(user.pk), f"admin {user}"[:200])

    @classmethod
    def for_api_key(cls, api_key: Model) -> Actor:
        return cls(AuditEvent.ActorKind.API_KEY, str(api_key.pk), f"key {api_key.prefix}")

    @classmethod
    def for_patient_link(cls, file_request_id: Any) -> Actor:
        return cls(AuditEvent.ActorKind.PATIENT_LINK, str(file_request_id), "patient link")

    @classmethod
    def system(cls) -> Actor:
        return cls(AuditEvent.ActorKind.SYSTEM, "", "system")

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(AuditEvent.ActorKind.ANONYMOUS, "", "anonymous")


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address: ``REMOTE_ADDR``, or ``X-Forwarded-For`` as far as the
    proxies named in ``PORTAL_TRUSTED_PROXIES`` vouch for it (portal.clientip)."""
    return client_address(request)


USER_AGENT_KEPT = 300  # characters of the caller's User-Agent an audit row keeps


def audit_values(
    *,
    actor: Actor,
    action: str,
    target_type: str = "",
    target_id: str = "",
    request: HttpRequest | None = None,
    detail: dict | None = None,
) -> dict[str, Any]:
    """The columns of one audit row (but its id, time and account) as every writer fills
    them: the actor split into its three columns, the caller's address and User-Agent from
    the request. ``audit_record`` saves them through the ORM; the serving function inserts
    them with one prepared statement (``audit_insert_statement``): both are the same row."""
    return {
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "actor_label": actor.label,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "ip_address": client_ip(request) if request is not None else None,
        # NUL is the one character PostgreSQL cannot store: a header carrying one (a proxy
        # that lets it through) must not make the row, and so the request, fail.
        "user_agent": (
            request.META.get("HTTP_USER_AGENT", "").replace("\x00", "")[:USER_AGENT_KEPT]
            if request is not None
            else ""
        ),
        "detail": detail or {},
    }


@functools.cache
def audit_insert_statement() -> tuple[str, list]:
    """The INSERT of one AuditEvent, every concrete column, and each column's field (whose
    ``get_db_prep_save`` prepares its value as the ORM's own insert would): for a writer
    that must not pay for the ORM's building of the statement (a download)."""
    fields = list(AuditEvent._meta.concrete_fields)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", fields


def audit_record(
    *,
    account: Model | None,
    actor: Actor,
    action: str,
    target: Any = None,
    target_type: str = "",
    target_id: str = "",
    request: HttpRequest | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    values = audit_values(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        request=request,
        detail=detail,
    )
    return AuditEvent.objects.create(account=account, **values)
