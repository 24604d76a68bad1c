"""The order xdist hands tests out in (tests/support/run_order.py): groups, browser tests,
then the waiting slow tests spread evenly between the quick modules, none at the very end,
and nothing split that shares a fixture kept for its module."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from types import SimpleNamespace

from tests.support.run_order import QUICK_TAIL, in_run_order, spread

PLUGINS_CLASS_FIXTURE = SimpleNamespace(scope="class", baseid="")  # pytest-django's autouse


@dataclass
class Item:
    name: str
    module: str = "m"
    marks: set[str] = field(default_factory=set)
    kept_for_module: bool = False

    @property
    def nodeid(self) -> str:
        return f"tests/{self.module}.py::{self.name}"

    @property
    def _fixtureinfo(self):
        definitions = {"_django_setup_unittest": [PLUGINS_CLASS_FIXTURE]}
        if self.kept_for_module:
            definitions["tls_redis"] = [SimpleNamespace(scope="module", baseid=self.nodeid)]
        return SimpleNamespace(name2fixturedefs=definitions)

    def get_closest_marker(self, name: str):
        return name if name in self.marks else None


def names(items) -> list[str]:
    return [item.name for item in items]


def quick_modules(count: int, size: int) -> list[Item]:
    return [Item(f"q{m}.{i}", f"quick{m}") for m in range(count) for i in range(size)]


def test_groups_then_browser_tests_then_the_rest_each_in_collected_order():
    items = [
        Item("q1"),
        Item("b1", marks={"browser", "slow"}),
        Item("g1", marks={"xdist_group", "slow"}),
        Item("q2"),
        Item("b2", marks={"browser"}),
        Item("g2", marks={"xdist_group", "browser"}),
    ]
    assert names(in_run_order(items)) == ["g1", "g2", "b1", "b2", "q1", "q2"]


def test_the_browser_tests_of_one_module_are_spread_between_other_modules():
    """The phone's four tests on emulated slow networks (they mostly wait) never run side by
    side with each other while other browser modules have tests to run between them."""
    phone = [Item(f"p{index}", "browser/phone", {"browser"}) for index in range(4)]
    others = [Item(f"o{m}", f"browser/other{m}", {"browser"}) for m in range(4)]
    ordered = names(in_run_order([*phone, *others, *quick_modules(10, 5)]))
    browser = [name for name in ordered if name[0] in "po"]
    assert browser == ordered[:8]  # the browser tests first, before every quick one
    assert [name for name in browser if name.startswith("p")] == ["p0", "p1", "p2", "p3"]
    for earlier, later in itertools.pairwise(browser):
        assert not (earlier.startswith("p") and later.startswith("p")), browser


def test_slow_tests_go_evenly_between_quick_modules_and_none_in_the_last_tenth():
    quick = quick_modules(20, 5)
    slow = [Item(f"s{index}", "slowmodule", {"slow"}) for index in range(10)]
    ordered = in_run_order(slow + quick)
    assert sorted(names(ordered)) == sorted(names(slow + quick))  # nothing lost or doubled
    assert [item for item in ordered if item.name.startswith("q")] == quick  # order kept
    positions = [index for index, item in enumerate(ordered) if item.name.startswith("s")]
    assert names(ordered[index] for index in positions) == names(slow)
    gaps = [later - earlier for earlier, later in itertools.pairwise(positions)]
    assert max(gaps) - min(gaps) <= 5, gaps  # evenly, to within a module: never a cluster
    assert len(ordered) - 1 - positions[-1] >= QUICK_TAIL * len(quick)
    # A quick module is never cut in two: a worker would make its fixtures again.
    quick_modules_in_order = [
        module for module, _ in itertools.groupby(item.module for item in ordered)
    ]
    quick_only = [module for module in quick_modules_in_order if module != "slowmodule"]
    assert len(quick_only) == len(set(quick_only)) == 20


def test_slow_tests_sharing_a_fixture_kept_for_their_module_stay_together():
    quick = quick_modules(10, 4)
    shared = [Item(f"t{index}", "tls", {"slow"}, kept_for_module=True) for index in range(4)]
    alone = [Item(f"s{index}", "other", {"slow"}) for index in range(4)]
    ordered = names(in_run_order([shared[0], *alone[:2], *shared[1:], *alone[2:], *quick]))
    first = ordered.index("t0")
    assert ordered[first : first + 4] == ["t0", "t1", "t2", "t3"]
    assert ordered.index("s0") > first  # the unit took its first test's place
    spread_alone = [ordered.index(f"s{index}") for index in range(4)]
    assert all(later - earlier > 1 for earlier, later in itertools.pairwise(spread_alone))


def test_the_slow_tests_of_one_module_are_dealt_out_between_other_modules():
    """Twelve long waits of one module never sit side by side, where four workers would
    take four of them at once."""
    quick = quick_modules(40, 5)
    waits = [Item(f"w{index}", "slow_clients", {"slow"}) for index in range(4)]
    others = [Item(f"o{m}", f"other{m}", {"slow"}) for m in range(6)]
    ordered = names(in_run_order([*waits, *others, *quick]))
    slow_order = [name for name in ordered if name[0] in "wo"]
    assert [name for name in slow_order if name.startswith("w")] == ["w0", "w1", "w2", "w3"]
    for earlier, later in itertools.pairwise(slow_order):
        assert not (earlier.startswith("w") and later.startswith("w")), slow_order


def test_modules_of_long_waits_collected_side_by_side_never_give_four_in_a_row():
    """Four modules of three long waits each (as the fault drills are), collected one after
    another among 24 modules of one short slow test: never four waits in a row, which
    four workers would take at once. Dealt like cards, the first of each came together."""
    waits = [Item(f"w{m}.{i}", f"faults/drill{m}", {"slow"}) for m in range(4) for i in range(3)]
    shorts = [Item(f"s{m}", f"short{m}", {"slow"}) for m in range(24)]
    collected = [*shorts[:12], *waits, *shorts[12:], *quick_modules(40, 5)]
    slow_order = [name for name in names(in_run_order(collected)) if name[0] in "ws"]
    waits_in_a_row = [
        len(list(run))
        for is_wait, run in itertools.groupby(slow_order, key=lambda name: name[0] == "w")
        if is_wait
    ]
    assert max(waits_in_a_row) < 4, slow_order
    for drill in range(4):
        its = [name for name in slow_order if name.startswith(f"w{drill}.")]
        assert its == [f"w{drill}.{i}" for i in range(3)]


def test_with_nothing_to_spread_among_the_slow_tests_keep_their_order():
    slow = [[Item("s1", marks={"slow"})], [Item("s2", marks={"slow"})]]
    assert names(spread(slow, among=[])) == ["s1", "s2"]
    assert names(spread([], among=slow)) == ["s1", "s2"]
