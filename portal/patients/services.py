"""State changes for patients."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction

from portal.accounts.models import Account
from portal.audit.services import Actor, audit_record
from portal.patients.models import Patient
from portal.patients.nhs_number import nhs_number_format


class NhsNumberTaken(ValueError):
    """Another patient of the clinic holds this NHS number: one number, one person.
    ``holder`` is that patient (of the same clinic), for the pages that can link to them."""

    def __init__(self, *, nhs_number: str, holder: Patient | None):
        self.nhs_number = nhs_number
        self.holder = holder
        super().__init__(
            f"NHS number {nhs_number_format(nhs_number)} already belongs to another patient "
            "of this clinic. Check the number, or update that patient instead."
        )


def nhs_number_holder(*, account: Account, nhs_number: str, other_than=None) -> Patient | None:
    if not nhs_number:
        return None
    holders = Patient.objects.filter(account=account, nhs_number=nhs_number)
    if other_than is not None:
        holders = holders.exclude(pk=other_than.pk)
    return holders.first()


def patient_save_checked(patient: Patient) -> None:
    """Validate and save ``patient``, an NHS number another patient of the clinic holds
    refused as ``NhsNumberTaken`` (checked first, and again if a concurrent save took it
    in between: the unique constraint then refuses this one)."""
    holder = nhs_number_holder(
        account=patient.account, nhs_number=patient.nhs_number, other_than=patient
    )
    if holder is not None:
        raise NhsNumberTaken(nhs_number=patient.nhs_number, holder=holder)
    patient.full_clean()
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError:
        holder = nhs_number_holder(
            account=patient.account, nhs_number=patient.nhs_number, other_than=patient
        )
        if holder is None:
            raise
        raise NhsNumberTaken(nhs_number=patient.nhs_number, holder=holder) from None


@transaction.atomic
def patient_create(
    *,
    account: Account,
    actor: Actor,
    date_of_birth: date,
    first_name: str = "",
    last_name: str = "",
    mobile=None,
    nhs_number: str = "",
    is_shell: bool = False,
) -> Patient:
    """A new patient; ``nhs_number`` is the ten digits (``nhs_number_parse``) or ""."""
    patient = Patient(
        account=account,
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth,
        mobile=mobile or "",
        nhs_number=nhs_number or "",
        is_shell=is_shell,
    )
    patient_save_checked(patient)
    audit_record(account=account, actor=actor, action="patient.create", target=patient)
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, actor: Actor, **changes) -> Patient:
    """Apply the given field changes. A shell patient given a name stops being a shell."""
    for field, value in changes.items():
        setattr(patient, field, value if value is not None else "")
    if patient.is_shell and (patient.first_name or patient.last_name):
        patient.is_shell = False
    patient_save_checked(patient)
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
    nhs_number: str = "",
) -> Patient:
    """The account's patient with this mobile and date of birth, or a new shell patient.

    A known mobile with a different date of birth is a different person (a
    family sharing one phone), never an overwrite. Where two patients share
    both (twins), the NHS number, else the first name, tells them apart when it is
    given. A patient with another NHS number is another person; one without is given
    this one. An NHS number another patient of the clinic holds (with another mobile
    or date of birth) is ``NhsNumberTaken``: the text must not go to a phone that
    patient's record does not know.
    """
    candidates = list(
        Patient.objects.select_for_update()
        .filter(account=account, mobile=mobile, date_of_birth=date_of_birth)
        .order_by("created_at")
    )
    if nhs_number:
        holders = [p for p in candidates if p.nhs_number == nhs_number]
        if holders:
            return holders[0]
        candidates = [p for p in candidates if not p.nhs_number]
    if first_name and len(candidates) > 1:
        named = [p for p in candidates if p.first_name.lower() == first_name.lower()]
        candidates = named or candidates
    if candidates:
        patient = candidates[0]
        if nhs_number:
            patient = patient_update(patient=patient, actor=actor, nhs_number=nhs_number)
        return patient
    return patient_create(
        account=account,
        actor=actor,
        date_of_birth=date_of_birth,
        first_name=first_name,
        last_name=last_name,
        mobile=mobile,
        nhs_number=nhs_number,
        is_shell=True,
    )
