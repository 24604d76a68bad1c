"""The order xdist hands tests out in (``make test``: four workers on two cores).

xdist gives each worker the next test in collection order as it runs low, so the order
decides what runs side by side. Three kinds of test behave differently:

- the xdist groups run one after another on one worker (the embedded shape's chain is
  five minutes): first, or the whole run would wait for them at its end;
- the browser tests keep a worker for a minute at a time, Chromium busy on both cores:
  next, each module's spread among the others' as the slow tests are (below), so that the
  phone's emulated slow networks and lost signal, which mostly wait, do not run side by
  side;
- the other slow tests mostly wait (for a server's deadline, a killed worker's
  restart, sixty seconds of slow clients) while the quick ones keep a core busy all the
  time. Left in collected order the slow ones came in clusters (all of
  ``tests/config/`` together): four workers waiting at once, and the machine half idle
  for three minutes of a seventeen-minute run. Each module's spread over the whole run,
  and all of them evenly through the quick tests, a worker or two waits at a time while
  the others keep both cores busy. None is left for the last tenth, which the quick
  tests share out evenly, so the run does not end waiting on one long test.

Two things stay together, since pytest makes a module's fixtures again whenever a worker
moves to another module and back: each module's quick tests (a slow test goes only
between modules), and the slow tests of a module that share a fixture of its own kept
for the module (a TLS Redis). Within each kind the collected order stays.
"""

from __future__ import annotations

import itertools

# The share of the quick tests kept for the end, after the last slow one.
QUICK_TAIL = 0.1
SHARED_SCOPES = ("class", "module", "package")


def kind_of(item) -> str:
    if item.get_closest_marker("xdist_group"):
        return "group"
    if item.get_closest_marker("browser"):
        return "browser"
    return "slow" if item.get_closest_marker("slow") else "quick"


def module_of(item) -> str:
    return item.nodeid.split("::", 1)[0]


def shares_a_module_fixture(item) -> bool:
    """Whether the test uses a fixture of the suite's own kept for its module or class
    (plugins' autouse ones, defined with no base, are not the suite's)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        definition.scope in SHARED_SCOPES and definition.baseid
        for definitions in info.name2fixturedefs.values()
        for definition in definitions
    )


def quick_runs(items: list) -> list[list]:
    """The quick tests as runs of one module each, in collected order."""
    return [list(run) for _, run in itertools.groupby(items, key=module_of)]


def units_of(items: list) -> list[list]:
    """The (slow or browser) tests one by one, but those sharing a module fixture as one
    unit, placed where the module's first one was."""
    units: list[list] = []
    shared: dict[str, list] = {}
    for item in items:
        if not shares_a_module_fixture(item):
            units.append([item])
            continue
        module = module_of(item)
        if module not in shared:
            shared[module] = []
            units.append(shared[module])  # the unit grows in place as its tests come
        shared[module].append(item)
    return units


# Where each module's first slow unit goes, as a share of a unit's spacing: module after
# module by the golden ratio, so no two modules start their units at the same place.
GOLDEN = (5**0.5 - 1) / 2


def interleaved(units: list[list]) -> list[list]:
    """The units of each module spread evenly over the whole list, each module from its
    own starting place. Dealt like cards (the first of each module, then the second of
    each...) the modules with many slow tests ended the list alone: the fault drills' and
    the shell's long waits came one after another, and four workers waited at once for a
    minute (under half the machine busy, twice in one run)."""
    by_module: dict[str, list[list]] = {}
    for unit in units:
        by_module.setdefault(module_of(unit[0]), []).append(unit)
    keyed = []
    for index, its in enumerate(by_module.values()):
        start = (index * GOLDEN) % 1.0
        keyed += [
            ((number + start) / len(its), index, number, unit) for number, unit in enumerate(its)
        ]
    keyed.sort(key=lambda entry: entry[:3])
    return [entry[3] for entry in keyed]


def spread(sparse: list[list], among: list[list], *, tail: float = QUICK_TAIL) -> list:
    """The units of ``sparse`` placed evenly (by test count) between the runs of ``among``,
    none of them in the last ``tail`` share of ``among``'s tests; flattened."""
    total = sum(len(run) for run in among)
    if not total:
        return [item for unit in sparse for item in unit]
    keyed = []
    before = 0
    for run in among:
        keyed.append((before / total, 1, run))
        before += len(run)
    span = 1.0 - tail
    keyed += [(span * index / len(sparse), 0, unit) for index, unit in enumerate(sparse)]
    keyed.sort(key=lambda entry: (entry[0], entry[1]))
    return [item for _, _, unit in keyed for item in unit]


def in_run_order(items: list) -> list:
    kinds: dict[str, list] = {"group": [], "browser": [], "slow": [], "quick": []}
    for item in items:
        kinds[kind_of(item)].append(item)
    browser = [item for unit in interleaved(units_of(kinds["browser"])) for item in unit]
    rest = spread(interleaved(units_of(kinds["slow"])), among=quick_runs(kinds["quick"]))
    return kinds["group"] + browser + rest
