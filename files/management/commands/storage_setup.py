"""``manage.py storage_setup``: create or check the S3 bucket the portal needs.

Creates the bucket if missing, lets the portal's origin POST to it (CORS), blocks public
access, sets default encryption and a lifecycle rule (files/storage/bucket_setup.py). Safe to
run again: what is already right is left alone. ``--check`` changes nothing and exits 1
if something is missing, or if the store cannot say (a store without the public-access-block
API cannot show that objects are private): an item the operator has checked by other means
is named with ``--accept-unsupported`` to pass.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from files.storage.bucket_setup import bucket_items
from files.storage.objects import storage_is_s3


class Command(BaseCommand):
    help = "Create or check the S3 bucket: CORS, public-access block, encryption, lifecycle."
    # Its own report says what the start-up check would (files.checks); not twice.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Report only; exit 1 if anything is missing or cannot be verified.",
        )
        parser.add_argument(
            "--accept-unsupported",
            action="append",
            default=[],
            metavar="ITEM",
            help=(
                "An item this store does not offer, checked by other means (e.g. "
                "public-access-block): --check passes without verifying it. Repeatable."
            ),
        )

    def handle(self, *args, check: bool = False, accept_unsupported=(), **options):
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
        accepted = {
            name.replace("-", " ").replace("_", " ").strip().lower() for name in accept_unsupported
        }
        unverified = [
            item.name for item in items if item.state == "unsupported" and item.name not in accepted
        ]
        if unverified:
            self.stdout.write(
                self.style.WARNING(
                    f"Not verified: {', '.join(unverified)}. This store does not offer "
                    + ("it" if len(unverified) == 1 else "them")
                    + ", so the portal can neither set nor check "
                    + ("it" if len(unverified) == 1 else "them")
                    + ": make sure by other means (no bucket policy or ACL makes an object "
                    "public, the store is not reachable from outside but through the "
                    "portal's tickets)."
                )
            )
        if check and unverified and not failing:
            options_hint = " ".join(
                f"--accept-unsupported {name.replace(' ', '-')}" for name in unverified
            )
            raise CommandError(
                f"Bucket {bucket}: cannot verify {', '.join(unverified)}: this store does not "
                f"offer {'it' if len(unverified) == 1 else 'them'}. Check by other means, then "
                f"run storage_setup --check {options_hint} to accept it."
            )
        if failing:
            hint = "" if check else " (see the errors above)"
            raise CommandError(
                f"Bucket {bucket} needs: {', '.join(failing)}."
                + (" Run manage.py storage_setup to apply." if check else hint)
            )
