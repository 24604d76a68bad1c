"""State changes for patients."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from portal.accounts.models import Account
from portal.audit.services import Actor, audit_record
from portal.patients.models import Patient


@transaction.atomic
def patient_create(
    *,
    account: Account,
    actor: Actor,
    date_of_birth: date,
    first_name: str = "",
    last_name: str = "",
    mobile=None,
    is_shell: bool = False,
) -> Patient:
    patient = Patient(
        account=account,
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth,
        mobile=mobile or "",
        is_shell=is_shell,
    )
    patient.full_clean()
    patient.save()
    audit_record(account=account, actor=actor, action="patient.create", target=patient)
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, actor: Actor, **changes) -> Patient:
    """Apply the given field changes. A shell patient given a name stops being a shell."""
    for field, value in changes.items():
        setattr(patient, field, value if value is not None else "")
    if patient.is_shell and (patient.first_name or patient.last_name):
        patient.is_shell = False
    patient.full_clean()
    patient.save()
    audit_record(
        account=patient.account,
        actor=actor,
        action="patient.update",
        target=patient,
        detail={"fields": sorted(changes)},
    )
    return patient


@transaction.atomic
def patient_find_or_create_shell(
    *,
    account: Account,
    actor: Actor,
    mobile,
    date_of_birth: date,
    first_name: str = "",
    last_name: str = "",
) -> Patient:
    """The account's patient with this mobile and date of birth, or a new shell patient.

    A known mobile with a different date of birth is a different person (a
    family sharing one phone), never an overwrite. Where two patients share
    both (twins), the first name tells them apart when it is given.
    """
    candidates = list(
        Patient.objects.select_for_update()
        .filter(account=account, mobile=mobile, date_of_birth=date_of_birth)
        .order_by("created_at")
    )
    if first_name and len(candidates) > 1:
        named = [p for p in candidates if p.first_name.lower() == first_name.lower()]
        candidates = named or candidates
    if candidates:
        return candidates[0]
    return patient_create(
        account=account,
        actor=actor,
        date_of_birth=date_of_birth,
        first_name=first_name,
        last_name=last_name,
        mobile=mobile,
        is_shell=True,
    )
