"""Parsing mobile numbers the way every door into the portal expects them: E.164."""

from __future__ import annotations

import phonenumbers
from phonenumber_field.phonenumber import PhoneNumber

E164_HELP = "Enter the mobile number in international E.164 format, e.g. +447911123456."


class MobileNumberError(ValueError):
    """The text is not a mobile number in E.164 form; the message says why."""


def parse_e164_mobile(raw: str) -> PhoneNumber:
    text = (raw or "").strip()
    if not text.startswith("+"):
        raise MobileNumberError(E164_HELP)
    try:
        number = PhoneNumber.from_string(text)
    except phonenumbers.NumberParseException as exc:
        raise MobileNumberError(E164_HELP) from exc
    if not number.is_valid():
        raise MobileNumberError(f"{text} is not a valid phone number. {E164_HELP}")
    if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE:
        raise MobileNumberError(
            f"{text} is a landline number; a mobile number is needed to send text messages."
        )
    return number
