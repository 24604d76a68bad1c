import json

from django.core.management.base import BaseCommand

from portal.accounts.models import Account
from portal.accounts.services import account_create, api_key_create


class Command(BaseCommand):
    help = "Create a clinic account and its first API key; prints one JSON line."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--trial", action="store_true", help="Trial plan: 10 files, 1 MB.")

    def handle(self, *args, name, trial, **options):
        account = account_create(name=name, plan=Account.Plan.TRIAL if trial else Account.Plan.FULL)
        issued = api_key_create(account=account, name="Initial key")
        self.stdout.write(json.dumps({"account_id": str(account.id), "api_key": issued.plaintext}))
