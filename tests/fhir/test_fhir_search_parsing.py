"""FHIR search parsing at its boundaries, without the HTTP round trip: what a date value
covers (to the microsecond, in its zone), which prefix means which side, the limits on
counts, offsets, values and their length, cursors, and the words of every refusal (the
OperationOutcome's status, code and diagnostics a record system reads)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Q

from fhirapi import search
from fhirapi.outcomes import FhirError
from fhirapi.search import (
    DateRange,
    SearchParameter,
    date_condition,
    date_range,
    search_request_parse,
)

UTC = dt.UTC


def refused(call, *args, **kwargs) -> FhirError:
    with pytest.raises(FhirError) as error:
        call(*args, **kwargs)
    return error.value


# --- dates ------------------------------------------------------------------------------------


def at(*parts, tz=UTC) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=tz)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2024", at(2024, 1, 1), at(2025, 1, 1)),
        ("2024-02", at(2024, 2, 1), at(2024, 3, 1)),
        ("2024-12", at(2024, 12, 1), at(2025, 1, 1)),
        ("2024-02-29", at(2024, 2, 29), at(2024, 3, 1)),
        ("2024-05-01T09:30Z", at(2024, 5, 1, 9, 30), at(2024, 5, 1, 9, 31)),
        ("2024-05-01T09:30:15Z", at(2024, 5, 1, 9, 30, 15), at(2024, 5, 1, 9, 30, 16)),
        ("2024-05-01T09:30:00Z", at(2024, 5, 1, 9, 30), at(2024, 5, 1, 9, 30, 1)),
        (
            "2024-05-01T09:30:15.5Z",
            at(2024, 5, 1, 9, 30, 15, 500000),
            at(2024, 5, 1, 9, 30, 15, 600000),
        ),
        (
            "2024-05-01T09:30:15.25Z",
            at(2024, 5, 1, 9, 30, 15, 250000),
            at(2024, 5, 1, 9, 30, 15, 260000),
        ),
        ("2024-05-01T09:30:15.000001Z", at(2024, 5, 1, 9, 30, 15, 1), at(2024, 5, 1, 9, 30, 15, 2)),
        ("0001-01-01T00:00:00Z", at(1, 1, 1), at(1, 1, 1, 0, 0, 1)),
    ],
)
def test_a_date_value_covers_exactly_its_precision(text, start, end):
    """GIVEN a FHIR date of any precision THEN it stands for [its start, the start of the
    next year, month, day, minute, second or fraction)."""
    assert date_range(text) == DateRange(start, end)


@pytest.mark.parametrize(
    ("offset", "delta"),
    [
        ("+14:00", 14 * 60),
        ("-14:00", -14 * 60),
        ("+05:45", 5 * 60 + 45),
        ("-00:59", -59),
        ("+00:00", 0),
    ],
)
def test_an_offset_up_to_fourteen_hours_either_way_is_read(offset, delta):
    got = date_range(f"2024-05-01T09:30:00{offset}")
    assert got.start == at(2024, 5, 1, 9, 30, tz=dt.timezone(dt.timedelta(minutes=delta)))
    assert got.start.utcoffset() == dt.timedelta(minutes=delta)


@pytest.mark.parametrize("offset", ["+14:01", "-14:01", "+15:00", "+05:60", "-23:59"])
def test_an_offset_no_place_uses_is_refused_in_words(offset):
    error = refused(date_range, f"2024-05-01T09:30:00{offset}")
    assert (error.status, error.code) == (400, "invalid")
    assert error.diagnostics == (
        f"'2024-05-01T09:30:00{offset}' has the time zone offset {offset}, which no place "
        "uses: offsets run from -14:00 to +14:00."
    )


def test_a_value_without_a_zone_is_read_in_the_portals_zone(settings):
    settings.TIME_ZONE = "Europe/London"
    from django.utils import timezone

    timezone.activate("Europe/London")
    try:
        got = date_range("2024-07-01T10:00:00")
    finally:
        timezone.deactivate()
    assert got.start.astimezone(UTC) == at(2024, 7, 1, 9, 0)


@pytest.mark.parametrize(
    "text", ["24", "2024-5", "2024-05-01T09", "2024/05/01", "2024-05-01T09:30:00.1234567Z", ""]
)
def test_what_is_not_a_fhir_date_is_refused_saying_what_is(text):
    error = refused(date_range, text)
    assert (error.status, error.code) == (400, "invalid")
    assert error.diagnostics.startswith(f"'{text}' is not a FHIR date: use YYYY, YYYY-MM")


@pytest.mark.parametrize("text", ["2023-02-29", "2024-13", "2024-04-31", "2024-05-01T24:00:00Z"])
def test_a_date_no_calendar_has_is_refused(text):
    error = refused(date_range, text)
    assert error.diagnostics == f"'{text}' is not a real date."


@pytest.mark.parametrize(
    "text", ["9999", "9999-12", "9999-12-31", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00"]
)
def test_a_date_reaching_past_the_calendar_is_refused_in_words(text):
    error = refused(date_range, text)
    assert error.diagnostics == (
        f"'{text}' reaches outside the dates this server can search: from 0001-01-01 to "
        "9999-12-31, in UTC."
    )


FIELD = "when"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05", Q(when__gte=at(2024, 5, 1)) & Q(when__lt=at(2024, 6, 1))),
        ("eq2024-05", Q(when__gte=at(2024, 5, 1)) & Q(when__lt=at(2024, 6, 1))),
        ("ne2024-05", ~(Q(when__gte=at(2024, 5, 1)) & Q(when__lt=at(2024, 6, 1)))),
        ("gt2024-05", Q(when__gte=at(2024, 6, 1))),
        ("sa2024-05", Q(when__gte=at(2024, 6, 1))),
        ("lt2024-05", Q(when__lt=at(2024, 5, 1))),
        ("eb2024-05", Q(when__lt=at(2024, 5, 1))),
        ("ge2024-05", Q(when__gte=at(2024, 5, 1))),
        ("le2024-05", Q(when__lt=at(2024, 6, 1))),
    ],
)
def test_each_date_prefix_compares_the_side_it_names(value, expected):
    """GIVEN a month with each prefix THEN eq is inside it, ne outside, gt/sa from the next
    month on, lt/eb before it, ge from its start, le before its end."""
    narrow = date_condition(FIELD)
    # A month without a zone is read in the portal's zone (UTC in the tests).
    assert narrow(value, "") == expected


def test_a_date_only_field_compares_whole_days():
    """GIVEN a birth date (a date, not an instant) and a minute of a day THEN the day it
    falls on is what is compared."""
    narrow = date_condition("birth_date", is_date_only=True)
    got = narrow("2024-05-01T23:59Z", "")
    assert got == Q(birth_date__gte=dt.date(2024, 5, 1)) & Q(birth_date__lt=dt.date(2024, 5, 2))
    assert narrow("2024-05", "") == Q(birth_date__gte=dt.date(2024, 5, 1)) & Q(
        birth_date__lt=dt.date(2024, 6, 1)
    )


@pytest.mark.parametrize("value", ["ap2024", "xx2024-05", "Gt2024"])
def test_an_unknown_date_prefix_is_refused_naming_those_supported(value):
    error = refused(date_condition(FIELD), value, "")
    assert (error.status, error.code) == (400, "not-supported")
    assert error.diagnostics == (
        f"The date prefix '{value[:2]}' is not supported: use eq, ne, gt, lt, ge, le, sa, eb."
    )


# --- values, tokens, references -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "values"),
    [
        ("a,b", ["a", "b"]),
        (r"a\,b,c", ["a,b", "c"]),
        (r"a\\,b", ["a\\", "b"]),
        (" a , b ", ["a", "b"]),
        ("a,,b,", ["a", "", "b", ""]),
        ("", [""]),
    ],
)
def test_values_split_at_commas_but_not_escaped_ones(raw, values):
    assert search.split_values(raw) == values


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("http://x|123", ("http://x", "123")),
        ("|123", ("", "123")),
        ("123", (None, "123")),
        ("a|b|c", ("a", "b|c")),
    ],
)
def test_a_token_is_system_bar_code(value, parts):
    assert search.token_parts(value) == parts


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("Patient/123", "123"),
        ("123", "123"),
        ("https://fhir.example/R4/Patient/123", "123"),
        ("https://fhir.example/R4/Patient/123/", "123"),
        ("Practitioner/123", ""),
        ("https://fhir.example/", ""),
        ("Patient", "Patient"),
        ("a/b/c", ""),
    ],
)
def test_a_reference_names_an_id_only_of_its_type(value, found):
    assert search.reference_id(value, "Patient") == found


# --- the query string -------------------------------------------------------------------------


def name_parameter() -> SearchParameter:
    return SearchParameter(
        "name", "string", "", search.string_condition("family", "given"), ("exact", "contains")
    )


def parse(query: dict[str, list[str]], *, lenient: bool = False, **options):
    return search_request_parse(
        query,
        parameters={"name": name_parameter()},
        includes=("DocumentReference:patient",),
        lenient=lenient,
        sorts={"date": "created_at"},
        element_names=frozenset({"subject", "date"}),
        **options,
    )


def test_an_empty_query_is_the_first_page_of_twenty():
    got = parse({})
    assert (got.count, got.offset, got.includes, got.summary, got.sort, got.cursor) == (
        20,
        0,
        [],
        "",
        "",
        None,
    )
    assert got.conditions == [] and got.used == []


@pytest.mark.parametrize(
    ("raw", "count"), [("0", 0), ("1", 1), ("100", 100), ("101", 100), ("99999", 100)]
)
def test_count_is_clamped_to_a_hundred(raw, count):
    assert parse({"_count": [raw]}).count == count


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("_count", "-1", "_count must be at least 0."),
        ("_count", "ten", "_count must be a whole number, not 'ten'."),
        ("_offset", "-1", "_offset must be at least 0."),
        ("_offset", "100001", "_offset must be at most 100000."),
        ("_offset", "1.5", "_offset must be a whole number, not '1.5'."),
    ],
)
def test_counts_and_offsets_outside_their_range_are_refused(name, raw, message):
    error = refused(parse, {name: [raw]})
    assert (error.status, error.code, error.diagnostics) == (400, "invalid", message)


@pytest.mark.parametrize("raw", ["0", "100000"])
def test_an_offset_at_either_end_of_its_range_is_taken(raw):
    assert parse({"_offset": [raw]}).offset == int(raw)


def test_a_value_may_be_256_characters_and_not_257():
    assert len(parse({"name": ["x" * 256]}).conditions) == 1
    error = refused(parse, {"name": ["x" * 257]})
    assert (error.status, error.code) == (400, "too-long")
    assert error.diagnostics == (
        "A value of the search parameter 'name' is 257 characters long; values are at most 256."
    )


def test_a_parameter_may_carry_a_hundred_values_in_all_and_not_more():
    hundred = {"name": [",".join(["a"] * 60), ",".join(["b"] * 40)]}
    assert len(parse(hundred).conditions) == 2
    error = refused(parse, {"name": [",".join(["a"] * 60), ",".join(["b"] * 41)]})
    assert (error.status, error.code) == (400, "too-costly")
    assert error.diagnostics.startswith(
        "The search parameter 'name' has 101 values; a search takes at most 100 values"
    )


def test_empty_values_are_left_out_and_none_left_is_refused():
    assert len(parse({"name": ["a,,b,"]}).conditions) == 1
    error = refused(parse, {"name": [",,"]})
    assert error.diagnostics == "The search parameter 'name' has no value."


@pytest.mark.parametrize("char", ["\x00", "\x1f", "\x7f", "\n"])
@pytest.mark.parametrize("where", ["key", "value"])
def test_a_control_character_anywhere_is_refused(char, where):
    query = {f"na{char}me": ["x"]} if where == "key" else {"name": [f"x{char}"]}
    error = refused(parse, query)
    assert (error.status, error.code) == (400, "invalid")
    assert error.diagnostics.endswith("holds a control character.")


@pytest.mark.parametrize("char", [" ", "~", "\x80", "é"])
def test_printable_characters_either_side_of_the_controls_are_taken(char):
    assert len(parse({"name": [f"x{char}"]}).conditions) == 1


def test_modifiers_of_the_parameter_are_taken_and_others_refused_naming_those_it_takes():
    assert len(parse({"name:exact": ["Smith"], "name:contains": ["mit"]}).conditions) == 2
    error = refused(parse, {"name:missing": ["true"]})
    assert (error.status, error.code) == (400, "not-supported")
    assert error.diagnostics == (
        "The modifier :missing is not supported on 'name' (supported: :exact, :contains)."
    )
    plain = SearchParameter("gender", "token", "", search.string_condition("g"))
    error = refused(plain.condition, ["x"], "exact")
    assert (
        error.diagnostics == "The modifier :exact is not supported on 'gender' (supported: none)."
    )


def test_what_was_used_is_kept_for_the_self_link_but_not_the_paging():
    got = parse(
        {
            "name": ["a"],
            "_count": ["5"],
            "_offset": ["5"],
            "_summary": ["count"],
            "_include": ["DocumentReference:patient"],
        }
    )
    assert got.used == [
        ("name", "a"),
        ("_summary", "count"),
        ("_include", "DocumentReference:patient"),
    ]
    assert got.summary_count
    assert got.includes == ["DocumentReference:patient"]


def test_total_and_format_are_accepted_and_not_echoed():
    got = parse({"_total": ["accurate"], "_format": ["json"], "_totalMethod": ["count"]})
    assert got.used == [] and got.conditions == []


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        (
            {"_include": ["Patient:organization"]},
            "not-supported",
            "_include=Patient:organization is not supported; supported: DocumentReference:patient",
        ),
        (
            {"_revinclude": ["Provenance:target"]},
            "not-supported",
            "_revinclude=Provenance:target is not supported: search the other resource by "
            "this one instead (DocumentReference?patient=Patient/<id>).",
        ),
        (
            {"_summary": ["yes"]},
            "invalid",
            "_summary=yes is not a summary mode: use true, false, text, data, count.",
        ),
        (
            {"_sort": ["name"]},
            "not-supported",
            "_sort=name is not supported: sort by one of date (or -date).",
        ),
        (
            {"_sort": ["date,-date"]},
            "not-supported",
            "_sort=date,-date is not supported: sort by one of date (or -date).",
        ),
        (
            {"_elements": ["subject,colour"]},
            "invalid",
            "_elements=subject,colour: 'colour' is not an element of this resource; name "
            "top-level elements, e.g. _elements=subject,date.",
        ),
        (
            {"_elements": [" , "]},
            "invalid",
            "_elements= , : empty; name top-level elements, e.g. _elements=subject,date.",
        ),
        ({"_cursor": [""]}, "invalid", search.cursor_refused().diagnostics),
        ({"_cursor": ["x" * 1001]}, "invalid", search.cursor_refused().diagnostics),
    ],
    ids=[
        "include",
        "revinclude",
        "summary",
        "sort",
        "two sorts",
        "elements",
        "no elements",
        "empty cursor",
        "long cursor",
    ],
)
def test_result_parameters_it_cannot_honour_are_refused_in_words(query, code, message):
    error = refused(parse, query)
    assert (error.status, error.code, error.diagnostics) == (400, code, message)


def test_result_parameters_it_can_honour_are_read():
    got = parse({"_sort": [" -date "], "_elements": ["subject, date"], "_cursor": ["x" * 1000]})
    assert got.sort == "-date"
    assert got.elements == ["subject", "date"]
    assert got.cursor == "x" * 1000
    assert parse({"_sort": ["date"]}).sort == "date"
    assert refused(
        search_request_parse, {"_sort": ["date"]}, parameters={}, includes=(), lenient=False
    ).diagnostics == ("_sort=date is not supported: sort by one of none.")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            "colour",
            "The search parameter 'colour' is not supported on this resource; supported: name.",
        ),
        (
            "colour:exact",
            "The search parameter 'colour' (with :exact) is not supported on this resource; "
            "supported: name.",
        ),
        (
            "name.family",
            "'name.family' is a chained search, which this server does not support: search "
            "Patient? first, then search by the patient's id (patient=Patient/<id>).",
        ),
        (
            "_has:Observation:patient:code",
            "'_has:Observation:patient:code': reverse chaining (_has) is not supported; "
            "supported parameters: name.",
        ),
        (
            "_filter",
            "The search parameter '_filter' is not supported on this resource; supported: name.",
        ),
    ],
)
def test_an_unsupported_parameter_is_refused_saying_why(key, message):
    error = refused(parse, {key: ["x"]})
    assert (error.status, error.code, error.diagnostics) == (400, "not-supported", message)


@pytest.mark.parametrize("key", ["colour", "_pretty", "_contained", "_containedType"])
def test_lenient_handling_ignores_plain_unknown_names_and_unsupported_layouts(key):
    got = parse({key: ["x"], "name": ["a"]}, lenient=True)
    assert got.used == [("name", "a")]


@pytest.mark.parametrize(
    "key",
    ["colour:exact", "name.family", "_has:Observation:patient:code", "_filter", "_tag", "_text"],
)
def test_lenient_handling_never_ignores_what_would_narrow_the_search(key):
    error = refused(parse, {key: ["x"]}, lenient=True)
    assert (error.status, error.code) == (400, "not-supported")


def test_a_chained_name_of_a_known_parameter_is_refused_not_searched():
    error = refused(parse, {"name.family": ["x"]})
    assert "chained search" in error.diagnostics


# --- cursors ----------------------------------------------------------------------------------


class Row:
    def __init__(self, pk, value):
        self.pk = pk
        self.created_at = value


@pytest.mark.parametrize(
    "value",
    [at(2024, 5, 1, 9, 30, 15, 123456), dt.date(2024, 5, 1), "Smith"],
    ids=["instant", "date", "text"],
)
@pytest.mark.parametrize("before", [False, True])
def test_a_cursor_reads_back_what_it_was_made_from(value, before):
    made = search.cursor_make(
        Row("abc", value), field_name="created_at", sort="-date", scope="s1", before=before
    )
    assert search.cursor_read(made, sort="-date", scope="s1") == search.Cursor(value, "abc", before)


@pytest.mark.parametrize(
    ("sort", "scope"), [("date", "s1"), ("-date", "s2")], ids=["another order", "another clinic"]
)
def test_a_cursor_answers_only_its_own_search_and_clinic(sort, scope):
    made = search.cursor_make(Row("abc", "x"), field_name="created_at", sort="-date", scope="s1")
    error = refused(search.cursor_read, made, sort=sort, scope=scope)
    assert error.diagnostics == search.cursor_refused().diagnostics


def test_an_altered_cursor_is_refused():
    made = search.cursor_make(Row("abc", "x"), field_name="created_at", sort="", scope="s1")
    error = refused(search.cursor_read, made[:-2] + "xx", sort="", scope="s1")
    assert (error.status, error.code) == (400, "invalid")


# --- pages by cursor, on real rows -----------------------------------------------------------


@pytest.fixture
def five_patients(db, account):
    """Five patients of one clinic, two of them made at the same instant (ties broken by id)."""
    from portal.patients.models import Patient
    from tests.factories import PatientFactory

    base = at(2024, 5, 1, 9, 0)
    made = [
        base,
        base + dt.timedelta(hours=1),
        base + dt.timedelta(hours=1),
        base + dt.timedelta(hours=2),
        base + dt.timedelta(hours=3),
    ]
    for when in made:
        patient = PatientFactory(account=account)
        Patient.objects.filter(pk=patient.pk).update(created_at=when)
    return Patient.objects.filter(account=account)


def walk(queryset, *, sort: str, count: int, backwards_from_end: bool = False):
    """Every page of the search, following the cursors as a client follows next links."""
    order = []
    parsed = search_request_parse(
        {"_count": [str(count)]} | ({"_sort": [sort]} if sort else {}),
        parameters={},
        includes=(),
        lenient=False,
        sorts={"date": "created_at"},
    )
    pages = 0
    while True:
        page = search.page_select(
            search.apply(queryset, parsed), parsed, field_name="created_at", scope="s"
        )
        pages += 1
        assert page.more_before == (pages > 1)
        order += [row.pk for row in page.rows]
        if not page.more_after:
            return order, pages
        parsed.cursor = search.cursor_make(
            page.rows[-1], field_name="created_at", sort=parsed.sort, scope="s"
        )


@pytest.mark.parametrize("count", [1, 2, 4, 5, 100])
@pytest.mark.parametrize("sort", ["date", "-date"])
def test_following_the_cursors_answers_every_row_once_in_order(five_patients, sort, count):
    expected = list(
        five_patients.order_by(
            ("-" if sort.startswith("-") else "") + "created_at",
            ("-" if sort.startswith("-") else "") + "pk",
        ).values_list("pk", flat=True)
    )
    order, pages = walk(five_patients, sort=sort, count=count)
    assert order == expected
    assert pages == max(1, -(-5 // count))


@pytest.mark.parametrize("sort", ["date", "-date"])
def test_a_previous_page_is_the_rows_just_before_the_cursor(five_patients, sort):
    descending = sort.startswith("-")
    ordered = list(
        five_patients.order_by(
            ("-" if descending else "") + "created_at", ("-" if descending else "") + "pk"
        )
    )
    parsed = search_request_parse(
        {"_count": ["2"], "_sort": [sort]},
        parameters={},
        includes=(),
        lenient=False,
        sorts={"date": "created_at"},
    )
    parsed.cursor = search.cursor_make(
        ordered[3], field_name="created_at", sort=sort, scope="s", before=True
    )
    page = search.page_select(five_patients, parsed, field_name="created_at", scope="s")
    assert [row.pk for row in page.rows] == [ordered[1].pk, ordered[2].pk]
    assert (page.more_after, page.more_before) == (True, True)
    parsed.cursor = search.cursor_make(
        ordered[2], field_name="created_at", sort=sort, scope="s", before=True
    )
    page = search.page_select(five_patients, parsed, field_name="created_at", scope="s")
    assert [row.pk for row in page.rows] == [ordered[0].pk, ordered[1].pk]
    assert (page.more_after, page.more_before) == (True, False)


def test_an_offset_starts_the_first_page_that_many_rows_in(five_patients):
    parsed = parse({"_count": ["2"], "_offset": ["3"]})
    ordered = list(five_patients.order_by("created_at", "pk"))
    page = search.page_select(five_patients, parsed, field_name="created_at", scope="s")
    assert [row.pk for row in page.rows] == [ordered[3].pk, ordered[4].pk]
    assert (page.more_after, page.more_before) == (False, True)


def test_every_condition_must_hold(five_patients):
    first = five_patients.order_by("created_at", "pk").first()
    parsed = parse({})
    parsed.conditions.extend([Q(pk=first.pk), Q(created_at=first.created_at)])
    assert list(search.apply(five_patients, parsed)) == [first]
    parsed.conditions.append(~Q(pk=first.pk))
    assert list(search.apply(five_patients, parsed)) == []


def test_a_date_only_range_at_the_end_of_the_calendar_is_refused():
    error = refused(
        search.days_covered, DateRange(at(9999, 12, 31), dt.datetime.max.replace(tzinfo=UTC)), "x"
    )
    assert error.diagnostics.startswith("'x' reaches outside the dates this server can search")


# --- More edges: fractions, what a refusal echoes, paging's first row ------------------------


@pytest.mark.parametrize("fraction", [".000249", ".000251", ".0157", ".00397", ".999999", ".1"])
def test_a_fraction_of_a_second_is_read_to_the_exact_microsecond(fraction):
    """GIVEN an instant with a fraction whose decimal has no exact binary form (as
    meta.lastUpdated gives it back) THEN the range starts at exactly that microsecond."""
    micro = int(fraction[1:].ljust(6, "0"))
    step = 10 ** (6 - (len(fraction) - 1))
    got = date_range(f"2024-05-01T09:30:15{fraction}Z")
    assert got.start == at(2024, 5, 1, 9, 30, 15, micro)
    assert got.end == at(2024, 5, 1, 9, 30, 15) + dt.timedelta(microseconds=micro + step)


def test_an_instant_a_microsecond_into_a_day_covers_that_day_only():
    narrow = date_condition("birth_date", is_date_only=True)
    assert narrow("2024-05-02T00:00:00.000000Z", "") == Q(birth_date__gte=dt.date(2024, 5, 2)) & Q(
        birth_date__lt=dt.date(2024, 5, 3)
    )


@pytest.mark.parametrize(
    ("value", "code"),
    [("a-2024", "invalid"), ("ap2x", "not-supported"), ("ap2024", "not-supported")],
)
def test_only_two_letters_then_a_digit_read_as_a_prefix(value, code):
    """GIVEN a date value that starts with letters THEN two letters and a digit are an
    unknown prefix (not supported); anything else is no FHIR date (invalid)."""
    assert refused(date_condition(FIELD), value, "").code == code


LONG = "x" * 100


@pytest.mark.parametrize(
    ("query", "echoed"),
    [
        ({"_sort": [LONG]}, f"_sort={'x' * 80} is"),
        ({"_include": [LONG]}, f"_include={'x' * 80} is"),
        ({"_revinclude": [LONG]}, f"_revinclude={'x' * 80} is"),
        ({"_elements": [LONG]}, f"_elements={'x' * 80}: '{'x' * 40}' is"),
        ({"_summary": [LONG]}, f"_summary={'x' * 40} is"),
        ({"_count": [LONG]}, f"not '{'x' * 40}'."),
        ({LONG: ["1"]}, f"The search parameter '{'x' * 80}' is"),
        ({f"name:{LONG}": ["1"]}, "The modifier :" + LONG + " is"),
        ({f"{LONG}:{LONG}": ["1"]}, f"The search parameter '{'x' * 80}' (with :{'x' * 40}) is"),
        ({f"{LONG}.{LONG}": ["1"]}, f"'{(LONG + '.' + LONG)[:80]}' is a chained"),
        ({f"_has:{LONG}": ["1"]}, f"'{('_has:' + LONG)[:80]}': reverse"),
        ({f"{LONG}\x01": ["1"]}, f"The search parameter '{'x' * 40}' holds"),
    ],
    ids=[
        "sort",
        "include",
        "revinclude",
        "elements",
        "summary",
        "count",
        "name",
        "modifier",
        "name and modifier",
        "chain",
        "has",
        "control",
    ],
)
def test_a_refusal_echoes_only_the_start_of_a_long_value(query, echoed):
    """GIVEN a refused parameter 100 characters long THEN the refusal quotes its first 80
    (a name or value) or 40 (a modifier, a number, an element) characters, no more."""
    assert echoed in refused(parse, query).diagnostics


def test_of_several_unknown_elements_the_first_is_named():
    error = refused(parse, {"_elements": ["colour,subject,size"]})
    assert "'colour' is not an element" in error.diagnostics


def test_the_cursor_is_not_echoed_in_what_was_used():
    assert parse({"_cursor": ["abc"], "name": ["a"]}).used == [("name", "a")]


def test_each_value_of_a_parameter_is_a_condition():
    got = parse({"name": ["Sm,Jo"]})
    assert len(got.conditions) == 1 and isinstance(got.conditions[0], Q)


def test_a_reference_url_with_a_query_names_the_id_before_it():
    assert (
        search.reference_id("https://fhir.example/R4/Patient/123?_format=json", "Patient") == "123"
    )


def test_an_offset_of_one_says_there_is_a_page_before(five_patients):
    page = search.page_select(
        five_patients, parse({"_offset": ["1"]}), field_name="created_at", scope="s"
    )
    assert page.more_before and len(page.rows) == 4
