"""Reads for dashboard pages, each scoped by the account it is given."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet

from dashboard.search import PatientQuery
from filerequests.models import FileRequest
from portal.accounts.models import Account, ApiKey, Staff
from portal.audit.models import AuditEvent
from portal.ids import parse_uuid
from portal.patients import selectors as patient_selectors
from portal.patients.models import Patient


def patient_search(*, account: Account, query: PatientQuery) -> QuerySet[Patient]:
    if query.unparsable_phone:
        return Patient.objects.none()
    return patient_selectors.patient_list(
        account=account,
        mobile=query.mobile,
        name=query.name,
        date_of_birth=query.date_of_birth,
    )


def patient_file_requests(*, account: Account, patient: Patient) -> QuerySet[FileRequest]:
    return FileRequest.objects.filter(account=account, patient=patient).order_by("-created_at")


def file_request_list(*, account: Account, status: str = "") -> QuerySet[FileRequest]:
    file_requests = FileRequest.objects.filter(account=account).select_related("patient")
    if status:
        file_requests = file_requests.filter(status=status)
    return file_requests.order_by("-created_at")


def api_key_list(*, account: Account) -> QuerySet[ApiKey]:
    return (
        ApiKey.objects.filter(account=account)
        .select_related("created_by")
        .order_by("revoked_at", "-created_at")
    )


def api_key_get(*, account: Account, api_key_id) -> ApiKey | None:
    key_uuid = parse_uuid(api_key_id)
    if key_uuid is None:
        return None
    return ApiKey.objects.filter(account=account, pk=key_uuid).first()


def staff_member_list(*, account: Account) -> QuerySet[Staff]:
    """Members who can sign in; shell staff named by integrations are not members."""
    return (
        Staff.objects.filter(account=account, user__isnull=False)
        .select_related("user")
        .order_by("display_name", "user__email")
    )


def staff_member_get(*, account: Account, staff_id) -> Staff | None:
    staff_uuid = parse_uuid(staff_id)
    if staff_uuid is None:
        return None
    return staff_member_list(account=account).filter(pk=staff_uuid).first()


def audit_event_list(
    *,
    account: Account,
    actor_kind: str = "",
    action: str = "",
    target_id: str = "",
    occurred_from: datetime.date | None = None,
    occurred_to: datetime.date | None = None,
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(account=account)
    if actor_kind:
        events = events.filter(actor_kind=actor_kind)
    if action:
        events = events.filter(action=action)
    if target_id:
        events = events.filter(target_id=target_id.strip())
    if occurred_from:
        events = events.filter(occurred_at__date__gte=occurred_from)
    if occurred_to:
        events = events.filter(occurred_at__date__lte=occurred_to)
    return events.order_by("-occurred_at")


def audit_actions(*, account: Account) -> list[str]:
    return list(
        AuditEvent.objects.filter(account=account)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )
