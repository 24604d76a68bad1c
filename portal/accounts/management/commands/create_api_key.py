import json

from django.core.management.base import BaseCommand

from portal.accounts.management.commands.create_staff import account_or_error
from portal.accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for an account; prints it once as one JSON line."

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="The account's id.")
        parser.add_argument("--name", default="API key")

    def handle(self, *args, account, name, **options):
        issued = api_key_create(account=account_or_error(account), name=name)
        self.stdout.write(json.dumps({"api_key": issued.plaintext}))
