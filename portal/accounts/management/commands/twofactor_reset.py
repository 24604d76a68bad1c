from django.core.management.base import BaseCommand, CommandError

from portal.accounts.services import StaffChangeError
from portal.accounts.twofactor_reset import UnknownAddress, operator_two_factor_reset


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class Command(BaseCommand):
    help = (
        "Reset a person's two-factor sign-in (they lost their phone and no account admin "
        "of their clinic can do it): their authenticator apps are removed and their "
        "sessions signed out; they set up a new app at their next sign-in. Audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="The address the person signs in with.")

    def handle(self, *args, email, **options):
        try:
            user, result = operator_two_factor_reset(email=email)
        except UnknownAddress:
            raise CommandError(
                f"No one signs in as {email.strip()!r}. Nothing was changed."
            ) from None
        except StaffChangeError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from None
        self.stdout.write(
            f"Two-factor sign-in of {user.email} is reset: "
            f"{plural(result.authenticators_removed, 'authenticator app')} removed, "
            f"{plural(result.sessions_ended, 'session')} signed out. "
            "They set up a new authenticator app at their next sign-in, after their password."
        )
