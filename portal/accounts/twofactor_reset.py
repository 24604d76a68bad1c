"""Resetting someone's two-factor sign-in when they lost the phone with their
authenticator app.

Everyone signs in with a code (portal.accounts.twofactor), so without a reset a lost
phone locks a person out for good. A reset removes every authenticator the person has
and ends every session they have open: the next sign-in, after the password, sets up
a new authenticator before any page opens (the sign-in's enrolment step), and no
session left open somewhere keeps working with the old factor gone.

Between the reset and that sign-in the password alone decides who sets up the new
app, so a reset is a deliberate act by someone who answers for the person: an account
admin of their clinic (``staff_two_factor_reset``), or the operator from the command
line when the clinic has no admin who can sign in (``operator_two_factor_reset``).
A clinic's admin may not reset someone whose sign-in also opens another clinic, nor
one of the operator's administrators, whose sign-in opens every clinic: that reset
would weaken a door the admin does not answer for. Each reset is an audit event.
"""

from __future__ import annotations

from dataclasses import dataclass

import django_otp
from django.db import transaction

from portal.accounts.models import Staff, User
from portal.accounts.services import StaffChangeError
from portal.accounts.sessions import user_sessions_end
from portal.audit.models import AuditEvent
from portal.audit.services import Actor, audit_record

ACTION = "staff.two_factor_reset"
OPERATOR = Actor(AuditEvent.ActorKind.SYSTEM, "", "operator (manage.py twofactor_reset)")


@dataclass(frozen=True)
class TwoFactorReset:
    """What a reset removed: authenticators (confirmed or half set up) and sessions."""

    authenticators_removed: int
    sessions_ended: int

    def as_detail(self) -> dict:
        return {
            "authenticators_removed": self.authenticators_removed,
            "sessions_ended": self.sessions_ended,
        }


def nothing_to_reset(name: str) -> str:
    return (
        f"{name} has not set up an authenticator app yet: they set one up when they next sign in."
    )


def staff_two_factor_reset_refusal(*, actor: Staff, staff: Staff) -> str | None:
    """Why ``actor`` may not reset ``staff``'s two-factor sign-in, in words; None if
    they may. The confirmation page asks this before showing anything, the reset again
    under lock."""
    if not actor.is_admin or actor.account_id != staff.account_id or staff.user_id is None:
        return "Only an account admin of the clinic can reset a member's two-factor sign-in."
    if staff.user_id == actor.user_id:
        return (
            "You cannot reset your own two-factor sign-in here. "
            "To move it to a new phone, use Security; if you lost your phone, "
            "ask another account admin."
        )
    user = staff.user
    if user.is_superuser or user.is_staff:
        return (
            f"{staff} is one of the portal operator's administrators: "
            "only the portal's operator can reset their two-factor sign-in."
        )
    if user.memberships.exclude(account_id=staff.account_id).exists():
        return (
            f"{staff} also signs in to another clinic on this portal, so only "
            "the portal's operator can reset their two-factor sign-in."
        )
    if not any(django_otp.devices_for_user(user, confirmed=None)):
        return nothing_to_reset(str(staff))
    return None


def _reset(user: User) -> TwoFactorReset:
    """Remove every device of ``user`` (any kind, confirmed or not) and end their
    sessions. The caller holds the user's row locked, as enrolment does, so a code
    being confirmed at this moment either lands before (and is removed) or after."""
    devices = list(django_otp.devices_for_user(user, confirmed=None))
    for device in devices:
        device.delete()
    return TwoFactorReset(
        authenticators_removed=len(devices), sessions_ended=user_sessions_end(user=user)
    )


def _locked_user(user_id) -> User:
    return User.objects.select_for_update().get(pk=user_id)


@transaction.atomic
def staff_two_factor_reset(*, actor: Staff, staff: Staff, request=None) -> TwoFactorReset:
    """An account admin (``actor``) resets a colleague's two-factor sign-in.

    Raises StaffChangeError, saying why, when ``actor`` may not (see
    ``staff_two_factor_reset_refusal``); nothing changes then."""
    if staff.user_id is not None:
        _locked_user(staff.user_id)
    refusal = staff_two_factor_reset_refusal(actor=actor, staff=staff)
    if refusal is not None:
        raise StaffChangeError(refusal)
    result = _reset(staff.user)
    audit_record(
        account=staff.account,
        actor=Actor.for_staff(actor),
        action=ACTION,
        target=staff,
        request=request,
        detail=result.as_detail(),
    )
    return result


class UnknownAddress(Exception):
    """No one signs in with this address."""


def user_for_address(email: str) -> User | None:
    """The person who signs in as ``email`` as an operator types it (spaces around
    it, other capitals): the exact address first, else the only one equal ignoring case."""
    typed = email.strip()
    if not typed:
        return None
    exact = User.objects.filter(email=typed).first()
    if exact is not None:
        return exact
    matches = list(User.objects.filter(email__iexact=typed)[:2])
    return matches[0] if len(matches) == 1 else None


@transaction.atomic
def operator_two_factor_reset(*, email: str) -> tuple[User, TwoFactorReset]:
    """The operator resets anyone's two-factor sign-in (e.g. a clinic's only admin).

    Recorded in the log of each clinic the person belongs to, the operator as actor,
    or outside any clinic for someone who belongs to none. Raises UnknownAddress, or
    StaffChangeError when there is nothing to reset; nothing changes then."""
    user = user_for_address(email)
    if user is None:
        raise UnknownAddress(email)
    user = _locked_user(user.pk)
    if not any(django_otp.devices_for_user(user, confirmed=None)):
        raise StaffChangeError(nothing_to_reset(user.email))
    result = _reset(user)
    memberships = list(user.memberships.select_related("account"))
    for staff in memberships:
        audit_record(
            account=staff.account,
            actor=OPERATOR,
            action=ACTION,
            target=staff,
            detail=result.as_detail(),
        )
    if not memberships:
        audit_record(
            account=None, actor=OPERATOR, action=ACTION, target=user, detail=result.as_detail()
        )
    return user, result
