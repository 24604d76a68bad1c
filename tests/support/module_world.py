"""Rows and files built once for a whole test module, for the tests that only read them.

A clinic with data in every model costs more to build than most tests that read it take
to run: built again for each of a module's 80 tests, it was most of the module's time. This
is what Django's ``TestCase.setUpTestData`` does for a class, for a pytest module:

- the rows are made inside a transaction that stays open while the module runs; each test
  runs in pytest-django's own transaction, which inside it is a savepoint, so whatever a
  test writes is rolled back when it ends, and the module's rows are rolled back when the
  module ends: nothing leaks into the next module;
- each test gets a deep copy of the objects built (as ``setUpTestData``'s ``TestData``), so a
  test that changes one in memory changes nothing for the next test; as there, each name
  is copied when the test first reads it (``TestCopy``);
- the files built go to a folder of the module's own, which each test's storage then
  points at (the suite gives every test an empty storage of its own otherwise).

Only for modules without transactional tests (``transaction=True``): such a test would
flush the module's rows, or fail inside the open transaction.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.test import override_settings

from tests.support.storage import private_storages


class TestCopy:
    """A test's copy of what the module's builder made (a namespace, a dataclass or a dict),
    copied name by name as the test reads them, as Django's ``TestData`` does.

    The access sweeps read two or three of a world's fifteen names; copying all of them
    for every test took 6 ms a test under a profiler (3.7 of the access tests' 74 s). One
    memo serves the test's every copy, so objects the world shares (a patient's clinic and
    the clinic) stay one object in the test's copy too."""

    __test__ = False  # not a test class, whatever pytest makes of its name

    def __init__(self, made: Any):
        object.__setattr__(self, "_made", made)
        object.__setattr__(self, "_memo", {})
        object.__setattr__(self, "_items", {})

    def _copy(self, value: Any) -> Any:
        return copy.deepcopy(value, self._memo)

    def __getattr__(self, name: str) -> Any:
        # Only for names not yet read: the copy is then kept as this object's attribute.
        if name.startswith("__"):
            raise AttributeError(name)
        value = self._copy(getattr(self._made, name))
        object.__setattr__(self, name, value)
        return value

    def __getitem__(self, key: Any) -> Any:
        if key not in self._items:
            self._items[key] = self._copy(self._made[key])
        return self._items[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._items[key] = value

    def __contains__(self, key: Any) -> bool:
        return key in self._items or key in self._made


@dataclass(frozen=True)
class ModuleWorld:
    """What a module's builder made, and the folder its files were stored in."""

    made: Any
    files: Path

    def for_a_test(self, settings) -> TestCopy:
        """The test's own copy, with the test's storage pointed at the module's files."""
        settings.STORAGES = private_storages(settings.STORAGES, self.files)
        return TestCopy(self.made)


@contextlib.contextmanager
def built_for_the_module(
    django_db_blocker, folder: Path, build: Callable[[], Any]
) -> Iterator[ModuleWorld]:
    """Run ``build`` once, in a transaction kept open until the module's tests are done
    and then rolled back."""
    files = folder / "files"
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    try:
        with (
            django_db_blocker.unblock(),
            override_settings(STORAGES=private_storages(django_settings.STORAGES, files)),
        ):
            made = build()
        yield ModuleWorld(made=made, files=files)
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
