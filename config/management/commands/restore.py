"""``manage.py restore FOLDER``: put a backup (``manage.py backup``) back.

Every checksum of the manifest is checked before anything is written; an installation
that holds anything is refused unless ``--force``; and it says what it restored, and how
many encrypted values the keys in force decrypt (config/backup.py;
docs/operations/backup.md). Stop the portal's processes first.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from config.backup import BackupError, key_material, restore_run


class Command(BaseCommand):
    help = "Restore a backup folder into the configured database and storage."

    def add_arguments(self, parser):
        parser.add_argument("folder", help="A folder written by manage.py backup.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace the database and write over the storage even if they hold data.",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Check the backup's checksums only; change nothing.",
        )

    def handle(self, *args, folder: str, force: bool, check: bool, **options):
        started = time.monotonic()
        try:
            report = restore_run(Path(folder), force=force, check_only=check, say=self.stdout.write)
        except BackupError as error:
            raise CommandError(str(error)) from None
        manifest = report.manifest
        self.stdout.write(
            f"Backup of {manifest.get('created_at')}, portal {manifest.get('portal_version')}, "
            f"{manifest.get('shape')} shape"
        )
        self.stdout.write(
            f"  Checked    the database file and {report.checked_objects} objects "
            f"({report.checked_bytes} bytes): every SHA-256 as in the manifest"
        )
        names = ", ".join(item["name"] for item in key_material())
        if report.keys_fit is True:
            self.stdout.write("  Keys       the keys in force decrypt this backup's values")
        elif report.keys_fit is False:
            self.stdout.write(
                self.style.ERROR(
                    "  Keys       the keys in force do NOT decrypt this backup's encrypted "
                    f"values: set the key material it was made with ({names})"
                )
            )
        if check:
            if report.keys_fit is False:
                raise CommandError(
                    "The backup is whole, but the keys in force do not decrypt its encrypted "
                    f"values: set {names} as they were when it was made. Nothing was changed."
                )
            self.stdout.write(self.style.SUCCESS("The backup is whole. Nothing was changed."))
            return
        self.stdout.write(
            f"  Database   {report.tables} tables, {report.rows} rows restored, each table's "
            "rows as in the manifest"
        )
        replaced = (
            f", {report.already_in_storage} of them written over objects already there"
            if report.already_in_storage
            else ""
        )
        self.stdout.write(
            f"  Objects    {report.restored_objects} ({report.restored_bytes} bytes) restored"
            + replaced
        )
        for label, counts in report.encrypted.items():
            total = counts["decrypted"] + counts["failed"]
            line = f"  Encrypted  {label}: {counts['decrypted']} of {total} decrypt"
            self.stdout.write(
                self.style.SUCCESS(line) if not counts["failed"] else self.style.ERROR(line)
            )
        if report.pending_migrations:
            self.stdout.write(
                self.style.WARNING(
                    f"  This code has {len(report.pending_migrations)} migrations the backup "
                    "had not applied: run manage.py migrate before starting the portal."
                )
            )
        self.stdout.write(f"  Took {time.monotonic() - started:.1f} s")
        if report.undecryptable:
            raise CommandError(
                f"{report.undecryptable} encrypted values cannot be decrypted with the keys in "
                f"force. Set the key material the backup was made with ({names}) and run "
                "manage.py restore --check, or the webhook endpoints must be given new secrets."
            )
        self.stdout.write(self.style.SUCCESS("Restored."))
