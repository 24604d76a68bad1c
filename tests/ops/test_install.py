"""Installs are reproducible and production's has no test tools (docs/operations/upgrade.md).

Every ``make`` install takes its versions from ``requirements/constraints.txt`` (pip's
``-c``), so two installs a month apart are the same; ``make install-prod`` builds the venv
the systemd units run without the dev and test extras. uv's resolver answers here (``uv pip
compile``, the resolver of ``make install``), from the packages' own metadata on the index:
what a package brings with it is the same whichever installer reads it, so a package the
lock leaves out is left out for pip's ``make install-prod`` too.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
CONSTRAINTS = BASE_DIR / "requirements" / "constraints.txt"
# The tools the production venv must not hold (the three, and the test runners).
TEST_TOOLS = {"moto", "playwright", "schemathesis", "pytest", "pytest-django", "ruff"}

pytestmark = pytest.mark.slow


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    found = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line}"
            found[canonical(name)] = version
    return found


def requirement_names(requirements: list[str]) -> set[str]:
    return {canonical(re.split(r"[\[<>=!~;\s]", item, maxsplit=1)[0]) for item in requirements}


def resolved(*extras: str) -> dict[str, str]:
    """What ``make install`` would put beside the portal in an empty venv, the lock applied:
    the portal's dependencies with ``extras``, resolved as uv resolves them for this Python."""
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("uv")),
            "pip",
            "compile",
            "pyproject.toml",
            *(f"--extra={extra}" for extra in extras),
            "-c",
            str(CONSTRAINTS),
            "--python",
            sys.executable,
            "--no-header",
            "--no-annotate",
            "--quiet",
        ],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    pinned = [line.partition("==") for line in done.stdout.splitlines() if "==" in line]
    assert pinned, done.stdout
    return {canonical(name): version.strip() for name, _, version in pinned}


@pytest.fixture(scope="module")
def production():
    return resolved()


@pytest.fixture(scope="module")
def development():
    return resolved("dev")


def test_the_production_install_has_no_dev_or_test_package(production):
    """GIVEN the production install (the portal without extras, at the locked versions)
    THEN it brings every dependency of the portal and none of the dev extras' tools:
    no moto, Playwright or schemathesis in the venv the systemd units run."""
    project = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["project"]
    base = requirement_names(project["dependencies"])
    dev_only = requirement_names(project["optional-dependencies"]["dev"]) - base
    assert base <= set(production)
    assert not TEST_TOOLS & set(production)
    # pydantic comes with fhir.resources and PyYAML with drf-spectacular, both of which
    # the portal needs: not test tools there.
    assert sorted(dev_only & set(production)) == ["pydantic", "pyyaml"]


@pytest.mark.parametrize("install", ["production", "development"])
def test_every_package_an_install_brings_is_pinned_by_the_lock(install, request):
    """GIVEN either install WHEN it is resolved with the lock THEN every package it would
    install is pinned there, at that version: nothing is left for the index's newest."""
    chosen = request.getfixturevalue(install)
    locked = pins()
    unpinned = sorted(set(chosen) - set(locked))
    assert not unpinned, f"not in {CONSTRAINTS.name}: {unpinned} (run make lock)"
    assert {name: locked[name] for name in chosen} == chosen


def make_dry_run(*args: str) -> str:
    return subprocess.run(
        ["make", "--dry-run", *args], cwd=BASE_DIR, capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize(
    "target",
    [("--what-if=pyproject.toml", "install"), ("install-prod",), ("-o", "install", "bench")],
)
def test_every_make_install_takes_the_lock(target):
    installs = [
        line
        for line in make_dry_run(*target).splitlines()
        if "pip install" in line and "--upgrade pip" not in line
    ]
    assert installs
    for line in installs:
        assert "-c requirements/constraints.txt" in line, line


def test_install_prod_refuses_a_venv_that_holds_the_test_tools():
    """GIVEN the development venv (it holds moto, Playwright, pytest) WHEN make install-prod
    runs on it THEN it refuses, saying to start from an empty venv, and installs nothing."""
    done = subprocess.run(
        ["make", "install-prod"], cwd=BASE_DIR, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "holds the dev and test extras" in done.stdout
    assert "pip install" not in done.stdout
