"""Run some of the suite again on the embedded shape's database (SQLite), in a process of
its own: the suite runs on PostgreSQL, and a path with its own SQL (the serving function's
statements, a search's expression tree) must be proved on both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def pytest_on_sqlite(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    """``pytest <arguments>`` on a fresh SQLite database in ``tmp_path``, with no other
    service started; asserts it passed, ran something and skipped nothing."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "CELERY_BROKER_URL", "DATABASE_URL"))
    }
    environment.update(
        {
            "PORTAL_TEST_SERVICES": "external",
            "PORTAL_ENVIRONMENT": "test",
            "PORTAL_DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
            "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
        }
    )
    command = [sys.executable, "-m", "pytest", *arguments, "-q", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [*command, "-p", "no:xdist"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout
    return done
