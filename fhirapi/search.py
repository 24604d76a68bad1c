"""FHIR search parameters: parsed from the query string and applied to querysets.

Each ``SearchParameter`` names its FHIR type and a function that narrows a
queryset by one value (a comma-separated list, any of which may match). Repeated
parameters must all match. The CapabilityStatement is built from the same
definitions (``fhirapi.registry``), so it says exactly what a search accepts.

Pages follow a cursor, not an offset: the ``next`` link carries the last sort key the
page answered (``_cursor``, signed by the server), and the next page starts after it. A
document that leaves the set, or arrives, while a client pages moves no other document
across a page boundary, so none is skipped and none answered twice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.core import signing
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from fhirapi.outcomes import FhirError

DATE = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?P<fraction>\.\d{1,6})?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?"
)
DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")

# Result parameters this server does not support. Ignoring one changes the answer's
# layout, never which resources it holds or in what order, so lenient handling may
# ignore them. (_sort, _summary, _elements and _revinclude are supported or refused,
# never ignored: each changes what a client reads from the answer.)
UNSUPPORTED_RESULT_PARAMETERS = ("_pretty", "_contained", "_containedType")
SUMMARY_MODES = ("true", "false", "text", "data", "count")
# A cursor is a few hundred characters; anything much longer was not made here.
MAX_CURSOR_LENGTH = 1000
CURSOR_SALT = "fhirapi.cursor"
DEFAULT_COUNT = 20
MAX_COUNT = 100
MAX_OFFSET = 100_000

# Values one search parameter may carry, its comma-separated lists and its repeats
# together. Each value is one more condition in the query: a thousand of them exceed
# SQLite's expression-tree depth (1,000), and no record system needs more than a
# page's worth of ids in one search.
MAX_VALUES = 100
# Characters in one value: longer than any name, identifier, reference or date.
MAX_VALUE_LENGTH = 256

# FHIR's dateTime allows offsets from -14:00 to +14:00.
MAX_ZONE_OFFSET = dt.timedelta(hours=14)


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

    def condition(self, values: list[str], modifier: str) -> Q:
        """Any of ``values`` (one occurrence's comma-separated list, empty ones left out)."""
        if modifier and modifier not in self.modifiers:
            accepted = ", ".join(f":{m}" for m in self.modifiers) or "none"
            raise FhirError(
                400,
                "not-supported",
                f"The modifier :{modifier} is not supported on '{self.name}' "
                f"(supported: {accepted}).",
            )
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


def string_condition(*field_names: str):
    """A ``narrow`` for a string parameter on ``field_names`` (any may match): FHIR's
    default, the start of the field, case-insensitive; ``:exact`` the whole field as
    written; ``:contains`` anywhere in it."""

    def narrow(value: str, modifier: str) -> Q:
        lookup = {"exact": "exact", "contains": "icontains"}.get(modifier, "istartswith")
        combined = Q(pk__in=[])
        for name in field_names:
            combined |= Q(**{f"{name}__{lookup}": value})
        return combined

    return narrow


# --- dates --------------------------------------------------------------------


@dataclass(frozen=True)
class DateRange:
    """The instants a FHIR date value stands for: ``[start, end)``."""

    start: dt.datetime
    end: dt.datetime


def date_range(text: str) -> DateRange:
    """``2024``, ``2024-05``, ``2024-05-01`` or a dateTime, as the range it covers.

    A value without a zone is read in the portal's time zone, as FHIR allows. A value
    the database cannot compare (an offset no place uses, a range reaching before
    0001-01-01 or past 9999-12-31 in UTC) is refused here, in words, rather than
    failing in the query.
    """
    match = DATE.fullmatch(text)
    if not match:
        raise invalid(
            f"'{text}' is not a FHIR date: use YYYY, YYYY-MM, YYYY-MM-DD or "
            "YYYY-MM-DDThh:mm:ss with a zone (e.g. 2024-05-01T09:30:00Z)."
        )
    parts = match.groupdict()
    zone = zone_of(text, parts["tz"])
    year = int(parts["year"])
    month = int(parts["month"] or 1)
    day = int(parts["day"] or 1)
    try:
        start = dt.datetime(
            year,
            month,
            day,
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            # The digits themselves: through a float, .000249 s read as 248 microseconds.
            int((parts["fraction"] or ".")[1:].ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError:
        raise invalid(f"'{text}' is not a real date.") from None
    try:
        if parts["month"] is None:
            end = start.replace(year=year + 1)
        elif parts["day"] is None:
            end = (
                start.replace(year=year + 1, month=1)
                if month == 12
                else start.replace(month=month + 1)
            )
        elif parts["hour"] is None:
            end = start + dt.timedelta(days=1)
        elif parts["fraction"]:
            end = start + dt.timedelta(microseconds=10 ** (6 - (len(parts["fraction"]) - 1)))
        elif parts["second"]:
            end = start + dt.timedelta(seconds=1)
        else:
            end = start + dt.timedelta(minutes=1)
        # Both ends as the database compares them.
        start.astimezone(dt.UTC)
        end.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise outside_the_calendar(text) from None
    return DateRange(start, end)


def outside_the_calendar(text: str) -> FhirError:
    return invalid(
        f"'{text}' reaches outside the dates this server can search: from 0001-01-01 to "
        "9999-12-31, in UTC."
    )


def days_covered(span: DateRange, text: str) -> tuple[dt.date, dt.date]:
    """The days ``[first, after_last)`` a range touches, for a date-only field."""
    try:
        last = (span.end - dt.timedelta(microseconds=1)).date()
        return span.start.date(), last + dt.timedelta(days=1)
    except OverflowError:
        raise outside_the_calendar(text) from None


def zone_of(text: str, offset: str | None) -> dt.tzinfo:
    """The zone of a date value: its ``Z`` or ``±hh:mm``, else the portal's."""
    if offset is None:
        return timezone.get_current_timezone()
    if offset == "Z":
        return dt.UTC
    hours, minutes = (int(x) for x in offset[1:].split(":"))
    span = dt.timedelta(hours=hours, minutes=minutes)
    if minutes > 59 or span > MAX_ZONE_OFFSET:
        raise invalid(
            f"'{text}' has the time zone offset {offset}, which no place uses: offsets run "
            "from -14:00 to +14:00."
        )
    return dt.timezone(span if offset[0] == "+" else -span)


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
        start, end = days_covered(span, value) if is_date_only else (span.start, span.end)
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
    """A search's selecting conditions, its order, paging and shape, read from the query
    string. ``sort`` is a ``_sort`` key (``-`` first for descending) or "" for the
    resource's default order; ``cursor`` the raw ``_cursor`` (read by ``cursor_read``)."""

    conditions: list[Q]
    used: list[tuple[str, str]]
    count: int
    offset: int
    includes: list[str]
    summary: str = ""
    elements: list[str] = field(default_factory=list)
    sort: str = ""
    cursor: str | None = None

    @property
    def summary_count(self) -> bool:
        return self.summary == "count"


def search_request_parse(
    query: dict[str, list[str]],
    *,
    parameters: dict[str, SearchParameter],
    includes: tuple[str, ...],
    lenient: bool,
    sorts: dict[str, str] | None = None,
    element_names: frozenset[str] = frozenset(),
) -> SearchRequest:
    """Parse a search's query string against the resource's ``parameters``.

    A parameter the server does not support is refused (400), as HAPI does, unless the
    client sent ``Prefer: handling=lenient``: then a plain unknown name is ignored (and
    left out of the ``self`` link), as FHIR allows. Never ignored, however the client
    asks: a parameter the server can tell was meant to narrow the search in a form it
    does not support (``ignorable_when_lenient``), since the answer would be wider than
    asked, with other patients' resources in it; nor a ``_sort``, ``_summary``,
    ``_elements`` or ``_revinclude`` it cannot honour, since the client would read the
    answer as ordered, shaped or filled as it asked.
    """
    conditions: list[Q] = []
    used: list[tuple[str, str]] = []
    value_counts: Counter[str] = Counter()
    parsed = SearchRequest(conditions, used, DEFAULT_COUNT, 0, [])
    for key, values in query.items():
        name, _, modifier = key.partition(":")
        for raw in values:
            if any(ord(char) < 32 or ord(char) == 127 for char in key + raw):
                # A NUL reaches no database (PostgreSQL refuses it), nor does any other
                # control character belong in a search value.
                raise invalid(f"The search parameter '{name[:40]}' holds a control character.")
            if name == "_count":
                parsed.count = bounded_int(raw, name="_count", low=0, high=MAX_COUNT, clamp=True)
            elif name == "_offset":
                parsed.offset = bounded_int(raw, name="_offset", low=0, high=MAX_OFFSET)
            elif name == "_cursor":
                if len(raw) > MAX_CURSOR_LENGTH or not raw:
                    raise cursor_refused()
                parsed.cursor = raw
            elif name == "_include":
                if raw not in includes:
                    raise FhirError(
                        400,
                        "not-supported",
                        f"_include={raw[:80]} is not supported; supported: " + ", ".join(includes),
                    )
                parsed.includes.append(raw)
            elif name == "_revinclude":
                raise FhirError(
                    400,
                    "not-supported",
                    f"_revinclude={raw[:80]} is not supported: search the other resource by "
                    "this one instead (DocumentReference?patient=Patient/<id>).",
                )
            elif name == "_summary":
                if raw not in SUMMARY_MODES:
                    raise invalid(
                        f"_summary={raw[:40]} is not a summary mode: use "
                        + ", ".join(SUMMARY_MODES)
                        + "."
                    )
                parsed.summary = raw
            elif name == "_elements":
                parsed.elements += elements_parse(raw, element_names)
            elif name == "_sort":
                parsed.sort = sort_parse(raw, sorts or {})
            elif name in ("_format", "_total", "_totalMethod"):
                # The total is always counted; fhirpy's count() sends _totalMethod.
                continue
            elif name in parameters and "." not in key:
                split = [value for value in split_values(raw) if value != ""]
                value_counts[name] += len(split)
                values_check(name, split, total=value_counts[name])
                conditions.append(parameters[name].condition(split, modifier))
            elif lenient and ignorable_when_lenient(key):
                continue
            else:
                raise unsupported_parameter(key, parameters)
            if name not in ("_count", "_offset", "_cursor"):
                used.append((key, raw))
    return parsed


def sort_parse(raw: str, sorts: dict[str, str]) -> str:
    key = raw.strip()
    if key.removeprefix("-") not in sorts or "," in key:
        supported = ", ".join(f"{name} (or -{name})" for name in sorts) or "none"
        raise FhirError(
            400,
            "not-supported",
            f"_sort={raw[:80]} is not supported: sort by one of {supported}.",
        )
    return key


def elements_parse(raw: str, element_names: frozenset[str]) -> list[str]:
    names = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in names if name not in element_names]
    if unknown or not names:
        raise invalid(
            f"_elements={raw[:80]}: "
            + (f"'{unknown[0][:40]}' is not an element of this resource" if unknown else "empty")
            + "; name top-level elements, e.g. _elements=subject,date."
        )
    return names


def values_check(name: str, values: list[str], *, total: int) -> None:
    """Refuse more values than a search may carry (``MAX_VALUES``), or a value longer than
    any real one, before any of them reaches the database."""
    if total > MAX_VALUES:
        raise FhirError(
            400,
            "too-costly",
            f"The search parameter '{name}' has {total} values; a search takes at most "
            f"{MAX_VALUES} values of one parameter (its comma-separated lists and repeats "
            "together). Split the search into several.",
        )
    for value in values:
        if len(value) > MAX_VALUE_LENGTH:
            raise FhirError(
                400,
                "too-long",
                f"A value of the search parameter '{name}' is {len(value)} characters long; "
                f"values are at most {MAX_VALUE_LENGTH}.",
            )


def ignorable_when_lenient(key: str) -> bool:
    """Whether lenient handling may ignore this unsupported parameter: a plain name the
    server does not know, or a result parameter it does not support (``_sort``...).

    Never a chain (``patient.name``), a modifier (``patient:missing``), ``_has`` or
    another of FHIR's own filters (``_filter``, ``_text``, ``_tag``...): each says the
    client meant to narrow the search, and ignored it would answer more than asked.
    """
    if "." in key or ":" in key:
        return False
    if key.startswith("_"):
        return key in UNSUPPORTED_RESULT_PARAMETERS
    return True


def unsupported_parameter(key: str, parameters: dict[str, SearchParameter]) -> FhirError:
    shown = key[:80]
    supported = ", ".join(sorted(parameters))
    if "." in key:
        message = (
            f"'{shown}' is a chained search, which this server does not support: search "
            "Patient? first, then search by the patient's id (patient=Patient/<id>)."
        )
    elif key.startswith("_has"):
        message = (
            f"'{shown}': reverse chaining (_has) is not supported; supported parameters: "
            f"{supported}."
        )
    else:
        name, _, modifier = key.partition(":")
        what = f"The search parameter '{name[:80]}'"
        if modifier:
            what += f" (with :{modifier[:40]})"
        message = f"{what} is not supported on this resource; supported: {supported}."
    return FhirError(400, "not-supported", message)


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


# --- pages by a cursor ---------------------------------------------------------------


def cursor_refused() -> FhirError:
    return invalid(
        "The _cursor is not one this server made for this search (altered, cut, or made "
        "for another search or clinic): follow the next link as given, or start again "
        "from the first page."
    )


@dataclass(frozen=True)
class Cursor:
    """A position in a search's order: after (or, for a previous page, before) the row
    whose sort key is ``value`` and whose id is ``pk``."""

    value: object
    pk: str
    before: bool = False


def cursor_make(row, *, field_name: str, sort: str, scope: str, before: bool = False) -> str:
    """The opaque, signed ``_cursor`` after ``row`` (or before it). ``scope`` (the
    resource type and the caller's account) is signed into it, so a cursor answers only
    the search and the clinic it was made for."""
    value = getattr(row, field_name)
    if isinstance(value, dt.datetime):
        encoded = ["t", value.isoformat()]
    elif isinstance(value, dt.date):
        encoded = ["d", value.isoformat()]
    else:
        encoded = ["s", str(value)]
    payload = {"o": sort, "k": encoded, "i": str(row.pk), "b": int(before), "c": scope}
    return signing.dumps(payload, salt=CURSOR_SALT, compress=True)


def cursor_read(raw: str, *, sort: str, scope: str) -> Cursor:
    try:
        payload = signing.loads(raw, salt=CURSOR_SALT)
        if payload["c"] != scope or payload["o"] != sort:
            raise cursor_refused()
        kind, text = payload["k"]
        value = {"t": parse_datetime, "d": parse_date, "s": str}[kind](text)
        return Cursor(value=value, pk=str(payload["i"]), before=bool(payload["b"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise cursor_refused() from None


@dataclass
class Page:
    rows: list
    more_after: bool
    more_before: bool


def page_select(queryset: QuerySet, search: SearchRequest, *, field_name: str, scope: str) -> Page:
    """The page a search asks for, in its order, by keyset on (sort key, id): after the
    cursor's row, before it for a previous page, or from the start (``_offset`` rows in)."""
    descending = search.sort.startswith("-")
    forward = "-" if descending else ""
    backward = "" if descending else "-"
    count = search.count
    cursor = cursor_read(search.cursor, sort=search.sort, scope=scope) if search.cursor else None
    if cursor is not None and cursor.before:
        beyond = "gt" if descending else "lt"
        rows = list(
            queryset.filter(keyset_beyond(field_name, beyond, cursor)).order_by(
                f"{backward}{field_name}", f"{backward}pk"
            )[: count + 1]
        )
        return Page(rows=rows[:count][::-1], more_after=True, more_before=len(rows) > count)
    ordered = queryset.order_by(f"{forward}{field_name}", f"{forward}pk")
    if cursor is not None:
        ordered = ordered.filter(keyset_beyond(field_name, "lt" if descending else "gt", cursor))
    rows = list(ordered[search.offset : search.offset + count + 1])
    return Page(
        rows=rows[:count],
        more_after=len(rows) > count,
        more_before=cursor is not None or search.offset > 0,
    )


def keyset_beyond(field_name: str, lookup: str, cursor: Cursor) -> Q:
    return Q(**{f"{field_name}__{lookup}": cursor.value}) | Q(
        **{field_name: cursor.value, f"pk__{lookup}": cursor.pk}
    )
