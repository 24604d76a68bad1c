"""docs/operations/upgrade.md followed once, on the embedded shape, from the previous
release: its checkout beside this one, a clinic's data made by it, the data folder kept,
``migrate --plan`` read for contract operations, ``migrate``, and then the two promises
the page makes: the previous release's code still serves and writes on the migrated
schema (what a rolling upgrade of the scaled shape relies on), and the new code answers
every file the old one stored, with its SHA-256, every secret and every audit row."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.ops.test_backup_restore import SUITE_VARIABLES

BASE_DIR = Path(__file__).resolve().parents[2]
# The release CHANGELOG.md calls 0.1.0: the code before the Unreleased section.
PREVIOUS_RELEASE = "28b0ae8697caba2bdf454c860b659801bff9207b"
# migrate --plan's words for the operations upgrade.md keeps for a later release (the
# previous release's code would fail on them; dropping an index or a constraint only
# loosens what it relies on).
CONTRACT_OPERATIONS = (
    "Remove field",
    "Delete model",
    "Rename field",
    "Rename model",
    "Alter unique_together",
)

pytestmark = [pytest.mark.slow]


def checkout(commit: str, into: Path) -> Path:
    """The release's files as ``git archive`` gives them (a checkout without .git)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit],
        cwd=BASE_DIR,
        capture_output=True,
        check=False,
    )
    assert archive.returncode == 0, (
        f"the upgrade drill needs the repository's history (a full clone) to check out the "
        f"previous release {commit[:12]}: {archive.stderr.decode()[-300:]}"
    )
    into.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    # The drill's two halves, as they are today, run against either code.
    shutil.copy2(BASE_DIR / "tests" / "support" / "restore_drill.py", into / "tests" / "support")
    return into


def python(tree: Path, env: dict, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=tree,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{tree.name}: {' '.join(args)}\n{done.stderr[-3000:]}"
    return done.stdout


def drill(tree: Path, env: dict, step: str, given: dict | None = None) -> dict:
    said = python(
        tree,
        env,
        "-m",
        "tests.support.restore_drill",
        step,
        stdin=json.dumps(given) if given is not None else None,
    )
    return json.loads(said.strip().splitlines()[-1])


def test_embedded_upgrade_from_the_previous_release_keeps_every_file(tmp_path):
    """GIVEN the previous release in use on the embedded shape (its migrations, a clinic's
    patients, ready photos and letters, webhook secrets, audit rows) WHEN upgrade.md's
    embedded steps are followed (stop, keep the data folder, this release's migrate --plan
    and migrate) THEN the plan holds no contract operation; the previous release's code
    still reads and writes on the migrated schema; this release answers every file either
    stored, byte for byte, decrypts every secret and keeps every audit row; and this
    release's backup of the upgraded data is whole (for the next upgrade's step 2)."""
    previous = checkout(PREVIOUS_RELEASE, tmp_path / "previous")
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in SUITE_VARIABLES}
    env.update({"PORTAL_DATA_DIR": str(data), "PORTAL_ENVIRONMENT": "test"})
    env.pop("PYTHONPATH", None)

    # The previous release, installed and in use.
    python(previous, env, "manage.py", "migrate", "--noinput", "--verbosity", "0")
    before = drill(previous, env, "populate")

    # 1-2: stopped; from a release without `manage.py backup`, the stopped data folder is
    # the backup (database, files and secret_key together).
    kept = tmp_path / "kept" / "data"
    shutil.copytree(data, kept, symlinks=True)

    # 3: this release's code. It refuses a data folder others can read, which 0.1.0 made,
    # and names the commands that make it private (upgrade.md's note for 0.1.0).
    refused = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--plan"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0 and "other users of this machine can read it" in refused.stderr
    [commands] = re.findall(r"Run `([^`]+)`, then start again", refused.stderr)
    subprocess.run(commands, shell=True, check=True)  # the portal's own words
    # The plan first, then the migrations.
    plan = python(BASE_DIR, env, "manage.py", "migrate", "--plan")
    assert "Planned operations:" in plan, plan
    contract = [
        line.strip() for line in plan.splitlines() if line.strip().startswith(CONTRACT_OPERATIONS)
    ]
    assert not contract, f"contract operations in this release's migrations: {contract}"
    python(BASE_DIR, env, "manage.py", "migrate", "--noinput", "--verbosity", "0")

    # While the scaled shape rolls, the previous release's processes serve on this schema:
    # they must still write (its INSERTs name none of the new columns).
    during = drill(previous, env, "populate")

    # 4: this release answers everything either release stored, each clinic with its own
    # key. The audit is compared row for row once; after that the downloads just made have
    # added rows of their own (none missing).
    added_rows = ["audit rows differ: 0 missing, e.g. []"]
    for made, by_now in ((during, []), ({**before, "audit": during["audit"]}, added_rows)):
        found = drill(BASE_DIR, env, "verify", made)
        assert found["mismatches"] == by_now, found["mismatches"][:5]
        assert found["files_downloaded"] == len(made["files"]) > 0
        assert found["secrets_decrypted"] == len(made["webhook_secrets"]) + 1

    # And the previous release still reads what it stored on the new schema.
    old_reads = drill(previous, env, "verify", during)
    assert old_reads["mismatches"] == added_rows, old_reads["mismatches"][:5]
    assert old_reads["files_downloaded"] == len(during["files"])

    # The next upgrade starts from a backup this release can make and check.
    backup = tmp_path / "backups" / "after-upgrade"
    python(BASE_DIR, env, "manage.py", "backup", str(backup))
    checked = python(BASE_DIR, env, "manage.py", "restore", str(backup), "--check")
    assert "the keys in force decrypt this backup's values" in checked, checked
