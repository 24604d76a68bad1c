from django.core.management.base import BaseCommand
from django.db import transaction

from portal.accounts.models import Account, Staff, User
from portal.accounts.services import account_create, api_key_create, staff_create

DEMO_CLINIC = "Demo Clinic"
DEMO_EMAIL = "demo@clinic.example"
DEMO_PASSWORD = "demo-password-change-me"


class Command(BaseCommand):
    help = "Create the demo clinic for `make run` (once) and print how to sign in."

    def add_arguments(self, parser):
        parser.add_argument("--port", default="8000")

    @transaction.atomic
    def handle(self, *args, port, **options):
        account = Account.objects.filter(name=DEMO_CLINIC).first()
        if account is None:
            account = account_create(name=DEMO_CLINIC)
            staff_create(
                account=account,
                email=DEMO_EMAIL,
                password=DEMO_PASSWORD,
                display_name="Dr Demo",
                role=Staff.Role.ADMIN,
            )
        if not User.objects.filter(is_superuser=True).exists():
            User.objects.filter(email=DEMO_EMAIL).update(is_staff=True, is_superuser=True)
        issued = api_key_create(account=account, name="make run")
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Clinic File Portal: demo clinic ready",
                    f"  Dashboard   {base}/   (admin: {base}/admin/)",
                    f"  Sign in     {DEMO_EMAIL} / {DEMO_PASSWORD}",
                    f"  Account id  {account.id}",
                    f"  API key     {issued.plaintext}",
                    f"  API docs    {base}/api/docs/",
                    f"  Try it      curl -H 'X-API-Key: {issued.plaintext}' {base}/api/v1/patients",
                    "",
                ]
            )
        )
