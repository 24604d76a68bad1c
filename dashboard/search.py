"""The patient search box: one field that understands a name, a mobile, a date of birth or
an NHS number."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from phonenumber_field.phonenumber import PhoneNumber

from portal.patients.nhs_number import NHS_NUMBER_LENGTH, NhsNumberError, nhs_number_parse
from portal.patients.selectors import NameSearchRefused, name_search_check

DATE_FORMATS = ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y-%m-%d", "%d %b %Y", "%d %B %Y")
PHONE_CHARACTERS = re.compile(r"^\+?[\d\s().-]{7,}$")
# Ten digits, with or without spaces or hyphens between them: an NHS number's shape.
NHS_NUMBER_SHAPE = re.compile(r"^[0-9][0-9 -]*$")


@dataclass(frozen=True)
class PatientQuery:
    name: str = ""
    mobile: PhoneNumber | None = None
    date_of_birth: datetime.date | None = None
    # The ten digits of an NHS number (the same digits may also be a mobile, above).
    nhs_number: str = ""
    # Ten digits that are neither a valid NHS number nor a phone number: why, in words.
    nhs_number_problem: str = ""
    # Digits that look like a phone number but are not a valid one.
    unparsable_phone: bool = False
    # Why the text cannot be searched at all (longer than any name), in words.
    problem: str = ""

    @property
    def kind(self) -> str:
        if self.nhs_number or self.nhs_number_problem:
            return "NHS number"
        if self.mobile is not None or self.unparsable_phone:
            return "mobile"
        if self.date_of_birth is not None:
            return "date of birth"
        return "name" if self.name else ""


def parse_date(text: str) -> datetime.date | None:
    for date_format in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, date_format).date()
        except ValueError:
            continue
    return None


def parse_mobile(text: str) -> PhoneNumber | None:
    """A national number ("07911 123456") is read in the portal's default region."""
    try:
        number = PhoneNumber.from_string(text, region=settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    return number if number.is_valid() else None


def parse_patient_query(raw: str) -> PatientQuery:
    text = " ".join((raw or "").split())
    if not text:
        return PatientQuery()
    try:
        name_search_check(text)
    except NameSearchRefused as exc:
        return PatientQuery(problem=str(exc))
    date_of_birth = parse_date(text)
    if date_of_birth is not None:
        return PatientQuery(date_of_birth=date_of_birth)
    if NHS_NUMBER_SHAPE.match(text) and sum(c.isdigit() for c in text) == NHS_NUMBER_LENGTH:
        # Read as an NHS number, and as a mobile too should the digits be one (a
        # national number typed without its 0), so neither search is lost.
        mobile = parse_mobile(text)
        try:
            return PatientQuery(nhs_number=nhs_number_parse(text), mobile=mobile)
        except NhsNumberError as exc:
            if mobile is None:
                return PatientQuery(nhs_number_problem=str(exc))
            return PatientQuery(mobile=mobile)
    if PHONE_CHARACTERS.match(text):
        mobile = parse_mobile(text)
        return PatientQuery(mobile=mobile, unparsable_phone=mobile is None)
    return PatientQuery(name=text)
