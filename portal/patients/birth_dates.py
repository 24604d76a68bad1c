"""Which dates can be a date of birth, for every door that takes one: the dashboard's
patient form, the patients and file-requests APIs, and the patient's own page, which
words its answer in GOV.UK's pattern (filerequests.patient_views)."""

from __future__ import annotations

import datetime
import zoneinfo

EARLIEST_YEAR = 1900
# The calendar furthest ahead (UTC+14): a date that is today anywhere is not in the future.
FURTHEST_AHEAD_TIME_ZONE = zoneinfo.ZoneInfo("Pacific/Kiritimati")


def date_of_birth_problem(value: datetime.date, *, today: datetime.date) -> str:
    """What is wrong with ``value`` as a date of birth on ``today``, in words; "" if
    nothing. ``today`` is the caller's: the clinic's on its pages, the furthest-ahead
    calendar's on the API, which carries no clinic's time zone."""
    if value > today:
        return "Date of birth cannot be in the future."
    if value.year < EARLIEST_YEAR:
        return f"Date of birth must be after {EARLIEST_YEAR}."
    return ""
