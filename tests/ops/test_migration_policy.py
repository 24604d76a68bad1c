"""The expand rule of docs/operations/upgrade.md, read from the migrations themselves:
a column this release adds to a table the previous release writes is nullable or has a
database default, since the previous release's INSERTs, still running during a rolling
upgrade, do not name it (Django's ``default`` lives in Python, not in the table)."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

from tests.ops.test_upgrade_drill import BASE_DIR, PREVIOUS_RELEASE


def released_migrations() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", PREVIOUS_RELEASE],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return {path for path in listed if "/migrations/" in path and path.endswith(".py")}


def operations(path: Path) -> list[tuple[str, dict[str, ast.expr]]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            found.append((name, {keyword.arg: keyword.value for keyword in node.keywords}))
    return found


def unsafe_added_columns(paths: list[Path]) -> list[str]:
    """``app.Model.field`` for each NOT NULL column without a database default added to a
    model that existed before (one created in the same release is new to old code too)."""
    created, added, mended = set(), [], set()
    for path in paths:
        app = path.parent.parent.name
        for name, keywords in operations(path):
            if name == "CreateModel":
                created.add((app, ast.literal_eval(keywords["name"]).lower()))
            elif name in ("AddField", "AlterField"):
                model = ast.literal_eval(keywords["model_name"]).lower()
                column = (app, model, ast.literal_eval(keywords["name"]))
                field = keywords["field"]
                options = {k.arg: ast.unparse(k.value) for k in field.keywords}
                many = "ManyToMany" in ast.unparse(field.func)
                safe = options.get("null") == "True" or "db_default" in options or many
                if name == "AddField" and not safe:
                    added.append((*column, path.name))
                elif name == "AlterField" and safe:  # given a database default later on
                    mended.add(column)
    return [
        f"{app}.{model}.{field} ({migration})"
        for app, model, field, migration in added
        if (app, model) not in created and (app, model, field) not in mended
    ]


def test_columns_added_since_the_previous_release_can_be_left_out_of_old_inserts():
    released = released_migrations()
    new = sorted(
        path
        for path in BASE_DIR.glob("**/migrations/0*.py")
        if ".venv" not in path.parts and str(path.relative_to(BASE_DIR)) not in released
    )
    assert new, "no migration since the previous release: the check would prove nothing"
    assert unsafe_added_columns(new) == []


def test_the_check_finds_a_python_only_default(tmp_path):
    """The check itself: a NOT NULL column with only ``default=`` is found; the same with
    ``db_default``, a nullable one, one on a model of the same release and one given a
    database default by a later migration of the release are not."""
    migration = tmp_path / "clinic" / "migrations" / "0009_example.py"
    migration.parent.mkdir(parents=True)
    migration.write_text(
        "from django.db import migrations, models\n"
        "operations = [\n"
        "    migrations.CreateModel(name='Fresh', fields=[]),\n"
        "    migrations.AddField(model_name='event', name='flag',"
        " field=models.BooleanField(default=False)),\n"
        "    migrations.AddField(model_name='event', name='word',"
        " field=models.CharField(default='', db_default='', max_length=9)),\n"
        "    migrations.AddField(model_name='event', name='when',"
        " field=models.DateTimeField(null=True)),\n"
        "    migrations.AddField(model_name='fresh', name='flag',"
        " field=models.BooleanField(default=False)),\n"
        "    migrations.AddField(model_name='event', name='late',"
        " field=models.BooleanField(default=False)),\n"
        "    migrations.AlterField(model_name='event', name='late',"
        " field=models.BooleanField(default=False, db_default=False)),\n"
        "]\n"
    )
    assert unsafe_added_columns([migration]) == ["clinic.event.flag (0009_example.py)"]
