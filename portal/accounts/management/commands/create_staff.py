import json

from django.core.management.base import BaseCommand, CommandError

from portal.accounts.models import Account, Staff
from portal.accounts.services import staff_create
from portal.ids import parse_uuid


def account_or_error(account_id: str) -> Account:
    account = Account.objects.filter(pk=parse_uuid(account_id)).first()
    if account is None:
        raise CommandError(f"No account with id {account_id!r}.")
    return account


class Command(BaseCommand):
    help = "Create a staff member who can sign in to an account's dashboard."

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="The account's id.")
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--name", default="", help="Name shown to patients.")
        parser.add_argument("--admin", action="store_true", help="Make them an account admin.")

    def handle(self, *args, account, email, password, name, admin, **options):
        staff = staff_create(
            account=account_or_error(account),
            email=email,
            password=password,
            display_name=name,
            role=Staff.Role.ADMIN if admin else Staff.Role.CLINICIAN,
        )
        self.stdout.write(json.dumps({"staff_id": str(staff.id), "email": staff.user.email}))
