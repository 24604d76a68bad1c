"""Brute-force protection for the staff sign-in: per account and per client address.

Wrong passwords are counted twice: against the e-mail address typed (whether or not
such a user exists, so the answer never tells) and against the client address (IPv6
per /64, from portal.clientip). The address is counted as authentication looks it up
(``sign_in_name``: Django's sign-in form strips it and normalises it to NFKC), then
case-folded, so every spelling that can sign in as one person (a full-width letter, a
ligature, a combining accent, spaces around it, other capitals) shares one count.
After ``SIGN_IN_ACCOUNT_MAX_FAILURES`` (or ``SIGN_IN_ADDRESS_MAX_FAILURES``) failures
within ``SIGN_IN_FAILURE_WINDOW_SECONDS`` of each other that key is paused; each further
pause of the same key doubles, up to ``SIGN_IN_LOCKOUT_MAX_SECONDS`` (back-off, forgotten
after a day without a failure). The arithmetic is portal.throttle's, configured by the
two policies below. While paused the password is not even checked, so the right one is
refused too and a guess teaches nothing. A right password clears the account's count,
never the address's: one valid sign-in must not buy an address more guesses at others.

Why our own and not django-axes: axes forgets an account's earlier lockouts when
its cool-off ends (so no back-off without a second store of our own), its backend
demands ``request`` in every ``authenticate()`` call and answers a lockout from
its middleware rather than our sign-in page, and the check has to be serialised
with the password check per key (a row lock), as the patient date-of-birth
throttle already is. The rows live in the database because it is the one store
every web process shares in every deployment (the embedded one has no shared
cache). Every failure, pause and refusal is an audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.forms import UsernameField
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from portal.accounts.models import SignInThrottle, User
from portal.audit.services import Actor, audit_record
from portal.clientip import client_throttle_key
from portal.throttle import LockoutPolicy, Pause, latest_pause

Scope = SignInThrottle.Scope

# What a person is told while either key is paused (the page adds when to try again).
PAUSED_WORDS = "Too many wrong passwords: signing in is paused for your safety."


def policy(scope: str) -> LockoutPolicy:
    """The limits of one scope: 5 wrong passwords for an e-mail address, 20 from a
    client address, within 15 minutes of each other; pauses of 1 minute doubling up to
    an hour, the back-off remembered for a day."""
    maximum = (
        settings.SIGN_IN_ACCOUNT_MAX_FAILURES
        if scope == Scope.ACCOUNT
        else settings.SIGN_IN_ADDRESS_MAX_FAILURES
    )
    return LockoutPolicy(
        scope=str(scope),
        max_failures=maximum,
        lockout=timedelta(seconds=settings.SIGN_IN_LOCKOUT_SECONDS),
        lockout_max=timedelta(seconds=settings.SIGN_IN_LOCKOUT_MAX_SECONDS),
        window=timedelta(seconds=settings.SIGN_IN_FAILURE_WINDOW_SECONDS),
        memory=timedelta(seconds=settings.SIGN_IN_LOCKOUT_MEMORY_SECONDS),
    )


def client_key(request: HttpRequest) -> str:
    """The key the client's address is counted under: the one helper that knows how
    the address is found (trusted proxies, IPv6 /64), so it can change in one place."""
    return client_throttle_key(request) or "unknown"


EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length


def sign_in_name(typed: str) -> str:
    """The address exactly as authentication looks it up: the sign-in form's own field
    (``UsernameField``) strips it and normalises it to NFKC, except text longer than an
    address can be, which the form refuses before any password is checked."""
    return UsernameField(max_length=EMAIL_MAX_LENGTH).to_python(typed)


def key_digest(scope: str, value: str) -> str:
    """The row a value is counted under; the value as authentication sees it, case-folded
    (so "ß" and "ss", or "K" and the Kelvin sign, count as one)."""
    text = sign_in_name(value).casefold()
    return salted_hmac(f"portal.sign-in-throttle.{scope}", text).hexdigest()


@dataclass
class SignInKeys:
    """The two rows one sign-in is counted under, locked for the attempt."""

    account: SignInThrottle
    address: SignInThrottle
    email: str

    @property
    def rows(self) -> tuple[SignInThrottle, SignInThrottle]:
        return self.account, self.address


def keys_lock(*, email: str, request: HttpRequest) -> SignInKeys:
    """The account and address rows, made if new and locked (call inside a
    transaction): parallel guesses at one account or from one address wait for each
    other, so they can never exceed the limit. Always account first, then address."""
    rows = []
    for scope, value in ((Scope.ACCOUNT, email), (Scope.ADDRESS, client_key(request))):
        digest = key_digest(scope, value)
        SignInThrottle.objects.get_or_create(scope=scope, key_digest=digest)
        rows.append(SignInThrottle.objects.select_for_update().get(scope=scope, key_digest=digest))
    return SignInKeys(account=rows[0], address=rows[1], email=email)


def pause_of(keys: SignInKeys, now: datetime) -> Pause | None:
    """The pause in force for this attempt, if any (the later one when both are)."""
    return latest_pause(policy(row.scope).pause_of(row, now) for row in keys.rows)


def user_for_email(email: str) -> User | None:
    """The person a typed address means: the one authentication would check (the exact
    address), else the same address in other capitals."""
    name = sign_in_name(email)
    if not name or len(name) > EMAIL_MAX_LENGTH:
        return None
    users = User.objects.order_by("pk")
    return users.filter(email=name).first() or users.filter(email__iexact=name).first()


def audit_sign_in(*, action: str, request: HttpRequest, email: str, detail: dict) -> None:
    """An audit line about a sign-in attempt. The typed e-mail is never stored (people
    type passwords into it); the user is named when one has that address."""
    user = user_for_email(email)
    audit_record(
        account=None,
        actor=Actor.anonymous(),
        action=action,
        target=user,
        request=request,
        detail=detail,
    )


def refused_while_paused(*, keys: SignInKeys, pause: Pause, request: HttpRequest) -> None:
    now = timezone.now()
    audit_sign_in(
        action="auth.sign_in_throttled",
        request=request,
        email=keys.email,
        detail={"scopes": list(pause.scopes), "retry_after": pause.retry_after_seconds(now)},
    )


def failure_record(*, keys: SignInKeys, request: HttpRequest) -> Pause | None:
    """Count a wrong password against both keys; a key that reaches its limit pauses.
    Returns the pause that starts now, if one does."""
    now = timezone.now()
    audit_sign_in(action="auth.sign_in_failed", request=request, email=keys.email, detail={})
    started = []
    for row in keys.rows:
        row_policy = policy(row.scope)
        pause = row_policy.failure_count(row, now).pause
        if pause is not None:
            started.append(pause)
            audit_sign_in(
                action="auth.sign_in_paused",
                request=request,
                email=keys.email,
                detail={
                    "scope": row.scope,
                    "seconds": int(row_policy.lockout_length(row.lockouts).total_seconds()),
                    "lockouts": row.lockouts,
                },
            )
        row.save(update_fields=row_policy.columns.names())
    return latest_pause(started)


def success_record(*, keys: SignInKeys, user: User, request: HttpRequest) -> None:
    """A right password: the account's count and back-off start again (the address's
    do not, see the module's docstring)."""
    row, account_policy = keys.account, policy(Scope.ACCOUNT)
    account_policy.success_count(row, forget_back_off=True)
    row.save(update_fields=account_policy.columns.names())
    audit_record(
        account=None,
        actor=Actor.anonymous(),
        action="auth.password_accepted",
        target=user,
        request=request,
    )


def stale_rows_delete() -> int:
    """Rows with nothing to remember (no pause, no back-off left): kept small."""
    now = timezone.now()
    memory = policy(Scope.ACCOUNT).memory
    with transaction.atomic():
        deleted, _ = (
            SignInThrottle.objects.filter(
                Q(last_failure_at__lt=now - memory) | Q(last_failure_at__isnull=True)
            )
            .exclude(locked_until__gt=now)
            .delete()
        )
    return deleted
