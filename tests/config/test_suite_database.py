"""The suite's test databases are copies of a migrated template kept between runs
(tests/plugins/migrated_cluster.py): a copy that no longer matches the migrations must
never be used, and the database a test sees holds every migration."""

from __future__ import annotations

import os
import shutil
import time

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.plugins import migrated_cluster
from tests.plugins.migrated_cluster import BASE_DIR, contents_key, migration_files


@pytest.mark.django_db
def test_the_test_database_holds_every_migration_of_every_app():
    """GIVEN the test database, made from the kept template WHEN the migrations are planned
    to their last THEN nothing is left to apply."""
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []


@pytest.fixture
def project_copy(tmp_path):
    """The files the template's name is made from, copied where a test may change them."""
    for path in migration_files():
        target = tmp_path / path.relative_to(BASE_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    (tmp_path / "requirements").mkdir()
    shutil.copy(BASE_DIR / "requirements" / "constraints.txt", tmp_path / "requirements")
    return tmp_path


@pytest.mark.parametrize(
    "change",
    [
        "a migration's contents",
        "a ground-floor app's migration's contents",
        "a new migration",
        "a migration removed",
        "a locked dependency's version",
    ],
)
def test_the_kept_template_is_named_after_everything_that_shapes_it(project_copy, change):
    """GIVEN the project's migrations and lock WHEN any of them changes THEN the kept
    template's name changes (the old copy is never used), and nothing else changes it."""
    before = contents_key(project_copy)
    assert contents_key(project_copy) == before
    migration = next(project_copy.glob("files/migrations/0*.py"))
    lock = project_copy / "requirements" / "constraints.txt"
    ground_floor = next(project_copy.glob("portal/patients/migrations/0*.py"))
    if change == "a migration's contents":
        migration.write_text(migration.read_text() + "\n# changed\n")
    elif change == "a ground-floor app's migration's contents":
        ground_floor.write_text(ground_floor.read_text() + "\n# changed\n")
    elif change == "a new migration":
        (project_copy / "files" / "migrations" / "9999_new.py").write_text("")
    elif change == "a migration removed":
        migration.unlink()
    else:
        lock.write_text(lock.read_text().replace("Django==", "Django==9", 1))
    assert contents_key(project_copy) != before


def test_keeping_a_copy_removes_older_and_abandoned_ones_but_not_a_run_still_copying(
    tmp_path, monkeypatch
):
    """GIVEN a cache holding an older copy, a half-made copy a killed run left two hours
    ago and one another run is making now WHEN a new copy is kept THEN it is in place
    whole, the older and the abandoned ones are gone, and the other run's is untouched."""
    cache = tmp_path / "test-cache"
    monkeypatch.setattr(migrated_cluster, "CACHE_DIR", cache)
    older = cache / "postgres-0000000000000000"
    abandoned = cache / ".making-killed"
    making_now = cache / ".making-busy"
    for folder in (older, abandoned, making_now):
        (folder / "data").mkdir(parents=True)
    two_hours_ago = time.time() - 7200
    os.utime(abandoned, (two_hours_ago, two_hours_ago))
    data = tmp_path / "data"
    data.mkdir()
    (data / "PG_VERSION").write_text("16\n")
    kept = cache / "postgres-1111111111111111"

    migrated_cluster.keep(data, kept)

    assert (kept / "PG_VERSION").read_text() == "16\n"
    assert sorted(p.name for p in cache.iterdir()) == [".making-busy", kept.name]
