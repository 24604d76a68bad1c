"""Imports only point down the floors: config, then the staff pages and FHIR, then
attachments and file requests, then files, then the ground floor (portal), whose own
floors are checked too, as is the absence of cycles inside the apps that have none. The
contracts are import-linter's (``.importlinter``), read from the whole import graph,
imports inside functions included; `make test` runs them before pytest, and this test
runs them for a pytest run alone."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def contracts() -> dict[str, configparser.SectionProxy]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    prefix = "importlinter:contract:"
    return {name.removeprefix(prefix): parser[name] for name in parser if name.startswith(prefix)}


def listed(value: str) -> list[str]:
    return [line.strip() for line in value.strip().splitlines() if line.strip()]


def test_every_import_keeps_the_contracts():
    """GIVEN the product packages WHEN import-linter reads every import THEN no floor
    imports one above it, no two apps of one floor import each other, and no cycle runs
    inside the ground floor, the shell, the staff pages, FHIR or attachments."""
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(CONFIG)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " 0 broken" in done.stdout


def test_every_app_has_a_floor_and_none_is_exempt():
    """GIVEN the project's own apps WHEN the floors are read THEN each of their packages
    stands on exactly one floor, and no contract ignores any import."""
    top_packages = {config.name.split(".")[0] for config in apps.get_app_configs()}
    own_packages = {name for name in top_packages if (ROOT / name / "__init__.py").is_file()}
    floors = contracts()["floors"]
    on_a_floor = [
        app.strip()
        for layer in listed(floors["layers"])
        for app in layer.replace(":", "|").split("|")
    ]
    assert sorted(on_a_floor) == sorted(own_packages)
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    assert sorted(listed(parser["importlinter"]["root_packages"])) == sorted(own_packages)
    assert not [name for name, contract in contracts().items() if "ignore_imports" in contract]
