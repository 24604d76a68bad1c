"""Signing in, in two steps when a code is needed.

A correct password alone does not sign in someone who uses (or must use) an
authentication code: the session only remembers, for a few minutes, whose
password was right. The session is authenticated, and its key cycled, once the
code is right too, so no half-signed-in session ever exists.
"""

from __future__ import annotations

import time

import django_otp
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from portal.accounts.models import User

PENDING_USER_ID = "dashboard_signin_user_id"
PENDING_BACKEND = "dashboard_signin_backend"
PENDING_SINCE = "dashboard_signin_since"
PENDING_NEXT = "dashboard_signin_next"


def pending_begin(request: HttpRequest, user: User, next_url: str) -> None:
    request.session[PENDING_USER_ID] = str(user.pk)
    request.session[PENDING_BACKEND] = user.backend
    request.session[PENDING_SINCE] = time.time()
    request.session[PENDING_NEXT] = next_url


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
    for key in (PENDING_USER_ID, PENDING_BACKEND, PENDING_SINCE, PENDING_NEXT):
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
