"""The suite's PostgreSQL cluster, made once and migrated once, then copied for each run.

Every run used to make a cluster (initdb, a second) and every pytest process then built its
test database by running all the migrations (3.5 s each). Now the first run on a machine
makes the cluster, migrates one database (``TEMPLATE``) and keeps a copy of the stopped
cluster in ``var/test-cache/``; later runs copy it (a tenth of a second) and each process
creates its test database from the template (``CREATE DATABASE ... TEMPLATE``), so
Django's migrate finds nothing to do.

The copy is named after what decides its contents: the project's migrations, the locked
versions of its dependencies (the third-party apps' migrations) and the PostgreSQL
version. A change to any of them makes a new copy on the next run; older copies are
removed. ``make clean`` or deleting the folder starts from nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deploy.services import Postgres, pg_binary

BASE_DIR = Path(__file__).resolve().parent.parent.parent
CACHE_DIR = BASE_DIR / "var" / "test-cache"
TEMPLATE = "portal_migrated"


def migration_files(base: Path = BASE_DIR) -> list[Path]:
    """Every app's migrations: the apps at the top (``files/``) and the ground floor's
    under ``portal/`` (``portal/patients/``)."""
    return sorted([*base.glob("*/migrations/*.py"), *base.glob("*/*/migrations/*.py")])


def contents_key(base: Path = BASE_DIR) -> str:
    """What the migrated cluster's contents depend on, as a short hash."""
    digest = hashlib.sha256()
    for path in migration_files(base):
        digest.update(str(path.relative_to(base)).encode())
        digest.update(path.read_bytes())
    digest.update((base / "requirements" / "constraints.txt").read_bytes())
    version = subprocess.run(
        [pg_binary("postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    digest.update(version.encode())
    return digest.hexdigest()[:16]


def cached_copy() -> Path:
    return CACHE_DIR / f"postgres-{contents_key()}"


def start_migrated(cluster: Postgres, environment: dict[str, str]) -> None:
    """Start ``cluster`` (not yet made) with the ``TEMPLATE`` database migrated: from the
    kept copy when there is one; otherwise made, migrated and then kept."""
    kept = cached_copy()
    if (kept / "PG_VERSION").exists():
        cluster.root.mkdir(parents=True, exist_ok=True)
        # -a: the owner (postgres, when the suite runs as root) and the 0700 mode PostgreSQL
        # insists on come along.
        subprocess.run(["cp", "-a", str(kept), str(cluster.data)], check=True)
        cluster.start()
        return
    cluster.start()
    cluster.create_database(TEMPLATE)
    migrate(cluster.url(TEMPLATE), environment)
    cluster.stop()  # a checkpoint: the files copied are a consistent cluster
    keep(cluster.data, kept)
    cluster.start()


def migrate(url: str, environment: dict[str, str]) -> None:
    """``manage.py migrate`` into the database at ``url``, in a process of its own (this
    one's settings are already read)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "--verbosity", "0"],
        cwd=BASE_DIR,
        env={**environment, "DATABASE_URL": url, "PORTAL_DATABASE_URL": url},
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise RuntimeError(f"migrating the suite's template database failed:\n{result.stderr}")


def keep(data: Path, kept: Path) -> None:
    """A copy of the stopped cluster at ``kept``, put in place whole (another run making
    the same copy at the same time loses nothing); older copies, and half-made ones a
    killed run left, go."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE_DIR, prefix=".making-") as making:
        copy = Path(making) / "data"
        subprocess.run(["cp", "-a", str(data), str(copy)], check=True)
        with contextlib.suppress(OSError):  # the same copy was kept by another run
            os.rename(copy, kept)
    for older in CACHE_DIR.glob("postgres-*"):
        if older != kept:
            shutil.rmtree(older, ignore_errors=True)
    # Half-made copies of runs killed while copying (a copy takes a second, not an hour).
    for abandoned in CACHE_DIR.glob(".making-*"):
        with contextlib.suppress(OSError):
            if time.time() - abandoned.stat().st_mtime > 3600:
                shutil.rmtree(abandoned, ignore_errors=True)
