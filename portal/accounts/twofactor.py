"""Who must sign in with a second factor, and whether a session has done so.

One rule for every door a signed-in session can use (dashboard, admin, the
browsable API): superusers and account admins must use a TOTP code, and anyone
who has set one up must use it.
"""

from __future__ import annotations

from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import Staff, User


def two_factor_required(user: User) -> bool:
    """Superusers and every account admin must sign in with a code."""
    return bool(user.is_superuser or user.memberships.filter(role=Staff.Role.ADMIN).exists())


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def session_two_factor_satisfied(user) -> bool:
    """True when this session's user verified a code, or needs none and has none.

    ``user`` is the request's user as django-otp's middleware wraps it
    (``is_verified()``)."""
    is_verified = getattr(user, "is_verified", None)
    if callable(is_verified) and is_verified():
        return True
    return not two_factor_required(user) and confirmed_device(user) is None
