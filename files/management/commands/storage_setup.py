"""``manage.py storage_setup``: create or check the S3 bucket the portal needs.

Creates the bucket if missing, lets the portal's origin POST to it (CORS), blocks public
access, sets default encryption and a lifecycle rule (files/bucket_setup.py). Safe to
run again: what is already right is left alone. ``--check`` changes nothing and exits 1
if something is missing.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from files.bucket_setup import bucket_items
from files.tickets import storage_is_s3


class Command(BaseCommand):
    help = "Create or check the S3 bucket: CORS, public-access block, encryption, lifecycle."
    # Its own report says what the start-up check would (files.checks); not twice.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="Report only; exit 1 if anything is missing."
        )

    def handle(self, *args, check: bool = False, **options):
        if not storage_is_s3(default_storage):
            self.stdout.write(
                "The embedded file storage is in use (no S3_BUCKET): nothing to set up."
            )
            return
        bucket = default_storage.bucket_name
        client = default_storage.connection.meta.client
        items = bucket_items(client=client, bucket=bucket, apply=not check)
        styles = {
            "ok": self.style.SUCCESS,
            "applied": self.style.SUCCESS,
            "unsupported": self.style.WARNING,
            "missing": self.style.ERROR,
            "error": self.style.ERROR,
        }
        self.stdout.write(f"Bucket {bucket}:")
        for item in items:
            self.stdout.write(
                styles[item.state](f"  {item.name:<20} {item.state:<12} {item.detail}")
            )
        failing = [f"{item.name} ({item.detail})" for item in items if item.needs_action]
        if failing:
            hint = "" if check else " (see the errors above)"
            raise CommandError(
                f"Bucket {bucket} needs: {', '.join(failing)}."
                + (" Run manage.py storage_setup to apply." if check else hint)
            )
