"""``manage.py demo_setup``: the demo clinic ``make run`` shows, and the banner that says how in.

Run at every ``make run``: the clinic and its admin are made once; the API key is new each
time (keys are stored hashed, so an old one cannot be shown again), and the keys earlier
runs made are revoked, so they do not pile up as working credentials.
"""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from portal.accounts.models import Account, ApiKey, Staff, User
from portal.accounts.services import account_create, api_key_create, api_key_revoke, staff_create

DEMO_CLINIC = "Demo Clinic"
DEMO_EMAIL = "demo@clinic.example"
DEMO_PASSWORD = "demo-password-change-me"
DEMO_KEY_NAME = "make run"


def data_location() -> str:
    """Where this install keeps its data, in words."""
    places = [f"{settings.DATA_DIR}"]
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        places.append(f"database: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}")
    options = settings.STORAGES["default"].get("OPTIONS", {})
    if "bucket_name" in options:
        places.append(f"files: S3 bucket {options['bucket_name']}")
    return "; ".join(places)


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
        earlier_keys = ApiKey.objects.filter(
            account=account, name=DEMO_KEY_NAME, revoked_at__isnull=True
        )
        for earlier_key in earlier_keys:
            api_key_revoke(api_key=earlier_key)
        issued = api_key_create(account=account, name=DEMO_KEY_NAME)
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Clinic File Portal: demo clinic ready",
                    f"  Dashboard   {base}/   (admin: {base}/admin/)",
                    f"  Sign in     {DEMO_EMAIL} / {DEMO_PASSWORD}",
                    "              then set up two-factor sign-in: the first sign-in asks you to",
                    "              scan a QR code with an authenticator app and type its code",
                    f"  Account id  {account.id}",
                    f"  API key     {issued.plaintext}   (new each run; the last one is revoked)",
                    f"  API docs    {base}/api/docs/",
                    f"  Try it      curl -H 'X-API-Key: {issued.plaintext}' {base}/api/v1/patients",
                    f"  Links sent  {settings.PORTAL_PUBLIC_BASE_URL.rstrip('/')}/r/…"
                    "   (PORTAL_PUBLIC_BASE_URL changes it)",
                    f"  Data        {data_location()}",
                    "              (database, files, broker, keys: copy it to back up, delete it"
                    " to start again)",
                    "",
                ]
            )
        )
