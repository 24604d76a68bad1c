"""PORTAL_DATA_DIR is created only where the embedded shape keeps something in it.

A scaled process (PostgreSQL, Redis, S3) may run on a read-only file system; it used to
create the data folder at every start and fail there.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

SETUP = "import django; django.setup(); from django.conf import settings; print(settings.DATA_DIR)"


def start(env_changes: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update({"DJANGO_SETTINGS_MODULE": "portal.settings", **env_changes})
    return subprocess.run(
        [sys.executable, "-c", SETUP],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# A scaled deployment sets its secret (without it, the portal keeps a per-install secret
# in the data folder, portal/install_secret.py).
SCALED = {
    "DATABASE_URL": "postgres://portal@127.0.0.1:1/portal",
    "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
    "SECRET_KEY": "scaled-test-secret-key-0123456789-0123456789-abcdefghij",
}


@pytest.mark.parametrize(
    "unwritable", ["/proc/portal-data", "/proc/self/portal/data", "/sys/portal"]
)
def test_a_scaled_process_starts_where_the_data_folder_cannot_be_made(unwritable):
    """GIVEN the scaled shape's settings and a data folder that cannot be created
    WHEN Django starts THEN it starts (nothing asks for the folder)."""
    started = start({**SCALED, "PORTAL_DATA_DIR": unwritable})
    assert started.returncode == 0, started.stderr[-800:]


def test_the_embedded_shape_still_makes_its_data_folder(tmp_path):
    """GIVEN the embedded shape (no DATABASE_URL) WHEN Django starts THEN the data folder is
    made (its SQLite database and broker live there)."""
    folder = tmp_path / "fresh" / "data"
    started = start({"PORTAL_DATA_DIR": str(folder)})
    assert started.returncode == 0, started.stderr[-800:]
    assert folder.is_dir()


def test_a_scaled_process_leaves_a_writable_data_folder_uncreated(tmp_path):
    """GIVEN the scaled shape and a data folder that does not exist WHEN Django starts THEN
    it is not created (a read-only deployment would have failed there)."""
    folder = tmp_path / "never" / "data"
    assert start({**SCALED, "PORTAL_DATA_DIR": str(folder)}).returncode == 0
    assert not folder.exists()
