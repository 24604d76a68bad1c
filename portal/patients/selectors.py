"""Reads of patients, always within one account."""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet
from django.db.models.functions import Length

from portal.accounts.models import Account
from portal.ids import parse_uuid
from portal.patients.models import Patient

# A name search matches the patients whose given or family name holds every word. Each
# word is one more condition in the query (SQLite refuses a query whose expression tree
# is deeper than 1,000), and no name has more than a handful of words, so a search is
# bounded well below either: at most 10 words, 200 characters in all.
NAME_SEARCH_MAX_WORDS = 10
NAME_SEARCH_MAX_LENGTH = 200


class NameSearchRefused(ValueError):
    """A name search no name could match: more words or characters than any name has,
    or control characters."""


def name_search_check(name: str) -> None:
    """Refuse a name search longer than any name, in words a person can act on, before it
    reaches the database (``NameSearchRefused``)."""
    if any(ord(char) < 32 or 127 <= ord(char) < 160 for char in name):
        # NUL reaches no database (PostgreSQL refuses it), nor is any control
        # character part of a name.
        raise NameSearchRefused("A name search cannot hold control characters.")
    if len(name) > NAME_SEARCH_MAX_LENGTH:
        raise NameSearchRefused(
            f"A name search is at most {NAME_SEARCH_MAX_LENGTH} characters long; this one "
            f"is {len(name)}."
        )
    words = len(name.split())
    if words > NAME_SEARCH_MAX_WORDS:
        raise NameSearchRefused(
            f"A name search has at most {NAME_SEARCH_MAX_WORDS} words; this one has {words}."
        )


def patient_list(
    *,
    account: Account,
    mobile=None,
    name: str = "",
    date_of_birth: date | None = None,
    nhs_number: str = "",
) -> QuerySet[Patient]:
    """The account's patients matching every criterion given; ``nhs_number`` is the ten
    digits (``nhs_number_parse``)."""
    patients = Patient.objects.filter(account=account)
    if nhs_number:
        patients = patients.filter(nhs_number=nhs_number)
    if mobile:
        patients = patients.filter(mobile=mobile)
    if date_of_birth:
        patients = patients.filter(date_of_birth=date_of_birth)
    for word in name.split():
        patients = patients.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
    return patients.order_by("last_name", "first_name", "created_at")


MAX_PATIENT_NUMBER = 2**31 - 1


def patient_number_of(patient_id) -> int | None:
    """The clinic's patient number in ``patient_id`` (``123`` or ``"123"``), or None."""
    if isinstance(patient_id, bool):
        return None
    if isinstance(patient_id, int):
        number = patient_id
    elif isinstance(patient_id, str) and patient_id.isascii() and patient_id.isdigit():
        number = int(patient_id) if len(patient_id) <= 10 else 0
    else:
        return None
    return number if 0 < number <= MAX_PATIENT_NUMBER else None


def patient_get(*, account: Account, patient_id) -> Patient | None:
    """The account's patient with this id (its UUID, or its number within the clinic);
    None for a missing *or foreign* id, so callers answer 404 for both and never reveal
    another clinic's patients."""
    number = patient_number_of(patient_id)
    if number is not None:
        return Patient.objects.filter(account=account, number=number).first()
    patient_uuid = parse_uuid(patient_id)
    if patient_uuid is None:
        return None
    return Patient.objects.filter(account=account, pk=patient_uuid).first()


# Patients of one birth year whose names are this close are worth a second look: at most
# this many rows of one clinic's birth year are compared (a clinic of 100,000 patients
# has about 1,500 a year; those of a name length within one letter are far fewer).
SIMILAR_NAME_MAX_DISTANCE = 1
SIMILAR_NAME_CANDIDATES_MAX = 2000


def comparable_name(first_name: str, last_name: str) -> str:
    """The full name as compared: words in order, single-spaced, case folded."""
    return " ".join(f"{first_name} {last_name}".split()).casefold()


def within_one_edit(a: str, b: str) -> bool:
    """Whether ``a`` becomes ``b`` by at most one letter put in, taken out or changed
    (Levenshtein distance 0 or 1), in one pass."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    start = 0
    while start < len(a) and a[start] == b[start]:
        start += 1
    if len(a) == len(b):
        return a[start + 1 :] == b[start + 1 :]
    return a[start:] == b[start + 1 :]


def patients_with_similar_names(*, patient: Patient, limit: int = 5) -> list[Patient]:
    """Other patients of ``patient``'s clinic born the same year whose full name is the
    same or differs by one letter (THOMPSON, Margaret and THOMSON, Margaret), for the
    pages to warn that the wrong one is a click away.

    The database narrows by clinic, birth year (the index on account and date of birth)
    and name length within a letter; the edit distance is measured here on what is left,
    bounded by ``SIMILAR_NAME_CANDIDATES_MAX``."""
    name = comparable_name(patient.first_name, patient.last_name)
    if not name:
        return []
    year = patient.date_of_birth.year
    # The parts' lengths without the space between them: a name of one part compared with
    # one of two differs by the space too, hence two letters of slack here.
    parts_length = len(patient.first_name.strip()) + len(patient.last_name.strip())
    candidates = (
        Patient.objects.filter(
            account_id=patient.account_id,
            date_of_birth__gte=date(year, 1, 1),
            date_of_birth__lte=date(year, 12, 31),
        )
        .exclude(pk=patient.pk)
        .annotate(parts_length=Length("first_name") + Length("last_name"))
        .filter(
            parts_length__gte=parts_length - SIMILAR_NAME_MAX_DISTANCE - 1,
            parts_length__lte=parts_length + SIMILAR_NAME_MAX_DISTANCE + 1,
        )
        .order_by("last_name", "first_name", "created_at")
    )
    similar = []
    for candidate in candidates[:SIMILAR_NAME_CANDIDATES_MAX]:
        if within_one_edit(name, comparable_name(candidate.first_name, candidate.last_name)):
            similar.append(candidate)
            if len(similar) == limit:
                break
    return similar
