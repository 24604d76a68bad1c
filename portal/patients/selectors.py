"""Reads of patients, always within one account."""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from portal.accounts.models import Account
from portal.ids import parse_uuid
from portal.patients.models import Patient


def patient_list(
    *,
    account: Account,
    mobile=None,
    name: str = "",
    date_of_birth: date | None = None,
) -> QuerySet[Patient]:
    patients = Patient.objects.filter(account=account)
    if mobile:
        patients = patients.filter(mobile=mobile)
    if date_of_birth:
        patients = patients.filter(date_of_birth=date_of_birth)
    for word in name.split():
        patients = patients.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
    return patients.order_by("last_name", "first_name", "created_at")


def patient_get(*, account: Account, patient_id) -> Patient | None:
    """The account's patient with this id; None for a missing *or foreign* id, so
    callers answer 404 for both and never reveal another clinic's patients."""
    patient_uuid = parse_uuid(patient_id)
    if patient_uuid is None:
        return None
    return Patient.objects.filter(account=account, pk=patient_uuid).first()
