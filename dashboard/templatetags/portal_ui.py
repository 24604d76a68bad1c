"""Small presentation helpers for dashboard templates."""

from __future__ import annotations

import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()

TITLES = {"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "sir", "dame"}


@register.filter
def initials(name: str) -> str:
    """'Dr Ada Lovelace' → 'AL'; titles are skipped, at most two letters."""
    words = [word for word in str(name or "").replace(".", " ").split() if word]
    named = [word for word in words if word.lower() not in TITLES] or words
    letters = [word[0] for word in named if word[0].isalpha()]
    if len(letters) > 2:
        letters = [letters[0], letters[-1]]
    return "".join(letters).upper() or "?"


@register.filter
def age(date_of_birth: datetime.date | None) -> int | None:
    if not date_of_birth:
        return None
    today = timezone.localdate()
    years = today.year - date_of_birth.year
    if (today.month, today.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


@register.filter
def age_short(date_of_birth: datetime.date | None) -> str:
    """The age as NHS patient banners write it: ``78y`` from two years old, ``14m`` under
    two, ``12d`` under a month (an infant's age in years says little)."""
    if not date_of_birth:
        return ""
    today = timezone.localdate()
    years = age(date_of_birth)
    if years >= 2:
        return f"{years}y"
    months = (today.year - date_of_birth.year) * 12 + today.month - date_of_birth.month
    if today.day < date_of_birth.day:
        months -= 1
    if months >= 1:
        return f"{months}m"
    return f"{max((today - date_of_birth).days, 0)}d"


@register.filter
def ago(moment: datetime.datetime | None) -> str:
    """'just now' for under a minute, else '3 hours ago'."""
    if moment is None:
        return ""
    if timezone.now() - moment < datetime.timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment).split(',')[0]} ago"


@register.filter
def get_item(mapping, key):
    """``counts|get_item:"sent"``: a dictionary's value in a template."""
    return (mapping or {}).get(key)
