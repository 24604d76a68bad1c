"""Hypothesis strategies for query-string values: what a client, a fuzzer or an attacker
puts in a search parameter. Each strategy mixes well-formed values with values just past
every edge: dates with impossible fields and zones, numbers far out of range, lists with
empty, escaped and repeated items, and any text Unicode has (but lone surrogates, which
no HTTP client can send)."""

from __future__ import annotations

import uuid

from hypothesis import strategies as st

# Text a database or a parser might choke on: NUL (PostgreSQL refuses it in text) and
# the other control characters (half the list: the class most often left unchecked),
# LIKE's wildcards and escape, quotes, bidirectional and zero-width marks, full-width and
# case-folding letters, astral characters, the very long.
NASTY = [
    "\x00",
    "a\x00b",
    "\x00" * 3,
    "x,\x00",
    "\x01",
    "\x08",
    "\x1b[2J",
    "\x1f",
    "\x7f",
    "\x85",
    "\n",
    "a\nb",
    "\r\n",
    "\t",
    "\x0b\x0c",
    "%00",
    "%",
    "_",
    "\\",
    "'",
    "' OR '1'='1",
    "\u202e",
    "\ufeff\u200b",
    "\uffff",
    "\U0001d518",
    "\uff2a\uff4f\uff48\uff4e",  # full-width "John"
    "\u0130\u00df",
    " ",
    "",
    "a" * 300,
    "<script>",
]
plain_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
nasty = st.sampled_from(NASTY)
any_text = st.one_of(
    nasty,
    plain_text,
    st.builds(lambda before, bad, after: before + bad + after, plain_text, nasty, plain_text),
)
digits = st.integers(min_value=0, max_value=99)


def field(low: int, high: int) -> st.SearchStrategy[int]:
    """A date field: its edges and just past them, any value in its range, or any two
    digits. Edges first, as Hypothesis tries the first choices most."""
    return st.one_of(st.sampled_from([high, low, high + 1, 99]), st.integers(low, high), digits)


@st.composite
def dates(draw, *, prefixes: bool = True) -> str:
    """A FHIR-shaped date or dateTime, each field at its edges, inside its range or
    anywhere in its digits, cut at any precision (the finest first), with any prefix
    and any zone (offsets inside and far outside FHIR's -14:00..+14:00)."""
    prefix = ""
    if prefixes:
        prefix = draw(st.sampled_from(["", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"]))
    text = f"{draw(st.one_of(st.sampled_from([9999, 1]), st.integers(0, 9999))):04d}"
    fields = [
        f"-{draw(field(1, 12)):02d}",
        f"-{draw(field(1, 31)):02d}",
        f"T{draw(field(0, 23)):02d}:{draw(field(0, 59)):02d}",
        f":{draw(field(0, 59)):02d}",
        "." + draw(st.text(alphabet="0123456789", min_size=1, max_size=7)),
    ]
    text += "".join(fields[: draw(st.sampled_from([5, 4, 3, 2, 1, 0]))])
    if "T" in text:
        offset = f"{draw(st.sampled_from('+-'))}{draw(field(0, 14)):02d}:{draw(field(0, 59)):02d}"
        text += draw(st.sampled_from([offset, "Z", ""]))
    return prefix + text


def uuids() -> st.SearchStrategy[str]:
    return st.builds(lambda n: str(uuid.UUID(int=n)), st.integers(0, 2**128 - 1))


numbers = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["0", "-0", "1e3", "0x10", "1.5", " 7", "٣", "", "NaN", "9" * 40]),
)


def lists_of(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One value, or a comma-separated list of them (empty items and ``\\,`` included)."""
    separators = st.sampled_from([",", ", ", ",,", "\\,", " , "])
    return st.one_of(
        values,
        st.lists(st.tuples(values, separators), min_size=2, max_size=6).map(
            lambda parts: "".join(value + separator for value, separator in parts)
        ),
    )


def values(*likely: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """The nasty values (first: Hypothesis tries the first choices most), the values
    likely for a parameter, lists of them, or any text."""
    return st.one_of(nasty, st.one_of(*likely), lists_of(st.one_of(*likely)), any_text)
