"""A patient's age as NHS patient banners write it, for every page and document that
shows a patient banner (the dashboard's, the record report's)."""

from __future__ import annotations

import datetime

from django.utils import timezone


def age_years(date_of_birth: datetime.date | None, today: datetime.date | None = None):
    if not date_of_birth:
        return None
    today = today or timezone.localdate()
    years = today.year - date_of_birth.year
    if (today.month, today.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


def age_short(date_of_birth: datetime.date | None, today: datetime.date | None = None) -> str:
    """``78y`` from two years old, ``14m`` under two, ``12d`` under a month (an infant's
    age in years says little)."""
    if not date_of_birth:
        return ""
    today = today or timezone.localdate()
    years = age_years(date_of_birth, today)
    if years >= 2:
        return f"{years}y"
    months = (today.year - date_of_birth.year) * 12 + today.month - date_of_birth.month
    if today.day < date_of_birth.day:
        months -= 1
    if months >= 1:
        return f"{months}m"
    return f"{max((today - date_of_birth).days, 0)}d"
