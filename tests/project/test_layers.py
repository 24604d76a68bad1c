"""One direction of imports: every app builds on ``files``, and ``files``
builds on ``portal`` alone, so nothing in ``files`` may import an app above it. Read
from the source, so an import added anywhere in ``files`` (a function's body included)
fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Each layer and the project apps it must not import. (``portal`` holds both the base,
# accounts, patients, audit, and the project's root, its URLs and metrics, which import
# every app; so it has no rule here.)
ABOVE = {
    "files": {"filerequests", "attachments", "dashboard", "fhirapi"},
    "filerequests": {"attachments", "dashboard", "fhirapi"},
}


def imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(ABOVE))
def test_no_layer_imports_an_app_above_it(layer):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_apps(path) & ABOVE[layer])
        for path in (ROOT / layer).rglob("*.py")
        if "migrations" not in path.parts
    }
    offenders = {path: apps for path, apps in offenders.items() if apps}
    assert not offenders, f"{layer} imports apps above it: {offenders}"
