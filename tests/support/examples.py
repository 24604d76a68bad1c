"""How many generated examples a property test tries: all of them in ``make test`` (and
CI), a share of them in the quick lane.

The fuzzing tests (schemathesis over every API operation, the FHIR search and the API's
filters drawn by Hypothesis) were a tenth of ``make test-quick``'s CPU. The inner loop
needs to know in two minutes that every operation still answers valid and invalid input
within its schema; searching deep for the rare input that breaks one is the whole suite's
job. That is Hypothesis' own advice: a profile per kind of run, chosen with
``--hypothesis-profile`` (``quick`` is registered in tests/conftest.py and passed by
scripts/test_lanes.py to the quick lane).

A test states the examples it tries in a thorough run, ``examples(50)``; under another
profile it tries the same share of them as that profile's ``max_examples`` is of the
default profile's, and never fewer than ``FLOOR`` (or its own figure, if smaller).
"""

from __future__ import annotations

from hypothesis import settings

FLOOR = 5
QUICK_PROFILE = "quick"
QUICK_SHARE = 0.2


def register_profiles() -> None:
    default = settings.get_profile("default").max_examples
    settings.register_profile(QUICK_PROFILE, max_examples=round(default * QUICK_SHARE))


def examples(thorough: int, *, profile: settings | None = None) -> int:
    """The examples to try in this run (under ``profile``, the run's own by default), for a
    test that tries ``thorough`` in a whole one."""
    current = profile if profile is not None else settings.default
    share = current.max_examples / settings.get_profile("default").max_examples
    if share >= 1:
        return thorough
    return max(min(FLOOR, thorough), round(thorough * share))
