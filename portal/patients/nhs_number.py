"""NHS numbers: ten digits, the last a modulus-11 check digit over the first nine.

People write them ``943 476 5919`` (the NHS's own grouping), ``943-476-5919`` or run
together; all are read, stored as the ten digits and shown grouped in threes, three and
four. The same check holds for the Scottish CHI and the Northern Irish H&C numbers,
which share the format.

The check is written here rather than taken from the ``nhs-number`` package (2.2.0):
that package answers only True or False, where a person needs to hear whether the
length, a character or the check digit is wrong; and its pattern's ``\\d`` accepts the
digits of any script ("٩٤٣٤٧٦٥٩١٩" passes and comes back unchanged), so one number
could be stored in two spellings and slip past the clinic's uniqueness. The algorithm
is a dozen lines (NHS Data Model and Dictionary, "NHS Number").
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

NHS_NUMBER_LENGTH = 10
# Typed numbers are echoed back in messages only while they are short enough to be one.
ECHO_MAX_LENGTH = 20
SEPARATORS = " -\u00a0\u2010\u2011\u2012\u2013"
ASCII_DIGITS = frozenset("0123456789")


class NhsNumberError(ValueError):
    """The text is not an NHS number; the message says why, in words."""


def nhs_number_check_digit(first_nine: str) -> int | None:
    """The check digit for these nine digits, or None where there can be none (the
    remainder leaves 10: no NHS number starts with these nine digits)."""
    total = sum(
        int(digit) * weight for digit, weight in zip(first_nine, range(10, 1, -1), strict=True)
    )
    check_digit = 11 - total % 11
    if check_digit == 11:
        return 0
    return None if check_digit == 10 else check_digit


def nhs_number_format(digits: str) -> str:
    """``9434765919`` → ``943 476 5919``; anything else as it is."""
    if len(digits) != NHS_NUMBER_LENGTH:
        return digits
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def nhs_number_parse(raw: str) -> str:
    """The ten digits of the NHS number in ``raw``, read with or without spaces and
    hyphens; ``NhsNumberError`` saying what is wrong otherwise. Blank is not a number:
    callers decide whether one is needed."""
    typed = " ".join(str(raw or "").split())
    digits = "".join(char for char in typed if char not in SEPARATORS)
    shown = f"NHS number {typed}" if len(typed) <= ECHO_MAX_LENGTH else "This NHS number"
    if not digits:
        raise NhsNumberError("Enter the NHS number: 10 digits, such as 943 476 5919.")
    if not set(digits) <= ASCII_DIGITS:
        raise NhsNumberError(
            f"{shown} is not valid: an NHS number is 10 digits (spaces or hyphens between "
            "them are fine), with no letters or other characters."
        )
    if len(digits) != NHS_NUMBER_LENGTH:
        raise NhsNumberError(
            f"{shown} is not valid: it has {len(digits)} digit{'s' if len(digits) != 1 else ''}"
            f" and an NHS number has {NHS_NUMBER_LENGTH}."
        )
    check_digit = nhs_number_check_digit(digits[:9])
    if check_digit is None:
        raise NhsNumberError(
            f"{shown} is not valid: no NHS number starts with {nhs_number_format(digits)[:11]},"
            " so a digit has been mistyped."
        )
    if check_digit != int(digits[9]):
        raise NhsNumberError(
            f"{shown} is not valid: its check digit does not match, so a digit has been "
            "mistyped or two swapped."
        )
    return digits


def nhs_number_clean(raw: str) -> str:
    """A form field's value: "" when left blank, else the ten digits, or Django's
    ValidationError with the reason (the dashboard's and the admin's forms share it)."""
    text = raw.strip()
    if not text:
        return ""
    try:
        return nhs_number_parse(text)
    except NhsNumberError as exc:
        raise ValidationError(str(exc)) from exc
