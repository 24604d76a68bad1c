"""Parsing mobile numbers.

The APIs take E.164 only (``+447911123456``), as the vendors' documents say. People
type numbers the way they are written in their country (``07911 123456``), so staff
forms read national numbers in the clinic's region too, and say in words what is
wrong with a number that is not a mobile.
"""

from __future__ import annotations

import re

import phonenumbers
from django.conf import settings
from phonenumber_field.phonenumber import PhoneNumber

E164_HELP = "Enter the mobile number in international E.164 format, e.g. +447911123456."

# What the portal's regions are called in messages ("a UK mobile number").
REGION_NAMES = {"GB": "UK", "IE": "Irish", "US": "US", "AU": "Australian", "NZ": "New Zealand"}

# Types that can receive a text message.
MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}
TYPE_WORDS = {
    phonenumbers.PhoneNumberType.FIXED_LINE: "a landline number",
    phonenumbers.PhoneNumberType.TOLL_FREE: "a freephone number",
    phonenumbers.PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    phonenumbers.PhoneNumberType.SHARED_COST: "a shared-cost number",
    phonenumbers.PhoneNumberType.VOIP: "an internet (VoIP) number",
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER: "a personal (forwarding) number",
    phonenumbers.PhoneNumberType.PAGER: "a pager number",
    phonenumbers.PhoneNumberType.UAN: "a company number",
    phonenumbers.PhoneNumberType.VOICEMAIL: "a voicemail number",
}
ALLOWED_CHARACTERS = re.compile(r"^\+?[\d\s().\-]+$")


class MobileNumberError(ValueError):
    """The text is not a mobile number; the message says why, in words."""


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


def default_region() -> str:
    return settings.PHONENUMBER_DEFAULT_REGION


def region_words(region: str) -> str:
    return REGION_NAMES.get(region, region)


def example_mobile(region: str) -> str:
    """How a mobile number is written at home in ``region``: ``07400 123456``."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return "+447911123456"
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)


def mobile_help(region: str | None = None) -> str:
    region = region or default_region()
    return (
        f"A {region_words(region)} number as you would dial it ({example_mobile(region)}), "
        "or any number with its country code (+44 7911 123456)."
    )


def parse_typed_mobile(raw: str, *, region: str | None = None) -> PhoneNumber:
    """A mobile number as a person types it: national in ``region`` (``07911 123456``)
    or international (``+44 7911 123456``, ``0044 7911 123456``). Raises
    ``MobileNumberError`` saying in words what is wrong."""
    region = region or default_region()
    text = " ".join((raw or "").split())
    if not text:
        raise MobileNumberError("Enter a mobile number.")
    if not ALLOWED_CHARACTERS.match(text):
        raise MobileNumberError(
            f"“{text[:40]}” has characters a phone number cannot have: use digits, "
            "spaces and a + at the start only."
        )
    if text.startswith("00"):
        text = "+" + text[2:]
    local = region_words(region)
    try:
        number = PhoneNumber.from_string(text, region=region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise MobileNumberError(
                f"{text} starts with a country code that does not exist. "
                "Check the digits after the +."
            ) from exc
        if exc.error_type == phonenumbers.NumberParseException.TOO_LONG:
            raise MobileNumberError(
                f"{text[:24]}… is too long to be a phone number: check the digits."
            ) from exc
        raise MobileNumberError(f"{text} is too short to be a phone number.") from exc
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == phonenumbers.ValidationResult.TOO_SHORT:
        raise MobileNumberError(f"{text} is too short: a digit may be missing.")
    if reason == phonenumbers.ValidationResult.TOO_LONG:
        raise MobileNumberError(f"{text} is too long: there may be a digit too many.")
    if reason == phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
        raise MobileNumberError(f"{text} starts with a country code that does not exist.")
    if not number.is_valid():
        home = phonenumbers.region_code_for_number(number) == region or not text.startswith("+")
        where = f"{local} " if home else ""
        raise MobileNumberError(
            f"{text} is not a real {where}phone number: check the digits "
            f"(a {local} mobile looks like {example_mobile(region)})."
        )
    kind = phonenumbers.number_type(number)
    if kind not in MOBILE_TYPES:
        words = TYPE_WORDS.get(kind, "not a mobile number")
        raise MobileNumberError(
            f"{number.as_international} is {words}; a mobile number is needed to send "
            "text messages."
        )
    return number
