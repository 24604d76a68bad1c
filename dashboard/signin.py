"""Signing in, as a small state machine.

    anonymous ──password──▶ password_ok(needs_verify) ──code──────────▶ signed_in
        │                 ╲
        │                  ▶ password_ok(needs_enrol) ──first code──▶ signed_in
        └──password (only if no code were required nor set up)──────▶ signed_in

Everyone who signs in uses a code (portal.accounts.twofactor), so today the last
path is never taken; it stays so the rule lives in one place. A correct password
alone does not sign anyone in: the session only remembers, for a few minutes, whose
password was right. Which second step follows is never taken from the URL the
browser asks for: ``current_step`` derives it afresh on every request from the
session and the database, so a person with a confirmed authenticator is always in
``needs_verify`` (never ``needs_enrol``, which would let whoever knows the password
replace the authenticator), and a page asked for out of order sends the browser to
the step it is really at. The session's key and CSRF token change when the password
is accepted (a key held before then sees nothing of the half-signed-in state) and
again on the last transition, the only one that authenticates the session.

Each password step starts a new *attempt* (a random id in the session): what an
earlier attempt showed (an enrolment secret in another tab) is not valid for it.
"""

from __future__ import annotations

import enum
import secrets
import time
from dataclasses import dataclass

import django_otp
from django.conf import settings
from django.contrib import auth, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from portal.accounts.models import User
from portal.accounts.twofactor import confirmed_device, two_factor_required

PENDING_USER_ID = "dashboard_signin_user_id"
PENDING_BACKEND = "dashboard_signin_backend"
PENDING_SINCE = "dashboard_signin_since"
PENDING_NEXT = "dashboard_signin_next"
PENDING_ATTEMPT = "dashboard_signin_attempt"
PENDING_KEYS = (PENDING_USER_ID, PENDING_BACKEND, PENDING_SINCE, PENDING_NEXT, PENDING_ATTEMPT)


class SignInState(enum.Enum):
    ANONYMOUS = "anonymous"
    NEEDS_VERIFY = "password_ok:needs_verify"
    NEEDS_ENROL = "password_ok:needs_enrol"
    SIGNED_IN = "signed_in"


# The page that serves each state (SIGNED_IN goes to where the person was going).
STEP_PAGE = {
    SignInState.ANONYMOUS: "dashboard:login",
    SignInState.NEEDS_VERIFY: "dashboard:login-verify",
    SignInState.NEEDS_ENROL: "dashboard:login-enrol",
}

OUT_OF_ORDER_MESSAGE = {
    SignInState.ANONYMOUS: "Please sign in with your e-mail address and password first.",
    SignInState.NEEDS_VERIFY: (
        "Your account already has an authenticator app: enter its code to sign in. "
        "To replace the app, sign in first, then go to Security."
    ),
    SignInState.NEEDS_ENROL: "Set up your authenticator app to finish signing in.",
}
TIMED_OUT_MESSAGE = "Your sign-in timed out. Please enter your password again."


@dataclass(frozen=True)
class SignInStep:
    """Where a session is in the sign-in, and for whom (None when anonymous)."""

    state: SignInState
    user: User | None = None
    attempt: str = ""


def current_step(request: HttpRequest) -> SignInStep:
    """The session's state, derived from the session and the database, never the URL."""
    if request.user.is_authenticated:
        return SignInStep(SignInState.SIGNED_IN, request.user)
    user = pending_user(request)
    if user is None:
        return SignInStep(SignInState.ANONYMOUS)
    attempt = request.session.get(PENDING_ATTEMPT, "")
    if confirmed_device(user) is not None:
        return SignInStep(SignInState.NEEDS_VERIFY, user, attempt)
    if two_factor_required(user):
        return SignInStep(SignInState.NEEDS_ENROL, user, attempt)
    # The code is no longer needed (e.g. role changed meanwhile): start again.
    pending_clear(request)
    return SignInStep(SignInState.ANONYMOUS)


def password_accepted(request: HttpRequest, user: User, next_url: str) -> SignInState:
    """anonymous --password--> needs_verify | needs_enrol | signed_in."""
    if confirmed_device(user) is None and not two_factor_required(user):
        sign_in(request, user)
        return SignInState.SIGNED_IN
    pending_begin(request, user, next_url)
    return current_step(request).state


def second_factor_passed(request: HttpRequest, step: SignInStep, device) -> str:
    """needs_verify --code--> signed_in, needs_enrol --first code--> signed_in.

    Returns where to go next."""
    if step.state not in (SignInState.NEEDS_VERIFY, SignInState.NEEDS_ENROL):
        raise ValueError(f"No second factor is awaited in state {step.state.value}.")
    next_url = safe_next(request, pending_next(request))
    sign_in(request, step.user, device)
    return next_url


def redirect_to_step(request: HttpRequest, step: SignInStep) -> HttpResponseRedirect:
    """A page asked for out of order: send the browser to the step it is at, and say why."""
    if step.state is SignInState.SIGNED_IN:
        return redirect(settings.LOGIN_REDIRECT_URL)
    timed_out = step.state is SignInState.ANONYMOUS and PENDING_USER_ID in request.session
    if timed_out:
        pending_clear(request)
    messages.info(request, TIMED_OUT_MESSAGE if timed_out else OUT_OF_ORDER_MESSAGE[step.state])
    return redirect(STEP_PAGE[step.state])


def pending_begin(request: HttpRequest, user: User, next_url: str) -> None:
    """Remember whose password was right; a new attempt replaces any earlier one.

    The session gets a new key and a new CSRF token first: a key someone else held
    before the password was typed (planted in this browser, e.g. from their own
    patient-link session) must not see this half-signed-in state, let alone enrol an
    authenticator in it. ``sign_in`` changes both again at the last step."""
    request.session.cycle_key()
    rotate_token(request)
    request.session[PENDING_USER_ID] = str(user.pk)
    request.session[PENDING_BACKEND] = user.backend
    request.session[PENDING_SINCE] = time.time()
    request.session[PENDING_NEXT] = next_url
    request.session[PENDING_ATTEMPT] = secrets.token_urlsafe(16)


def pending_user(request: HttpRequest) -> User | None:
    """The user whose password was right, if that was recent; else None."""
    user_id = request.session.get(PENDING_USER_ID)
    since = request.session.get(PENDING_SINCE, 0)
    if not user_id or time.time() - since > settings.DASHBOARD_SIGN_IN_PENDING_SECONDS:
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is not None:
        user.backend = request.session.get(PENDING_BACKEND)
    return user


def pending_next(request: HttpRequest) -> str:
    return request.session.get(PENDING_NEXT) or settings.LOGIN_REDIRECT_URL


def pending_clear(request: HttpRequest) -> None:
    for key in PENDING_KEYS:
        request.session.pop(key, None)


def sign_in(request: HttpRequest, user: User, device=None) -> None:
    """Authenticate the session (Django cycles its key) and record the verified device."""
    pending_clear(request)
    auth.login(request, user, backend=getattr(user, "backend", None))
    if device is not None:
        django_otp.login(request, device)


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return settings.LOGIN_REDIRECT_URL
