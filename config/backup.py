"""Backups of an installation, and their restore: the database and the stored files together.

What a clinic cannot lose lives in two stores: the database (SQLite in the data folder in
the embedded shape, PostgreSQL in the scaled one) and the file storage (the data folder's
``files/``, or the S3 bucket). A backup is one folder holding both, and a manifest: the
rows of each table, every object's size and SHA-256, the migrations applied, the
portal's version. The database is copied first, as one consistent snapshot (SQLite's
online backup API; ``pg_dump`` on a snapshot exported from a REPEATABLE READ
transaction, in which the rows are also counted), then the objects: an object is stored
before the row that names it is committed, so every object a row of the snapshot names
is still there when the objects are copied (the retention sweep aside, which deletes
only what expired files no longer need).

The key material is never in a backup. ``SECRET_KEY`` (and its fallbacks) or
``FIELD_ENCRYPTION_KEYS`` decrypt the webhook secrets the database keeps encrypted
(``portal.encryption``): kept apart, a stolen backup cannot be used to sign as the
clinic; lost, those secrets are gone. The manifest names what to keep and where it is
read from, and ``restore`` says how many encrypted values the keys in force decrypt.

Objects are kept in the backup under their SHA-256 (``objects/ab/abcd…``), never under
their storage keys: a restore reads only names it derives from checksums, so a manifest
edited to name ``../../etc/passwd`` cannot make it read or write outside either folder,
and every key is checked as the storage checks any key (``files.keys``) before anything
is written. Everything in a backup is written 0600 in folders 0700: it is health data.

This module sits in the project shell (``config``), above every app: it reads every
table and writes through the files app's storage.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import secrets
import shutil
import sqlite3
import stat
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from botocore.exceptions import ClientError
from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from psycopg import IsolationLevel, sql
from psycopg.conninfo import make_conninfo

from files.keys import path_problem
from files.storage.objects import storage_is_s3, storage_put, stored_bytes
from portal.encryption import EncryptedTextField, decrypt, encrypt

FORMAT = "clinic-file-portal-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
README = "README.txt"
OBJECTS = "objects"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
CHUNK = 1024 * 1024
# Encrypted into every manifest with the keys in force, so a restore can tell before it
# writes anything whether the keys it runs with read this backup's encrypted values. It
# says nothing of the keys that the database's own encrypted values do not already say.
KEY_CHECK_TEXT = "clinic-file-portal backup key check"
FILE_MODE = 0o600
FOLDER_MODE = 0o700


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


# --- What the installation is ------------------------------------------------------------


def portal_version() -> str:
    """The version in pyproject.toml: the portal runs from its checkout, not installed."""
    try:
        with (Path(settings.BASE_DIR) / "pyproject.toml").open("rb") as handle:
            return tomllib.load(handle)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def database_engine(alias: str = "default") -> str:
    vendor = connections[alias].vendor
    if vendor not in {"sqlite", "postgresql"}:
        raise BackupError(f"Backups cover SQLite and PostgreSQL, not {vendor}.")
    return vendor


def storage_kind() -> str:
    return "s3" if storage_is_s3(default_storage) else "filesystem"


def storage_where() -> str:
    if storage_is_s3(default_storage):
        location = _s3_location()
        under = f" under {location}" if location else ""
        return f"S3 bucket {default_storage.bucket_name}{under}"
    return f"folder {default_storage.location}"


def shape_of(engine: str, kind: str) -> str:
    return {("sqlite", "filesystem"): "embedded", ("postgresql", "s3"): "scaled"}.get(
        (engine, kind), f"{engine} with {kind} storage"
    )


def key_material() -> list[dict[str, str]]:
    """What decrypts this installation's encrypted values, and where it is read from:
    named in every manifest, never written into a backup."""
    if os.environ.get("SECRET_KEY"):
        secret_where = "the SECRET_KEY environment variable"
    else:
        secret_where = (
            f"the data folder's secret_key file ({Path(settings.DATA_DIR) / 'secret_key'}), "
            "made on first run because SECRET_KEY is unset"
        )
    material = [
        {
            "name": "SECRET_KEY",
            "where": secret_where,
            "needed_for": (
                "signed sessions and links; the key that decrypts webhook secrets when "
                "FIELD_ENCRYPTION_KEYS is unset"
            ),
        }
    ]
    if getattr(settings, "SECRET_KEY_FALLBACKS", None):
        material.append(
            {
                "name": "SECRET_KEY_FALLBACKS",
                "where": "the SECRET_KEY_FALLBACKS environment variable",
                "needed_for": "values encrypted under an earlier SECRET_KEY",
            }
        )
    if getattr(settings, "FIELD_ENCRYPTION_KEYS", None):
        keys_where = "the FIELD_ENCRYPTION_KEYS environment variable"
    else:
        keys_where = "not set: derived from SECRET_KEY (and SECRET_KEY_FALLBACKS)"
    material.append(
        {
            "name": "FIELD_ENCRYPTION_KEYS",
            "where": keys_where,
            "needed_for": "decrypting the webhook signing secrets kept in the database",
        }
    )
    return material


# --- Writing privately ------------------------------------------------------------------


def private_folder(path: Path) -> Path:
    path.mkdir(mode=FOLDER_MODE, exist_ok=True)
    path.chmod(FOLDER_MODE)  # mkdir's mode passes through the umask
    return path


@contextlib.contextmanager
def private_file(path: Path) -> Iterator[io.BufferedWriter]:
    """A new file, 0600 whatever the umask, never through a link."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    os.fchmod(descriptor, FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def write_private_json(path: Path, value: object) -> None:
    with private_file(path) as handle:
        handle.write(json.dumps(value, indent=2, ensure_ascii=False).encode() + b"\n")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def make_private(root: Path) -> None:
    """Every folder 0700 and every file 0600 under ``root`` (what SQLite or pg_dump made
    beside what was written here)."""
    for directory, folders, names in os.walk(root):
        Path(directory).chmod(FOLDER_MODE)
        for name in folders:
            (Path(directory) / name).chmod(FOLDER_MODE)
        for name in names:
            (Path(directory) / name).chmod(FILE_MODE)


# --- The database ----------------------------------------------------------------------


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_tables(connection: sqlite3.Connection) -> dict[str, int]:
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    return {
        name: connection.execute(f"SELECT COUNT(*) FROM {_quoted(name)}").fetchone()[0]
        for name in names
    }


def sqlite_migrations(connection: sqlite3.Connection) -> list[str]:
    try:
        rows = connection.execute("SELECT app, name FROM django_migrations ORDER BY id")
    except sqlite3.OperationalError:
        return []
    return [f"{app}.{name}" for app, name in rows]


def sqlite_path(alias: str = "default") -> Path:
    return Path(connections[alias].settings_dict["NAME"])


def sqlite_backup(target: Path, alias: str = "default") -> dict:
    """SQLite's online backup API: a consistent copy while the portal keeps writing."""
    source_path = sqlite_path(alias)
    if not source_path.exists():
        raise BackupError(f"The database {source_path} does not exist: nothing to back up.")
    with private_file(target):
        pass  # an empty file is an empty database; SQLite keeps its mode
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        # A copy readable on its own: no write-ahead log beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
        tables = sqlite_tables(copy)
        migrations = sqlite_migrations(copy)
    finally:
        copy.close()
        source.close()
    return {"tables": tables, "migrations": migrations}


def pg_binary(name: str) -> str:
    found = shutil.which(name)
    if not found:
        candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
        found = str(candidates[0]) if candidates else None
    if not found:
        raise BackupError(
            f"{name} not found: install PostgreSQL's client programs (Debian: postgresql-client)."
        )
    return found


# Django's connection parameters that are not libpq's.
_NOT_LIBPQ = {"cursor_factory", "context", "prepare_threshold", "client_encoding"}


def pg_params(alias: str = "default") -> dict[str, str]:
    params = connections[alias].get_connection_params()
    return {
        name: str(value)
        for name, value in params.items()
        if name not in _NOT_LIBPQ and isinstance(value, str | int) and value != ""
    }


def pg_command_env(alias: str = "default") -> tuple[str, dict[str, str]]:
    """The conninfo for pg_dump and pg_restore, and their environment: the password goes in
    PGPASSWORD, never on a command line that ``ps`` shows."""
    params = pg_params(alias)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = password
    return make_conninfo("", **params), env


def pg_connect(alias: str = "default"):
    return psycopg.connect(**pg_params(alias))


def pg_tables(cursor) -> dict[str, int]:
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY c.relname"
    )
    names = [row[0] for row in cursor.fetchall()]
    counts = {}
    for name in names:
        cursor.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(name)))
        counts[name] = cursor.fetchone()[0]
    return counts


def pg_migrations(cursor) -> list[str]:
    cursor.execute("SELECT to_regclass('django_migrations') IS NOT NULL")
    if not cursor.fetchone()[0]:
        return []
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
    return [f"{app}.{name}" for app, name in cursor.fetchall()]


def pg_backup(target: Path, alias: str = "default") -> dict:
    """``pg_dump`` in its custom format, of the snapshot in which the rows are counted."""
    conninfo, env = pg_command_env(alias)
    with pg_connect(alias) as connection:
        connection.isolation_level = IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            tables = pg_tables(cursor)
            migrations = pg_migrations(cursor)
        with private_file(target) as handle:
            dumped = subprocess.run(
                [
                    pg_binary("pg_dump"),
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--dbname={conninfo}",
                ],
                stdout=handle,
                stderr=subprocess.PIPE,
                env=env,
                check=False,
            )
        connection.rollback()
    if dumped.returncode != 0:
        raise BackupError(f"pg_dump failed: {dumped.stderr.decode(errors='replace').strip()}")
    return {"tables": tables, "migrations": migrations}


# --- The stored objects ----------------------------------------------------------------


@dataclass
class Listed:
    key: str
    size: int


def _s3_location() -> str:
    location = (getattr(default_storage, "location", "") or "").strip("/")
    return f"{location}/" if location else ""


def storage_listing() -> Iterator[Listed]:
    """Every object in the storage, at any depth, with its key as the portal names it."""
    if storage_is_s3(default_storage):
        client = default_storage.connection.meta.client
        location = _s3_location()
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=default_storage.bucket_name, Prefix=location):
            for entry in page.get("Contents", []):
                yield Listed(entry["Key"][len(location) :], entry["Size"])
        return
    root = Path(default_storage.location)
    for directory, folders, names in os.walk(root, followlinks=False):
        folders.sort()
        for name in sorted(names):
            path = Path(directory) / name
            with contextlib.suppress(FileNotFoundError):
                info = path.lstat()
                yield Listed(
                    path.relative_to(root).as_posix(),
                    info.st_size if stat.S_ISREG(info.st_mode) else -1,
                )


def storage_is_empty() -> bool:
    if storage_is_s3(default_storage):
        answer = default_storage.connection.meta.client.list_objects_v2(
            Bucket=default_storage.bucket_name, Prefix=_s3_location(), MaxKeys=1
        )
        return not answer.get("Contents")
    return next(storage_listing(), None) is None


def object_path(backup: Path, sha256: str) -> Path:
    return backup / OBJECTS / sha256[:2] / sha256


VANISHED_CODES = {"NoSuchKey", "404", "InvalidRange"}


class ObjectVanished(Exception):
    """An object listed a moment ago is gone or shorter: a temporary upload moved to its
    permanent key, or an expired file's bytes purged, while the backup ran."""


def copy_object(key: str, size: int, backup: Path) -> str:
    """Copy one stored object into the backup, under its SHA-256; the checksum."""
    spool_path = private_folder(backup / OBJECTS) / f".incoming-{secrets.token_hex(8)}"
    digest = hashlib.sha256()
    written = 0
    try:
        with private_file(spool_path) as handle:
            try:
                for chunk in stored_bytes(key, 0, size, chunk_size=CHUNK):
                    digest.update(chunk)
                    handle.write(chunk)
                    written += len(chunk)
            except FileNotFoundError as error:
                raise ObjectVanished(key) from error
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in VANISHED_CODES:
                    raise ObjectVanished(key) from error
                raise
        if written != size:
            raise ObjectVanished(key)
        checksum = digest.hexdigest()
        final = object_path(backup, checksum)
        private_folder(final.parent)
        if final.exists():  # the same bytes under another key: kept once
            spool_path.unlink()
        else:
            spool_path.rename(final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            spool_path.unlink()
    return checksum


# --- Backup ------------------------------------------------------------------------------


@dataclass
class BackupReport:
    folder: Path
    manifest: dict
    left_out: list[dict] = field(default_factory=list)


def encrypted_columns() -> list[tuple[str, str, str]]:
    """(label, table, column) of every field stored encrypted."""
    found = []
    for model in apps.get_models():
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, EncryptedTextField):
                found.append(
                    (
                        f"{model._meta.label}.{model_field.name}",
                        model._meta.db_table,
                        model_field.column,
                    )
                )
    return found


def encrypted_values_check(alias: str = "default") -> dict[str, dict[str, int]]:
    """For each encrypted field: how many stored values the keys in force decrypt."""
    connection = connections[alias]
    outcome = {}
    for label, table, column in encrypted_columns():
        ok = failed = 0
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {connection.ops.quote_name(column)} "
                f"FROM {connection.ops.quote_name(table)}"
            )
            for (value,) in cursor.fetchall():
                if not value:
                    continue
                try:
                    decrypt(value)
                except Exception:
                    failed += 1
                else:
                    ok += 1
        outcome[label] = {"decrypted": ok, "failed": failed}
    return outcome


def backup_create(
    folder: Path, *, alias: str = "default", say: Callable[[str], None] = lambda _: None
) -> BackupReport:
    """Back up the database and every stored object into ``folder`` (new or empty)."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(f"{folder} exists and is not an empty folder: choose a new one.")
    engine = database_engine(alias)
    kind = storage_kind()
    folder.parent.mkdir(parents=True, exist_ok=True)
    private_folder(folder)
    started = dt.datetime.now(dt.UTC)

    database_file = SQLITE_FILE if engine == "sqlite" else PG_FILE
    say(f"Copying the {engine} database ...")
    if engine == "sqlite":
        database = sqlite_backup(folder / database_file, alias)
    else:
        database = pg_backup(folder / database_file, alias)
    database_size = (folder / database_file).stat().st_size
    database_sha = sha256_of(folder / database_file)

    say(f"Copying the stored objects ({storage_where()}) ...")
    objects, left_out = [], []
    for listed in storage_listing():
        problem = path_problem(listed.key) if listed.size >= 0 else "is not a regular file"
        if problem:
            left_out.append({"key": listed.key, "reason": problem})
            continue
        try:
            checksum = copy_object(listed.key, listed.size, folder)
        except ObjectVanished:
            left_out.append({"key": listed.key, "reason": "was removed while the backup ran"})
            continue
        objects.append({"key": listed.key, "size": listed.size, "sha256": checksum})

    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "portal_version": portal_version(),
        "created_at": started.isoformat().replace("+00:00", "Z"),
        "shape": shape_of(engine, kind),
        "database": {
            "engine": engine,
            "file": database_file,
            "size": database_size,
            "sha256": database_sha,
            "tables": database["tables"],
            "rows": sum(database["tables"].values()),
            "migrations": database["migrations"],
        },
        "storage": {
            "kind": kind,
            "where": storage_where(),
            "count": len(objects),
            "bytes": sum(entry["size"] for entry in objects),
            "objects": objects,
            "left_out": left_out,
        },
        "encrypted_values": encrypted_values_check(alias),
        "key_check": encrypt(KEY_CHECK_TEXT),
        "key_material": key_material(),
    }
    write_private_json(folder / MANIFEST, manifest)
    with private_file(folder / README) as handle:
        handle.write(readme_text(manifest).encode())
    make_private(folder)
    return BackupReport(folder=folder, manifest=manifest, left_out=left_out)


def readme_text(manifest: dict) -> str:
    lines = [
        f"Clinic File Portal backup, {manifest['created_at']}, "
        f"portal {manifest['portal_version']}.",
        f"Shape: {manifest['shape']}. Database: {manifest['database']['file']} "
        f"({manifest['database']['rows']} rows). Objects: {manifest['storage']['count']} "
        f"({manifest['storage']['bytes']} bytes) under {OBJECTS}/, named by their SHA-256.",
        "",
        "Restore: python manage.py restore <this folder>  (docs/operations/backup.md).",
        "",
        "This folder holds patients' health data: keep it private (it is 0600/0700).",
        "It does NOT hold the key material below. Keep it apart, as safely: without it the",
        "webhook signing secrets in the database cannot be decrypted.",
    ]
    for item in manifest["key_material"]:
        lines.append(f"  - {item['name']} ({item['where']}): {item['needed_for']}.")
    return "\n".join(lines) + "\n"


# --- Restore -----------------------------------------------------------------------------


@dataclass
class RestoreReport:
    manifest: dict
    checked_objects: int = 0
    checked_bytes: int = 0
    restored_objects: int = 0
    restored_bytes: int = 0
    already_in_storage: int = 0
    tables: int = 0
    rows: int = 0
    pending_migrations: list[str] = field(default_factory=list)
    encrypted: dict[str, dict[str, int]] = field(default_factory=dict)
    keys_fit: bool | None = None  # None: a manifest without a key check

    @property
    def undecryptable(self) -> int:
        return sum(entry["failed"] for entry in self.encrypted.values())


def manifest_read(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not Path(folder).is_dir():
        raise BackupError(f"{folder} is not a folder.")
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(descriptor, "rb") as handle:
            manifest = json.loads(handle.read())
    except FileNotFoundError:
        raise BackupError(f"{path} is missing: this folder is not a complete backup.") from None
    except (OSError, ValueError) as error:
        raise BackupError(f"{path} cannot be read as a manifest ({error}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a Clinic File Portal backup manifest.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{path} is in backup format {manifest.get('format_version')!r}; this portal "
            f"reads format {FORMAT_VERSION}. Restore it with the portal version that made it "
            f"({manifest.get('portal_version')})."
        )
    return manifest


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= set("0123456789abcdef")


def backup_verify(folder: Path, manifest: dict) -> tuple[int, int]:
    """Every file the manifest names is in the backup with its SHA-256 and size, and every
    key is one the storage would take: (objects, bytes) checked. Raises at the first fault."""
    folder = Path(folder)
    database = manifest.get("database") or {}
    if database.get("file") not in {SQLITE_FILE, PG_FILE} or not _is_sha256(database.get("sha256")):
        raise BackupError("The manifest names no database file with a SHA-256.")
    tables, migrations = database.get("tables"), database.get("migrations")
    if not isinstance(tables, dict) or not all(
        isinstance(name, str) and isinstance(rows, int) for name, rows in tables.items()
    ):
        raise BackupError("The manifest's database tables are not a list of rows per table.")
    if not isinstance(migrations, list) or not all(isinstance(m, str) for m in migrations):
        raise BackupError("The manifest's database migrations are not a list of names.")
    _check_file(folder / database["file"], database["sha256"], database.get("size"), "the database")
    objects = (manifest.get("storage") or {}).get("objects")
    if not isinstance(objects, list):
        raise BackupError("The manifest lists no objects.")
    checked_bytes = 0
    seen_keys = set()
    verified = set()
    for entry in objects:
        key = entry.get("key") if isinstance(entry, dict) else None
        problem = path_problem(key) if key is not None else "is missing"
        if problem:
            raise BackupError(f"The manifest names an object key that {problem}: {key!r}.")
        if key in seen_keys:
            raise BackupError(f"The manifest names the object {key} twice.")
        seen_keys.add(key)
        checksum, size = entry.get("sha256"), entry.get("size")
        if not _is_sha256(checksum) or not isinstance(size, int) or size < 0:
            raise BackupError(f"The manifest's entry for {key} has no SHA-256 or size.")
        if (checksum, size) not in verified:
            _check_file(object_path(folder, checksum), checksum, size, f"the object {key}")
            verified.add((checksum, size))
        checked_bytes += size
    return len(objects), checked_bytes


def _check_file(path: Path, checksum: str, size: int | None, what: str) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise BackupError(f"The backup is missing {what} ({path}).") from None
    if not stat.S_ISREG(info.st_mode):
        raise BackupError(f"{path} ({what}) is not a regular file: refused.")
    if size is not None and info.st_size != size:
        raise BackupError(
            f"{what} ({path}) is {info.st_size} bytes; the manifest says {size}: the backup "
            "is damaged or was changed."
        )
    if sha256_of(path) != checksum:
        raise BackupError(
            f"The SHA-256 of {what} ({path}) is not the manifest's: the backup is damaged or "
            "was changed."
        )


def keys_fit(manifest: dict) -> bool | None:
    """Whether the keys in force decrypt what was encrypted with those of the backup."""
    check = manifest.get("key_check")
    if not isinstance(check, str):
        return None
    try:
        return decrypt(check) == KEY_CHECK_TEXT
    except Exception:
        return False


def migrations_unknown(manifest: dict) -> list[str]:
    """Migrations applied in the backup that this code does not have."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = {f"{app}.{name}" for app, name in loader.disk_migrations}
    replaced = {
        f"{app}.{name}"
        for migration in loader.disk_migrations.values()
        for app, name in (migration.replaces or [])
    }
    return [name for name in manifest["database"]["migrations"] if name not in known | replaced]


def migrations_pending(applied: list[str]) -> list[str]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    done = set(applied)
    return sorted(
        f"{app}.{name}"
        for (app, name), migration in loader.disk_migrations.items()
        if f"{app}.{name}" not in done
        and not any(f"{a}.{n}" in done for a, n in (migration.replaces or []))
    )


def database_holds(alias: str = "default") -> dict[str, int]:
    """The tables the target database holds now, with their rows (empty: nothing there)."""
    if connections[alias].vendor == "sqlite":
        path = sqlite_path(alias)
        if not path.exists() or path.stat().st_size == 0:
            return {}
        connection = sqlite3.connect(path, timeout=30)
        try:
            return sqlite_tables(connection)
        finally:
            connection.close()
    with pg_connect(alias) as connection, connection.cursor() as cursor:
        return pg_tables(cursor)


def restore_run(
    folder: Path,
    *,
    force: bool = False,
    check_only: bool = False,
    alias: str = "default",
    say: Callable[[str], None] = lambda _: None,
) -> RestoreReport:
    """Check the backup whole, then restore its database and objects into the configured
    stores. Refuses stores that hold anything unless ``force``; never writes before every
    checksum has been checked."""
    folder = Path(folder)
    manifest = manifest_read(folder)
    engine = database_engine(alias)
    if manifest["database"].get("engine") != engine:
        raise BackupError(
            f"This backup holds a {manifest['database'].get('engine')} database; the portal is "
            f"configured for {engine}. Set DATABASE_URL to match, or restore elsewhere."
        )
    say("Checking every checksum in the manifest ...")
    objects, size = backup_verify(folder, manifest)
    report = RestoreReport(manifest=manifest, checked_objects=objects, checked_bytes=size)
    unknown = migrations_unknown(manifest)
    if unknown:
        raise BackupError(
            f"This backup was made by a newer portal ({manifest.get('portal_version')}): its "
            f"database has migrations this code does not know ({', '.join(unknown[:5])}). "
            "Restore it with that version of the portal or a later one."
        )
    report.keys_fit = keys_fit(manifest)
    if check_only:
        return report

    held = database_holds(alias)
    storage_empty = storage_is_empty()
    if (held or not storage_empty) and not force:
        what = []
        if held:
            what.append(f"the database holds {len(held)} tables ({sum(held.values())} rows)")
        if not storage_empty:
            what.append(f"the storage ({storage_where()}) holds objects")
        raise BackupError(
            "The target is not empty: "
            + " and ".join(what)
            + ". Restore into an empty database and storage, or pass --force to replace the "
            "database and write the backup's objects over the storage's."
        )

    say("Restoring the database ...")
    connections.close_all()
    if engine == "sqlite":
        sqlite_restore(folder / manifest["database"]["file"], alias)
    else:
        pg_restore(folder / manifest["database"]["file"], drop=bool(held), alias=alias)
    connections.close_all()
    restored = database_holds(alias)
    expected = manifest["database"]["tables"]
    differing = {
        table: (rows, restored.get(table))
        for table, rows in expected.items()
        if restored.get(table) != rows
    }
    if differing:
        raise BackupError(
            "The restored database differs from the manifest: "
            + ", ".join(f"{t} has {got} rows, not {want}" for t, (want, got) in differing.items())
        )
    report.tables, report.rows = len(expected), sum(expected.values())

    say(f"Restoring {objects} objects into {storage_where()} ...")
    for entry in manifest["storage"]["objects"]:
        report.already_in_storage += _object_restore(folder, entry)
        report.restored_objects += 1
        report.restored_bytes += entry["size"]

    report.pending_migrations = migrations_pending(manifest["database"]["migrations"])
    report.encrypted = encrypted_values_check(alias)
    return report


def _object_restore(folder: Path, entry: dict) -> int:
    """Write one object at its key; 1 if an object was already there (replaced)."""
    key = entry["key"]
    source = object_path(folder, entry["sha256"])
    existed = default_storage.exists(key)
    descriptor = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as handle:
        storage_put(key, handle)
    stored = default_storage.size(key)
    if stored != entry["size"]:
        raise BackupError(f"The object {key} was stored with {stored} bytes, not {entry['size']}.")
    return int(existed)


def sqlite_restore(source: Path, alias: str = "default") -> None:
    """The backup's database becomes the portal's, whole: copied beside it, checked, then
    put in its place (its old write-ahead log removed first, never replayed onto it)."""
    target = sqlite_path(alias)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.restoring")
    with contextlib.suppress(FileNotFoundError):
        staged.unlink()
    with private_file(staged):
        pass
    backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    copy = sqlite3.connect(staged)
    try:
        backup.backup(copy)
        verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        copy.close()
        backup.close()
    if verdict != "ok":
        staged.unlink()
        raise BackupError(f"The backup's database fails SQLite's integrity check: {verdict}.")
    for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm"), Path(f"{target}-journal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
    staged.chmod(FILE_MODE)
    staged.replace(target)


def pg_restore(source: Path, *, drop: bool, alias: str = "default") -> None:
    """``pg_restore`` into the configured database; with ``drop`` (a forced restore) every
    table of its schema is dropped first (also those of migrations newer than the backup),
    then everything else the dump makes again, so nothing of what was there stays behind."""
    if drop:
        with pg_connect(alias) as connection, connection.cursor() as cursor:
            names = list(pg_tables(cursor))
            if names:
                cursor.execute(
                    sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(
                        sql.SQL(", ").join(sql.Identifier(name) for name in names)
                    )
                )
    conninfo, env = pg_command_env(alias)
    restored = subprocess.run(
        [
            pg_binary("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            # Forced: what the dump holds beside tables (the audit log's append-only
            # trigger function) is dropped before it is made again.
            *(["--clean", "--if-exists"] if drop else []),
            f"--dbname={conninfo}",
            str(source),
        ],
        capture_output=True,
        env=env,
        check=False,
    )
    if restored.returncode != 0:
        raise BackupError(f"pg_restore failed: {restored.stderr.decode(errors='replace').strip()}")
