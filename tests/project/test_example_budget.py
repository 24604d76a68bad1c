"""The property tests' example budget (tests/support/examples.py): every example in a whole
run, a fifth in the quick lane, and the quick lane alone asks for fewer."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from hypothesis import settings

from tests.support.examples import QUICK_PROFILE, examples

LANES_SCRIPT = Path(__file__).resolve().parent.parent.parent / "scripts" / "test_lanes.py"


def lanes_script():
    spec = importlib.util.spec_from_file_location("test_lanes_script", LANES_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def test_the_default_profile_tries_every_example():
    """make test, CI and a single file run under Hypothesis' default profile."""
    default = settings.get_profile("default")
    assert [examples(n, profile=default) for n in (1, 8, 50, 80)] == [1, 8, 50, 80]


def test_the_quick_profile_tries_a_fifth_and_never_fewer_than_five():
    quick = settings.get_profile(QUICK_PROFILE)
    assert [examples(n, profile=quick) for n in (1, 3, 8, 24, 50, 80)] == [1, 3, 5, 5, 10, 16]


def test_only_the_quick_lane_on_its_own_asks_for_the_quick_profile():
    script = lanes_script()
    profile = f"--hypothesis-profile={QUICK_PROFILE}"

    def commands(only):
        lanes = script.lanes_to_run(only=only, quick_workers=2, slow_workers=4)
        return {lane.name: lane.command([]) for lane in lanes}

    assert profile in commands("quick")["quick"]
    assert profile not in commands("slow")["slow"]
    whole = commands(None)
    assert set(whole) == {"quick", "slow"}
    assert not any(profile in command for command in whole.values())
