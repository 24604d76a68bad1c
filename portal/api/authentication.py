"""API authentication: an account's key in any of the three forms the seeds use,
or a signed-in staff member's session (for the browsable API and the dashboard)."""

from __future__ import annotations

import base64
import binascii

from rest_framework import authentication, exceptions

from portal.accounts.services import api_key_authenticate
from portal.accounts.twofactor import session_two_factor_satisfied
from portal.api.caller import Caller

INVALID_KEY_MESSAGE = "The API key is invalid or has been revoked."


def key_from_request(request) -> str | None:
    """The API key the request carries, or None.

    Accepted as ``X-API-Key: <key>`` (Claros), ``Authorization: Bearer <key>``
    (X-on) or HTTP Basic with the key as user name and no password (Cliniko).
    """
    header_key = request.META.get("HTTP_X_API_KEY", "").strip()
    if header_key:
        return header_key
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed(
                "The Basic credentials are not valid Base64 of 'key:'."
            ) from None
        return decoded.partition(":")[0].strip() or None
    return None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        plaintext = key_from_request(request)
        if plaintext is None:
            return None
        api_key = api_key_authenticate(plaintext=plaintext)
        if api_key is None:
            raise exceptions.AuthenticationFailed(INVALID_KEY_MESSAGE)
        caller = Caller(account=api_key.account, api_key=api_key)
        return caller, caller

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """A signed-in staff member, acting for the account their session has chosen."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        if not session_two_factor_satisfied(request._request.user):
            raise exceptions.AuthenticationFailed(
                "This session has not been verified with an authentication code; "
                "sign in again with your code, or use an API key."
            )
        staff = staff_for_session(request._request, user)
        if staff is None:
            return None
        return user, Caller(account=staff.account, staff=staff)


def staff_for_session(request, user):
    """The membership this session acts through: the one it chose, else the first."""
    memberships = user.memberships.select_related("account", "user")
    chosen = request.session.get("account_id") if hasattr(request, "session") else None
    if chosen:
        staff = memberships.filter(account_id=chosen).first()
        if staff is not None:
            return staff
    return memberships.order_by("created_at").first()
