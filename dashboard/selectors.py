"""Reads for dashboard pages, each scoped by the account it is given."""

from __future__ import annotations

import datetime

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from attachments.models import PatientAttachment
from dashboard.search import PatientQuery
from filerequests import selectors as file_request_selectors
from filerequests.models import FileRequest, RecordReport
from files.models import File
from portal.accounts.models import Account, ApiKey, Staff
from portal.audit.models import AuditEvent
from portal.ids import parse_uuid
from portal.patients import selectors as patient_selectors
from portal.patients.models import Patient
from portal.webhooks import selectors as webhook_selectors
from portal.webhooks.models import WebhookEndpoint


def patient_search(*, account: Account, query: PatientQuery) -> QuerySet[Patient]:
    if query.unparsable_phone or query.problem or query.nhs_number_problem:
        return Patient.objects.none()
    if query.nhs_number:
        by_number = patient_selectors.patient_list(account=account, nhs_number=query.nhs_number)
        if query.mobile is None:
            return by_number
        by_mobile = patient_selectors.patient_list(account=account, mobile=query.mobile)
        return (by_number | by_mobile).order_by("last_name", "first_name", "created_at")
    return patient_selectors.patient_list(
        account=account,
        mobile=query.mobile,
        name=query.name,
        date_of_birth=query.date_of_birth,
    )


def patient_file_requests(*, account: Account, patient: Patient) -> QuerySet[FileRequest]:
    """The patient's requests, newest first, with their files and text messages."""
    return file_request_selectors.file_request_list(account=account, patient_id=patient.id)


def file_request_list(
    *, account: Account, status: str = "", patient_text: str = ""
) -> QuerySet[FileRequest]:
    """The account's requests, newest first, by status and by words of the patient's name."""
    file_requests = file_request_selectors.file_request_list(
        account=account, statuses=[status] if status else None
    )
    for word in patient_text.split()[:4]:
        file_requests = file_requests.filter(
            Q(patient__first_name__icontains=word) | Q(patient__last_name__icontains=word)
        )
    return file_requests.annotate(saved_to_record_at=saved_to_record_at())


def saved_to_record_at() -> Subquery:
    """When the request was last saved to the patient's record (its PDF report), if ever."""
    return Subquery(
        RecordReport.objects.filter(file_request=OuterRef("pk"), saved_at__isnull=False)
        .order_by("-saved_at")
        .values("saved_at")[:1]
    )


def file_request_status_counts(*, account: Account) -> dict[str, int]:
    rows = (
        FileRequest.objects.filter(account=account)
        .order_by()
        .values_list("status")
        .annotate(count=Count("id"))
    )
    return dict(rows)


def webhook_alerts(*, account: Account) -> list[WebhookEndpoint]:
    """Endpoints an admin should hear about on every page (disabled or failing)."""
    return list(webhook_selectors.webhook_endpoints_needing_attention(account=account)[:5])


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
    who: str = "",
    patient_ids: list | None = None,
    action: str = "",
    target_id: str = "",
    occurred_from: datetime.date | None = None,
    occurred_to: datetime.date | None = None,
) -> QuerySet[AuditEvent]:
    """The account's events, newest first. ``who``: ``staff:<id>`` or ``kind:<kind>``.
    ``patient_ids``: events about these patients, their files, requests and attachments
    (an empty list matches nothing)."""
    events = AuditEvent.objects.filter(account=account)
    kind, _, actor_id = who.partition(":")
    if kind == "staff" and actor_id:
        events = events.filter(actor_kind=AuditEvent.ActorKind.STAFF, actor_id=actor_id)
    elif kind == "kind" and actor_id:
        events = events.filter(actor_kind=actor_id)
    if patient_ids is not None:
        events = events.filter(target_id__in=patient_target_ids(account, patient_ids))
    if action:
        events = events.filter(action=action)
    if target_id:
        events = events.filter(target_id=target_id.strip())
    if occurred_from:
        events = events.filter(occurred_at__date__gte=occurred_from)
    if occurred_to:
        events = events.filter(occurred_at__date__lte=occurred_to)
    return events.order_by("-occurred_at", "-id")


# Enough for any one patient's history; a patient past it is matched on their newest.
PATIENT_TARGETS_LIMIT = 5000


def patient_target_ids(account: Account, patient_ids: list) -> list[str]:
    """The ids the audit log may name a patient by: the patient, their files, requests
    and attachments (as the log's text ids)."""

    ids = [str(pk) for pk in patient_ids]
    for model in (File, FileRequest, PatientAttachment):
        ids += [
            str(pk)
            for pk in model.objects.filter(account=account, patient_id__in=patient_ids)
            .order_by("-created_at")
            .values_list("pk", flat=True)[:PATIENT_TARGETS_LIMIT]
        ]
    return ids


def audit_patients_matching(*, account: Account, text: str) -> list[Patient]:
    """The patients a filter's text names: by id, or by every word of the name."""
    text = " ".join(text.split())
    if not text:
        return []
    parsed = parse_uuid(text)
    if parsed is not None:
        return list(Patient.objects.filter(account=account, pk=parsed))
    return list(patient_selectors.patient_list(account=account, name=text)[:25])


def audit_actions(*, account: Account) -> list[str]:
    return list(
        AuditEvent.objects.filter(account=account)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )
