"""FHIR search parameters: parsed from the query string and applied to querysets.

Each ``SearchParameter`` names its FHIR type and a function that narrows a
queryset by one value (a comma-separated list, any of which may match). Repeated
parameters must all match. The CapabilityStatement is built from the same
definitions (``fhirapi.registry``), so it says exactly what a search accepts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.db.models import Q, QuerySet
from django.utils import timezone

from fhirapi.outcomes import FhirError

DATE = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?P<fraction>\.\d{1,6})?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?"
)
DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")

# Parameters that shape the answer rather than select resources.
RESULT_PARAMETERS = ("_count", "_offset", "_include", "_format", "_summary", "_total")
DEFAULT_COUNT = 20
MAX_COUNT = 100
MAX_OFFSET = 100_000


def invalid(message: str) -> FhirError:
    return FhirError(400, "invalid", message)


@dataclass(frozen=True)
class SearchParameter:
    """One supported parameter: its FHIR ``type`` and how one value narrows a queryset.

    ``narrow(value) -> Q`` returns the condition for one (comma-free) value;
    ``modifiers`` lists the modifiers it accepts besides none.
    """

    name: str
    type: str
    documentation: str
    narrow: Callable[[str, str], Q]
    modifiers: tuple[str, ...] = field(default=())

    def condition(self, raw: str, modifier: str) -> Q:
        if modifier and modifier not in self.modifiers:
            raise FhirError(
                400,
                "not-supported",
                f"The modifier :{modifier} is not supported on '{self.name}'.",
            )
        values = [value for value in split_values(raw) if value != ""]
        if not values:
            raise invalid(f"The search parameter '{self.name}' has no value.")
        combined = Q()
        for value in values:
            combined |= self.narrow(value, modifier)
        return combined


def split_values(raw: str) -> list[str]:
    r"""Values separated by commas; ``\,`` is a literal comma, as FHIR escapes it."""
    parts, current, escaped = [], [], False
    for char in raw:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts]


# --- dates --------------------------------------------------------------------


@dataclass(frozen=True)
class DateRange:
    """The instants a FHIR date value stands for: ``[start, end)``."""

    start: dt.datetime
    end: dt.datetime


def date_range(text: str) -> DateRange:
    """``2024``, ``2024-05``, ``2024-05-01`` or a dateTime, as the range it covers.

    A value without a zone is read in the portal's time zone, as FHIR allows.
    """
    match = DATE.fullmatch(text)
    if not match:
        raise invalid(
            f"'{text}' is not a FHIR date: use YYYY, YYYY-MM, YYYY-MM-DD or "
            "YYYY-MM-DDThh:mm:ss with a zone (e.g. 2024-05-01T09:30:00Z)."
        )
    parts = match.groupdict()
    zone = timezone.get_current_timezone()
    if parts["tz"] == "Z":
        zone = dt.UTC
    elif parts["tz"]:
        sign = 1 if parts["tz"][0] == "+" else -1
        hours, minutes = (int(x) for x in parts["tz"][1:].split(":"))
        zone = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
    try:
        year = int(parts["year"])
        if parts["month"] is None:
            start = dt.datetime(year, 1, 1, tzinfo=zone)
            return DateRange(start, start.replace(year=year + 1))
        month = int(parts["month"])
        if parts["day"] is None:
            start = dt.datetime(year, month, 1, tzinfo=zone)
            end = (
                start.replace(year=year + 1, month=1)
                if month == 12
                else start.replace(month=month + 1)
            )
            return DateRange(start, end)
        day = int(parts["day"])
        if parts["hour"] is None:
            start = dt.datetime(year, month, day, tzinfo=zone)
            return DateRange(start, start + dt.timedelta(days=1))
        start = dt.datetime(
            year,
            month,
            day,
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"] or 0),
            int(float(parts["fraction"] or 0) * 1_000_000),
            tzinfo=zone,
        )
    except (ValueError, OverflowError):
        raise invalid(f"'{text}' is not a real date.") from None
    if parts["fraction"]:
        step = dt.timedelta(microseconds=10 ** (6 - (len(parts["fraction"]) - 1)))
    elif parts["second"]:
        step = dt.timedelta(seconds=1)
    else:
        step = dt.timedelta(minutes=1)
    return DateRange(start, start + step)


def date_condition(field_name: str, *, is_date_only: bool = False):
    """A ``narrow`` for a date parameter with FHIR's prefixes (eq, ne, gt, lt, ge, le,
    sa, eb) on ``field_name``; ``is_date_only`` for a DateField such as birth dates."""

    def narrow(value: str, modifier: str) -> Q:
        prefix = value[:2] if value[:2] in DATE_PREFIXES else "eq"
        if value[:2] in DATE_PREFIXES:
            value = value[2:]
        elif value[:2].isalpha() and value[2:3].isdigit():
            raise FhirError(
                400,
                "not-supported",
                f"The date prefix '{value[:2]}' is not supported: use "
                + ", ".join(DATE_PREFIXES)
                + ".",
            )
        span = date_range(value)
        start, end = span.start, span.end
        if is_date_only:
            start = start.date()
            end = (end - dt.timedelta(microseconds=1)).date() + dt.timedelta(days=1)
        at_least_start = Q(**{f"{field_name}__gte": start})
        before_end = Q(**{f"{field_name}__lt": end})
        return {
            "eq": at_least_start & before_end,
            "ne": ~(at_least_start & before_end),
            "gt": Q(**{f"{field_name}__gte": end}),
            "sa": Q(**{f"{field_name}__gte": end}),
            "lt": Q(**{f"{field_name}__lt": start}),
            "eb": Q(**{f"{field_name}__lt": start}),
            "ge": at_least_start,
            "le": before_end,
        }[prefix]

    return narrow


# --- tokens and references ------------------------------------------------------


def token_parts(value: str) -> tuple[str | None, str]:
    """``system|code`` → (system, code); ``|code`` → ("", code); ``code`` → (None, code)."""
    if "|" in value:
        system, _, code = value.partition("|")
        return system, code
    return None, value


def reference_id(value: str, resource_type: str) -> str:
    """The id in ``Patient/123``, ``123`` or ``https://…/Patient/123``."""
    path = urlsplit(value).path if "://" in value else value
    segments = [segment for segment in path.split("/") if segment]
    if len(segments) >= 2 and segments[-2] == resource_type:
        return segments[-1]
    if len(segments) == 1:
        return segments[0]
    return ""


# --- the query string -------------------------------------------------------------


@dataclass
class SearchRequest:
    """A search's selecting conditions and its paging, read from the query string."""

    conditions: list[Q]
    used: list[tuple[str, str]]
    count: int
    offset: int
    includes: list[str]
    summary_count: bool


def search_request_parse(
    query: dict[str, list[str]],
    *,
    parameters: dict[str, SearchParameter],
    includes: tuple[str, ...],
    strict: bool,
) -> SearchRequest:
    """Parse a search's query string against the resource's ``parameters``.

    An unknown parameter is ignored (and left out of the ``self`` link) unless the
    client sent ``Prefer: handling=strict``, which refuses it, as FHIR says.
    """
    conditions: list[Q] = []
    used: list[tuple[str, str]] = []
    count, offset, chosen_includes, summary_count = DEFAULT_COUNT, 0, [], False
    for key, values in query.items():
        name, _, modifier = key.partition(":")
        for raw in values:
            if any(ord(char) < 32 or ord(char) == 127 for char in key + raw):
                # A NUL reaches no database (PostgreSQL refuses it), nor does any other
                # control character belong in a search value.
                raise invalid(f"The search parameter '{name[:40]}' holds a control character.")
            if name == "_count":
                count = bounded_int(raw, name="_count", low=0, high=MAX_COUNT, clamp=True)
            elif name == "_offset":
                offset = bounded_int(raw, name="_offset", low=0, high=MAX_OFFSET)
            elif name == "_include":
                if raw not in includes:
                    raise FhirError(
                        400,
                        "not-supported",
                        f"_include={raw} is not supported; supported: " + ", ".join(includes),
                    )
                chosen_includes.append(raw)
            elif name == "_summary":
                if raw != "count":
                    if strict:
                        raise FhirError(400, "not-supported", "Only _summary=count is supported.")
                    continue
                summary_count = True
            elif name in ("_format", "_total"):
                continue
            elif name in parameters:
                conditions.append(parameters[name].condition(raw, modifier))
            elif strict:
                raise FhirError(
                    400,
                    "not-supported",
                    f"The search parameter '{key}' is not supported on this resource; "
                    "supported: " + ", ".join(sorted(parameters)) + ".",
                )
            else:
                continue
            if name not in ("_format", "_total", "_count", "_offset"):
                used.append((key, raw))
    return SearchRequest(conditions, used, count, offset, chosen_includes, summary_count)


def bounded_int(raw: str, *, name: str, low: int, high: int, clamp: bool = False) -> int:
    try:
        number = int(raw)
    except ValueError:
        raise invalid(f"{name} must be a whole number, not '{raw[:40]}'.") from None
    if number < low:
        raise invalid(f"{name} must be at least {low}.")
    if number > high:
        if clamp:
            return high
        raise invalid(f"{name} must be at most {high}.")
    return number


def apply(queryset: QuerySet, search: SearchRequest) -> QuerySet:
    for condition in search.conditions:
        queryset = queryset.filter(condition)
    return queryset
