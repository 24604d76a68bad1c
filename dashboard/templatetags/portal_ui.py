"""Small presentation helpers for dashboard templates."""

from __future__ import annotations

import datetime

from django import template
from django.utils import dateformat, timezone
from django.utils.timesince import timesince

from filerequests.selectors import file_request_status_shown
from portal.patients import ages

register = template.Library()


@register.inclusion_tag("dashboard/file_requests/_status.html")
def request_status(file_request) -> dict:
    """A request's status badge, in the words ``file_request_status_shown`` decides."""
    status, label = file_request_status_shown(file_request)
    return {"status": status, "label": label}


@register.filter
def clinic_time(moment: datetime.datetime | None, fmt: str = "j M Y, H:i") -> str:
    """A moment in the clinic's time zone (active on every staff page) with the zone's
    name: "29 Mar 2026, 02:30 BST". Django's ``T`` leaves the name out in the hour that
    happens twice when clocks go back, the one hour the name is needed to tell apart."""
    if not moment:
        return ""
    local = timezone.localtime(moment)
    return f"{dateformat.format(local, fmt)} {local.tzname()}"


@register.filter
def request_status_code(file_request) -> str:
    """The code of the status ``request_status`` shows ("locked", "answered", ...)."""
    return file_request_status_shown(file_request)[0]


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
    return ages.age_years(date_of_birth)


@register.filter
def age_short(date_of_birth: datetime.date | None) -> str:
    """The age as NHS patient banners write it (``portal.patients.ages``)."""
    return ages.age_short(date_of_birth)


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
