"""``manage.py backup FOLDER``: the database and every stored object, in one new folder.

Runs while the portal serves (SQLite's online backup API; ``pg_dump`` on one snapshot).
The folder gets a manifest (rows per table, each object's SHA-256, the migrations, the
portal's version) and names the key material to keep apart, which it never holds
(config/backup.py; docs/operations/backup.md).
"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from config.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database and the stored files into a new folder (0700, files 0600)."

    def add_arguments(self, parser):
        parser.add_argument("folder", help="A folder that does not exist yet, or is empty.")

    def handle(self, *args, folder: str, **options):
        started = time.monotonic()
        try:
            report = backup_create(Path(folder), say=self.stdout.write)
        except BackupError as error:
            raise CommandError(str(error)) from None
        manifest = report.manifest
        database, storage = manifest["database"], manifest["storage"]
        self.stdout.write(
            self.style.SUCCESS(f"Backup written to {report.folder} ({manifest['shape']} shape)")
        )
        self.stdout.write(
            f"  Database   {database['engine']}: {len(database['tables'])} tables, "
            f"{database['rows']} rows, {len(database['migrations'])} migrations applied "
            f"({database['file']}, {database['size']} bytes)"
        )
        self.stdout.write(
            f"  Objects    {storage['count']} ({storage['bytes']} bytes) from {storage['where']}, "
            "each with its SHA-256 in manifest.json"
        )
        for entry in report.left_out:
            self.stdout.write(
                self.style.WARNING(f"  Left out   {entry['key']!r}: the key {entry['reason']}")
            )
        for label, counts in manifest["encrypted_values"].items():
            self.stdout.write(f"  Encrypted  {label}: {counts['decrypted']} values")
        self.stdout.write(
            self.style.WARNING("  Not in the backup: keep this key material apart, as safely:")
        )
        for item in manifest["key_material"]:
            self.stdout.write(f"    {item['name']}: {item['where']}")
        self.stdout.write(f"  Took {time.monotonic() - started:.1f} s")
