"""Who must sign in with a second factor, and whether a session has done so.

One rule for every door a signed-in session can use (dashboard, admin, the
browsable API): everyone who signs in uses a TOTP code. Every member of a clinic
can open patients' records and photos, and the operator's admins every clinic's,
so a password alone (phished, reused, guessed) must never be enough; a person with
no clinic today may be given one while their session is open.
"""

from __future__ import annotations

from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import User


def two_factor_required(user: User) -> bool:
    """Everyone signs in with a code: there is no role that may do without."""
    return True


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def session_two_factor_satisfied(user) -> bool:
    """True when this session's user verified a code.

    ``user`` is the request's user as django-otp's middleware wraps it
    (``is_verified()``)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(callable(is_verified) and is_verified())
