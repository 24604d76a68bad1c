"""Backup and restore (``manage.py backup`` / ``restore``, config/backup.py), drilled.

The drills run the portal as separate processes on each deployment shape: the embedded
one (SQLite and the data folder's files) and the scaled one (PostgreSQL and an S3 bucket
on SeaweedFS, the suite's own servers). Each makes a clinic, backs it up, wipes the
stores, restores, and then every file downloads through the API with its SHA-256, every
webhook secret decrypts and every audit row is there. The checks after them refuse a
damaged or edited backup before anything is written.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import boto3
import psycopg
import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from config.backup import (
    MANIFEST,
    BackupError,
    backup_create,
    object_path,
    restore_run,
)
from files.storage.objects import storage_put

BASE_DIR = Path(__file__).resolve().parents[2]
# What the suite's own process sets that a portal process of a drill must not inherit.
SUITE_VARIABLES = {
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "S3_BUCKET",
    "PORTAL_FILES_ROOT",
    "SECRET_KEY",
    "SECRET_KEY_FALLBACKS",
    "FIELD_ENCRYPTION_KEYS",
    "DJANGO_SETTINGS_MODULE",
}


def run(args: list[str], env: dict, *, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return run(["manage.py", *args], env)


def drill(env: dict, step: str, given: dict | None = None) -> dict:
    done = run(
        ["-m", "tests.support.restore_drill", step],
        env,
        stdin=json.dumps(given) if given is not None else None,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return done.stdout


def modes(folder: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def assert_private(folder: Path) -> None:
    """0700 for every folder, 0600 for every file, nothing else (no link)."""
    for name, mode in modes(folder).items():
        path = folder / name
        if path.is_symlink():
            pytest.fail(f"{name} is a link")
        assert mode == (0o700 if path.is_dir() else 0o600), f"{name} is {mode:o}"


def assert_holds_none_of(folder: Path, secrets: list[str]) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"{path.name} holds key material"


def timed(step, *args):
    started = time.monotonic()
    done = step(*args)
    return done, time.monotonic() - started


def own_time(said: str) -> str:
    """The command's own time, as it printed it (the process's start-up aside)."""
    return re.search(r"Took ([\d.]+ s)", said)[1]


def figures(label: str, manifest: dict, found: dict, seconds: float, phases: dict) -> str:
    storage = manifest["storage"]
    took = ", ".join(f"{name} {value}" for name, value in phases.items())
    return (
        f"{label}: {found['files_downloaded']} files ({found['bytes_downloaded']} bytes) "
        f"downloaded, {storage['count']} objects ({storage['bytes']} bytes) backed up, "
        f"{found['checksums_compared']} checksums compared, {found['secrets_decrypted']} "
        f"secrets decrypted, {found['audit_rows']} audit rows, {manifest['database']['rows']} "
        f"rows in {len(manifest['database']['tables'])} tables; {took}; whole drill {seconds:.1f} s"
    )


def check_restored(made: dict, found: dict) -> None:
    assert found["mismatches"] == []
    assert found["files_downloaded"] == len(made["files"]) == 12
    assert found["secrets_decrypted"] == len(made["webhook_secrets"]) + 1 == 4
    assert found["audit_rows"] == len(made["audit"]) > 12
    assert found["facets_checked"] >= 12


# --- The drills ---------------------------------------------------------------------


@pytest.mark.slow
def test_embedded_restore_drill(tmp_path, capsys):
    """GIVEN the embedded shape with a clinic's patients, ready files and their facets,
    webhook secrets and audit rows WHEN it is backed up, its data folder deleted, the
    secret_key kept apart put back, and the backup restored THEN every file downloads with
    its SHA-256, every secret decrypts and every audit row is there; the backup is private
    and holds no key material; a second restore is refused without --force."""
    started = time.monotonic()
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in SUITE_VARIABLES}
    env.update({"PORTAL_DATA_DIR": str(data), "PORTAL_ENVIRONMENT": "test"})
    ok(manage(env, "migrate", "--noinput", "--verbosity", "0"))
    made = drill(env, "populate")

    backup = tmp_path / "backups" / "portal-1"
    done, backup_seconds = timed(manage, env, "backup", str(backup))
    said = backup_said = ok(done)
    assert "SECRET_KEY" in said and "FIELD_ENCRYPTION_KEYS" in said
    assert_private(backup)
    secret = (data / "secret_key").read_text().strip()
    assert_holds_none_of(backup, [secret])
    manifest = json.loads((backup / MANIFEST).read_text())
    assert manifest["shape"] == "embedded"
    backed_up = {entry["sha256"] for entry in manifest["storage"]["objects"]}
    assert {file["sha256"] for file in made["files"]} <= backed_up

    # The operator keeps the key apart, the data folder is lost, the key is put back.
    kept = tmp_path / "kept-apart" / "secret_key"
    kept.parent.mkdir(mode=0o700)
    shutil.copy2(data / "secret_key", kept)
    shutil.rmtree(data)
    data.mkdir(mode=0o700)
    shutil.copy2(kept, data / "secret_key")

    done, restore_seconds = timed(manage, env, "restore", str(backup))
    said = restore_said = ok(done)
    assert "Restored." in said
    assert "the keys in force decrypt this backup's values" in said
    assert f"{manifest['storage']['count']} ({manifest['storage']['bytes']} bytes) restored" in said
    found, verify_seconds = timed(drill, env, "verify", made)
    check_restored(made, found)
    seconds = time.monotonic() - started

    refused = manage(env, "restore", str(backup))
    assert refused.returncode != 0
    assert "not empty" in refused.stderr and "--force" in refused.stderr
    ok(manage(env, "restore", "--force", str(backup)))
    phases = {
        "backup": f"{backup_seconds:.1f} s (its own work {own_time(backup_said)})",
        "restore": f"{restore_seconds:.1f} s (its own work {own_time(restore_said)})",
        "verify": f"{verify_seconds:.1f} s",
    }
    with capsys.disabled():
        print("\n" + figures("embedded restore drill", manifest, found, seconds, phases))


@pytest.mark.slow
def test_embedded_restore_without_the_kept_key_says_which_key_is_missing(tmp_path):
    """GIVEN an embedded backup with webhook secrets WHEN it is restored into a data folder
    whose secret_key is a new one (the old one was not kept apart) THEN the restore fails
    saying the encrypted values do not decrypt and naming SECRET_KEY."""
    env = {k: v for k, v in os.environ.items() if k not in SUITE_VARIABLES}
    env.update({"PORTAL_DATA_DIR": str(tmp_path / "data"), "PORTAL_ENVIRONMENT": "test"})
    ok(manage(env, "migrate", "--noinput", "--verbosity", "0"))
    drill(env, "populate")
    ok(manage(env, "backup", str(tmp_path / "backup")))

    env["PORTAL_DATA_DIR"] = str(tmp_path / "new-data")
    failed = manage(env, "restore", str(tmp_path / "backup"))
    assert failed.returncode != 0
    assert "do NOT decrypt this backup's encrypted values" in failed.stdout
    assert "0 of 3 decrypt" in failed.stdout
    assert "cannot be decrypted with the keys in force" in failed.stderr
    assert "SECRET_KEY" in failed.stderr


@pytest.fixture
def scaled_env(tmp_path, settings):
    """A database of its own on the suite's PostgreSQL and a bucket of its own on its
    SeaweedFS; SECRET_KEY and FIELD_ENCRYPTION_KEYS in the environment, as in production."""
    name = f"drill_{uuid.uuid4().hex[:10]}"
    server = urlsplit(os.environ["DATABASE_URL"])
    admin_url = urlunsplit(server._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    bucket = f"drill-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT_URL,
        region_name=settings.S3_REGION,
        aws_access_key_id=settings.S3_ACCESS_KEY_ID,
        aws_secret_access_key=settings.S3_SECRET_ACCESS_KEY,
    )
    s3.create_bucket(Bucket=bucket)
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    env = {k: v for k, v in os.environ.items() if k not in SUITE_VARIABLES}
    env.update(
        {
            "PORTAL_ENVIRONMENT": "test",
            "PORTAL_DATA_DIR": str(tmp_path / "data"),
            "DATABASE_URL": urlunsplit(server._replace(path=f"/{name}")),
            "CELERY_BROKER_URL": f"{os.environ['TEST_REDIS_URL']}/{40 + worker}",
            "S3_BUCKET": bucket,
            "SECRET_KEY": Fernet.generate_key().decode() * 2,
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        }
    )
    yield {"env": env, "database": name, "admin_url": admin_url, "bucket": bucket, "s3": s3}
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bucket_keys(s3, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [entry["Key"] for page in pages for entry in page.get("Contents", [])]


@pytest.mark.slow
def test_scaled_restore_drill(scaled_env, tmp_path, capsys):
    """GIVEN the scaled shape (PostgreSQL, S3) with a clinic's patients, ready files and
    their facets, webhook secrets and audit rows WHEN it is backed up (pg_dump and the
    bucket's objects), the database dropped and the bucket emptied, and the backup restored
    THEN every file downloads with its SHA-256, every secret decrypts with the keys kept
    apart, and every audit row is there."""
    started = time.monotonic()
    env, s3, bucket = scaled_env["env"], scaled_env["s3"], scaled_env["bucket"]
    ok(manage(env, "migrate", "--noinput", "--verbosity", "0"))
    made = drill(env, "populate")

    backup = tmp_path / "backup"
    done, backup_seconds = timed(manage, env, "backup", str(backup))
    said = backup_said = ok(done)
    assert "FIELD_ENCRYPTION_KEYS: the FIELD_ENCRYPTION_KEYS environment variable" in said
    assert_private(backup)
    assert_holds_none_of(backup, [env["SECRET_KEY"], env["FIELD_ENCRYPTION_KEYS"]])
    manifest = json.loads((backup / MANIFEST).read_text())
    assert manifest["shape"] == "scaled"
    assert manifest["database"]["file"] == "database.pgdump"
    assert sorted(e["key"] for e in manifest["storage"]["objects"]) == sorted(
        bucket_keys(s3, bucket)
    )

    # The disaster: the database dropped (an empty one made for the restore), the bucket
    # emptied.
    name = scaled_env["database"]
    with psycopg.connect(scaled_env["admin_url"], autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    for key in bucket_keys(s3, bucket):
        s3.delete_object(Bucket=bucket, Key=key)
    assert bucket_keys(s3, bucket) == []

    done, restore_seconds = timed(manage, env, "restore", str(backup))
    said = restore_said = ok(done)
    assert "Restored." in said
    assert "the keys in force decrypt this backup's values" in said
    found, verify_seconds = timed(drill, env, "verify", made)
    check_restored(made, found)
    seconds = time.monotonic() - started

    refused = manage(env, "restore", str(backup))
    assert refused.returncode != 0
    assert "not empty" in refused.stderr and "--force" in refused.stderr
    # Forced: every table dropped first, then the same rows again.
    assert "Restored." in ok(manage(env, "restore", "--force", str(backup)))
    phases = {
        "backup": f"{backup_seconds:.1f} s (its own work {own_time(backup_said)})",
        "restore": f"{restore_seconds:.1f} s (its own work {own_time(restore_said)})",
        "verify": f"{verify_seconds:.1f} s",
    }
    with capsys.disabled():
        print("\n" + figures("scaled restore drill", manifest, found, seconds, phases))


# --- A backup refused before anything is written ------------------------------------------


@pytest.fixture
def backup(tmp_path, db, private_storage):
    """A backup of the test database and three stored objects; then the storage emptied,
    so whatever a refused restore might have written would show."""
    keys = ["accounts/a1/patients/p1/files/f1/content.jpg", "accounts/a1/x/y.pdf", "temp/z.bin"]
    for number, key in enumerate(keys):
        storage_put(key, io.BytesIO(f"object {number}".encode() * 100))
    folder = tmp_path / "backup"
    backup_create(folder)
    shutil.rmtree(private_storage)
    return folder


def manifest_edit(folder: Path, change) -> None:
    path = folder / MANIFEST
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def first_object(folder: Path) -> Path:
    manifest = json.loads((folder / MANIFEST).read_text())
    return object_path(folder, manifest["storage"]["objects"][0]["sha256"])


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def object_key(key):
    return lambda m: m["storage"]["objects"][0].update(key=key)


def outside(folder: Path) -> Path:
    """A file beside the backup, outside it and the storage: each test its own (the tests
    of this file run side by side in several workers, and one puts bytes there)."""
    return folder.parent / "restore-escape.txt"


DAMAGE = {
    "an object's byte changed": (lambda f: flip_a_byte(first_object(f)), "SHA-256"),
    "an object cut short": (
        lambda f: first_object(f).write_bytes(first_object(f).read_bytes()[:-1]),
        "the manifest says",
    ),
    "an object missing": (lambda f: first_object(f).unlink(), "missing"),
    "an object replaced by a link": (
        lambda f: (
            outside(f).write_bytes(first_object(f).read_bytes()),
            first_object(f).unlink(),
            first_object(f).symlink_to(outside(f)),
        ),
        "not a regular file",
    ),
    "the database's byte changed": (lambda f: flip_a_byte(f / "database.pgdump"), "SHA-256"),
    "the database missing": (lambda f: (f / "database.pgdump").unlink(), "missing"),
    "the database replaced by a link": (
        lambda f: (
            shutil.move(f / "database.pgdump", outside(f)),
            (f / "database.pgdump").symlink_to(outside(f)),
        ),
        "not a regular file",
    ),
    "the manifest missing": (lambda f: (f / MANIFEST).unlink(), "not a complete backup"),
    "the manifest not JSON": (lambda f: (f / MANIFEST).write_text("{"), "cannot be read"),
    "the manifest of something else": (
        lambda f: manifest_edit(f, lambda m: m.update(format="other")),
        "not a Clinic File Portal backup",
    ),
    "a later backup format": (
        lambda f: manifest_edit(f, lambda m: m.update(format_version=2)),
        "format 2",
    ),
    "a key climbing out": (
        lambda f: manifest_edit(f, object_key("../../../tmp/portal-restore-escape.txt")),
        "..",
    ),
    "a key climbing out half-way": (
        lambda f: manifest_edit(f, object_key("accounts/../../tmp/escape.txt")),
        "..",
    ),
    "an absolute key": (lambda f: manifest_edit(f, object_key(str(outside(f)))), "absolute"),
    "a key with a backslash": (
        lambda f: manifest_edit(f, object_key("..\\..\\escape.txt")),
        "backslash",
    ),
    "a key with a NUL": (lambda f: manifest_edit(f, object_key("accounts/a\x00.jpg")), "NUL"),
    "a key with an empty segment": (lambda f: manifest_edit(f, object_key("accounts//a.jpg")), ""),
    "a key that is not text": (lambda f: manifest_edit(f, object_key(42)), "not text"),
    "a key named twice": (
        lambda f: manifest_edit(
            f, lambda m: m["storage"]["objects"].append(dict(m["storage"]["objects"][0]))
        ),
        "twice",
    ),
    "a checksum that is a path": (
        lambda f: manifest_edit(
            f, lambda m: m["storage"]["objects"][0].update(sha256="../../manifest.json")
        ),
        "no SHA-256",
    ),
    "a negative size": (
        lambda f: manifest_edit(f, lambda m: m["storage"]["objects"][0].update(size=-1)),
        "no SHA-256 or size",
    ),
    "a database file that is a path": (
        lambda f: manifest_edit(f, lambda m: m["database"].update(file="../../etc/passwd")),
        "no database file",
    ),
    "a database of another engine": (
        lambda f: manifest_edit(f, lambda m: m["database"].update(engine="sqlite")),
        "configured for postgresql",
    ),
    "tables that are not a mapping": (
        lambda f: manifest_edit(f, lambda m: m["database"].update(tables=["x"])),
        "rows per table",
    ),
    "migrations that are not a list": (
        lambda f: manifest_edit(f, lambda m: m["database"].update(migrations="files.0001")),
        "not a list of names",
    ),
    "migrations this code does not know": (
        lambda f: manifest_edit(f, lambda m: m["database"]["migrations"].append("files.9999_x")),
        "newer portal",
    ),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_or_edited_backup_is_refused_before_anything_is_written(
    backup, private_storage, damage
):
    """GIVEN a backup damaged or edited one way WHEN it is restored THEN it is refused with
    its own reason (the backup is checked before the target is looked at), and nothing is
    written to the storage or outside it."""
    escape = outside(backup)
    change, reason = DAMAGE[damage]
    change(backup)
    outside_before = escape.read_bytes() if escape.exists() else None
    with pytest.raises(BackupError) as refused:
        restore_run(backup)
    assert reason in str(refused.value)
    assert not private_storage.exists(), "the refused restore wrote to the storage"
    outside_after = escape.read_bytes() if escape.exists() else None
    assert outside_after == outside_before


def test_a_whole_backup_is_refused_over_a_database_that_holds_data(backup, private_storage):
    """GIVEN a whole backup and a database that holds tables WHEN it is restored without
    --force THEN the command refuses, saying what the target holds, and writes nothing."""
    with pytest.raises(CommandError, match=r"not empty: the database holds \d+ tables") as error:
        call_command("restore", str(backup))
    assert "--force" in str(error.value)
    assert not private_storage.exists()


def test_restore_check_says_the_backup_is_whole_and_changes_nothing(backup, private_storage):
    out = io.StringIO()
    call_command("restore", "--check", str(backup), stdout=out)
    assert "3 objects" in out.getvalue() and "every SHA-256 as in the manifest" in out.getvalue()
    assert "Nothing was changed" in out.getvalue()
    assert not private_storage.exists()


# --- The keys in force, told before anything is written ---------------------------------

OLD_SECRET = "backup-old-secret-key-" + "a1b2c3d4" * 6
NEW_SECRET = "backup-new-secret-key-" + "e5f6a7b8" * 6
OLD_FERNET = Fernet.generate_key().decode()
NEW_FERNET = Fernet.generate_key().decode()
KEYS = {
    "the same FIELD_ENCRYPTION_KEYS": ([OLD_FERNET], {"FIELD_ENCRYPTION_KEYS": [OLD_FERNET]}),
    "FIELD_ENCRYPTION_KEYS rotated, the old one second": (
        [OLD_FERNET],
        {"FIELD_ENCRYPTION_KEYS": [NEW_FERNET, OLD_FERNET]},
    ),
    "another FIELD_ENCRYPTION_KEYS": ([OLD_FERNET], {"FIELD_ENCRYPTION_KEYS": [NEW_FERNET]}),
    "FIELD_ENCRYPTION_KEYS lost, SECRET_KEY kept": ([OLD_FERNET], {"FIELD_ENCRYPTION_KEYS": []}),
    "the same SECRET_KEY": ([], {"SECRET_KEY": OLD_SECRET}),
    "SECRET_KEY rotated, the old one a fallback": (
        [],
        {"SECRET_KEY": NEW_SECRET, "SECRET_KEY_FALLBACKS": [OLD_SECRET]},
    ),
    "another SECRET_KEY": ([], {"SECRET_KEY": NEW_SECRET}),
}
FITTING = {
    "the same FIELD_ENCRYPTION_KEYS",
    "FIELD_ENCRYPTION_KEYS rotated, the old one second",
    "the same SECRET_KEY",
    "SECRET_KEY rotated, the old one a fallback",
}


@pytest.mark.parametrize("keys", sorted(KEYS))
def test_restore_check_says_whether_the_keys_in_force_fit_the_backup(tmp_path, db, settings, keys):
    """GIVEN a backup made with some key material WHEN restore --check runs with the same,
    rotated (the old key kept as the docs say) or other keys THEN it says the backup's
    encrypted values decrypt, or refuses naming the key material, before writing anything."""
    made_with, restoring_with = KEYS[keys]
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD_SECRET, []
    settings.FIELD_ENCRYPTION_KEYS = made_with
    backup_create(tmp_path / "backup")
    for name, value in restoring_with.items():
        setattr(settings, name, value)
    out = io.StringIO()
    if keys in FITTING:
        call_command("restore", "--check", str(tmp_path / "backup"), stdout=out)
        assert "the keys in force decrypt this backup's values" in out.getvalue()
    else:
        with pytest.raises(CommandError, match="keys in force do not decrypt") as refused:
            call_command("restore", "--check", str(tmp_path / "backup"), stdout=out)
        assert "SECRET_KEY" in str(refused.value)
        assert "FIELD_ENCRYPTION_KEYS" in str(refused.value)
        assert "do NOT decrypt" in out.getvalue()


# --- What a backup holds, and how it is written ------------------------------------------


def test_a_backup_is_private_whatever_the_umask(tmp_path, db, private_storage):
    """GIVEN a umask that lets everyone read (000) WHEN a backup is written THEN its folder
    and every folder in it are 0700 and every file 0600."""
    storage_put("accounts/a/p/one.jpg", io.BytesIO(b"x" * 5000))
    previous = os.umask(0)
    try:
        backup_create(tmp_path / "backup")
    finally:
        os.umask(previous)
    assert_private(tmp_path / "backup")
    assert len(modes(tmp_path / "backup")) >= 6  # manifest, README, database, objects/…


def test_a_backup_names_the_key_material_and_holds_none_of_it(tmp_path, db, settings):
    """GIVEN SECRET_KEY and FIELD_ENCRYPTION_KEYS WHEN a backup is written THEN its manifest
    and README name both, and no file of it holds either."""
    settings.SECRET_KEY = "backup-test-secret-" + uuid.uuid4().hex * 2
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    report = backup_create(tmp_path / "backup")
    named = [item["name"] for item in report.manifest["key_material"]]
    assert named == ["SECRET_KEY", "FIELD_ENCRYPTION_KEYS"]
    readme = (tmp_path / "backup" / "README.txt").read_text()
    assert "SECRET_KEY" in readme and "FIELD_ENCRYPTION_KEYS" in readme
    assert_holds_none_of(
        tmp_path / "backup", [settings.SECRET_KEY, *settings.FIELD_ENCRYPTION_KEYS]
    )


def test_a_backup_records_every_object_with_its_sha256(tmp_path, db, private_storage):
    contents = {f"accounts/a/p/{n}.bin": os.urandom(3000 + n) for n in range(4)}
    contents["accounts/a/p/same.bin"] = contents["accounts/a/p/0.bin"]  # stored once
    for key, data in contents.items():
        storage_put(key, io.BytesIO(data))
    report = backup_create(tmp_path / "backup")
    listed = {e["key"]: (e["sha256"], e["size"]) for e in report.manifest["storage"]["objects"]}
    assert listed == {
        key: (hashlib.sha256(data).hexdigest(), len(data)) for key, data in contents.items()
    }
    assert len(list((tmp_path / "backup" / "objects").rglob("*/*"))) == 4
    assert report.manifest["portal_version"] == "0.1.0"
    assert "accounts.0001_initial" in report.manifest["database"]["migrations"]


@pytest.mark.parametrize(
    "name",
    ["link-to-a-secret", "caf\u0065\u0301.jpg", "back\\slash.jpg", "rtl\u202egpj.exe"],
)
def test_a_stored_name_the_portal_refuses_is_left_out_and_said(tmp_path, db, private_storage, name):
    """GIVEN a name in the files folder the portal would never store (a link, a decomposed
    accent, a backslash, a bidi override) WHEN it is backed up THEN it is left out, the
    report says so, and a link's target is never copied."""
    folder = private_storage / "accounts" / "a"
    folder.mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("not the clinic's to back up")
    if name == "link-to-a-secret":
        (folder / name).symlink_to(secret)
    else:
        (folder / name).write_bytes(b"odd")
    storage_put("accounts/a/fine.jpg", io.BytesIO(b"fine"))
    report = backup_create(tmp_path / "backup")
    assert [e["key"] for e in report.manifest["storage"]["objects"]] == ["accounts/a/fine.jpg"]
    assert [e["key"] for e in report.left_out] == [f"accounts/a/{name}"]
    assert_holds_none_of(tmp_path / "backup", ["not the clinic's to back up"])


@pytest.mark.parametrize("existing", ["a file", "a folder with a file"])
def test_a_backup_is_never_written_into_something_that_exists(tmp_path, db, existing):
    target = tmp_path / "backup"
    if existing == "a file":
        target.write_text("x")
    else:
        target.mkdir()
        (target / "old").write_text("x")
    with pytest.raises(CommandError, match="not an empty folder"):
        call_command("backup", str(target))
