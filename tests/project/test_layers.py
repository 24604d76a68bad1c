"""Imports only point down the floors: config, then the staff pages and FHIR, then
attachments and file requests, then files, then the ground floor (portal), whose own
floors are checked too, as is the absence of cycles inside the apps that have none. The
contracts are import-linter's (``.importlinter``), read from the whole import graph,
imports inside functions included; `make test` runs them before pytest, and this test
runs them for a pytest run alone."""

from __future__ import annotations

import ast
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
    inside any app but files."""
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


PRODUCT_PACKAGES = (
    "config",
    "portal",
    "files",
    "filerequests",
    "attachments",
    "fhirapi",
    "dashboard",
)


def imports_inside_functions(path: Path) -> list[int]:
    """Line numbers of the imports in a function's or class's body (those under
    ``if TYPE_CHECKING:`` are never run, so they do not count)."""
    found = []

    def walk(node, inside: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                walk(child, True)
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            elif isinstance(child, ast.Import | ast.ImportFrom):
                if inside:
                    found.append(child.lineno)
            else:
                walk(child, inside)

    walk(ast.parse(path.read_text(), filename=str(path)), False)
    return found


def says_why(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line (other than a bare ``noqa``), or on the lines just
    above it, above the run of imports it belongs to."""
    index = lineno - 1
    while index >= 0:
        text = lines[index].strip()
        comment = text.partition("#")[2].strip() if "#" in text else ""
        if comment and not (comment.startswith("noqa") and "(" not in comment):
            return True
        if not (text.startswith(("import ", "from ")) or text.startswith("#")):
            return False
        index -= 1
    return False


def test_imports_inside_functions_say_why():
    """GIVEN the product code WHEN an import sits inside a function or a class THEN a
    comment beside it says why (Django's app loading, a real cycle, a library only some
    installations load); every other import is at the top of its module, where
    import-linter and a reader see it."""
    unexplained = []
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            lines = path.read_text().splitlines()
            unexplained += [
                f"{path.relative_to(ROOT)}:{lineno}: {lines[lineno - 1].strip()}"
                for lineno in imports_inside_functions(path)
                if not says_why(lines, lineno)
            ]
    assert not unexplained, "\n".join(unexplained)
