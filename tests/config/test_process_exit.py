"""A portal process ends without walking its heap, its database connections closed first
(config/process_exit.py).

Each process below is a new Python that loads the portal as manage.py, gunicorn and Celery
do (through the ``config`` package) and then exits. Before the portal's exit hook is
registered it registers one of its own: exit hooks run last-registered first, so this one
runs after the portal's and reports what the exit's collections will find.
"""

from __future__ import annotations

import re

import pytest

from tests.support import worker
from tests.support.commands import python_in_a_fresh_process

pytestmark = pytest.mark.slow

LOOK_AFTER_THE_PORTALS_HOOK = """
import atexit, gc

def after_the_portals_hook():
    from django.db import connections
    still_open = [
        c.alias for c in connections.all(initialized_only=True) if c.connection is not None
    ]
    print("frozen", gc.get_freeze_count(), "open", still_open or "none", flush=True)

atexit.register(after_the_portals_hook)
"""

CONNECTED = """
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
    print("connected", cursor.fetchone()[0], connection.vendor, flush=True)
"""


def run(code: str, env_changes: dict[str, str] | None = None, without: tuple[str, ...] = ()):
    done = python_in_a_fresh_process(
        LOOK_AFTER_THE_PORTALS_HOOK + code, env_changes=env_changes, without=without
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert not done.stderr.strip(), done.stderr[-3000:]
    return done.stdout


@pytest.mark.django_db
@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_a_process_closes_its_database_connection_and_leaves_its_heap_frozen(database, tmp_path):
    """GIVEN a portal process that has loaded Django and queried its database (the suite's
    PostgreSQL, or an embedded data folder's SQLite) WHEN it exits THEN by the time the
    exit's collections run, its connection is closed and its heap (the tens of thousands
    of objects Django and the apps made) is frozen out of their way."""
    if database == "sqlite":
        said = run(
            CONNECTED, {"PORTAL_DATA_DIR": str(tmp_path / "data")}, without=("DATABASE_URL",)
        )
    else:
        said = run(CONNECTED, {"DATABASE_URL": worker.test_database_url()})
    assert f"connected 1 {database}" in said, said
    frozen, still_open = re.search(r"frozen (\d+) open (\S+)", said).groups()
    assert still_open == "none", said
    assert int(frozen) > 50_000, said


def test_a_process_that_never_set_django_up_exits_cleanly():
    """GIVEN a process that imports the portal's package without setting Django up (as
    gunicorn's arbiter reads its configuration) WHEN it exits THEN it exits without an
    error, its heap frozen all the same."""
    said = run("import config\nprint('loaded', flush=True)\n")
    assert said.startswith("loaded"), said
    assert re.search(r"frozen [1-9]\d* open none", said), said
