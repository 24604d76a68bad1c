"""Signed-in sessions for tests, verified with a TOTP code where the user needs one."""

from __future__ import annotations

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice


def verify_session(client, user) -> None:
    """Mark ``client``'s signed-in session as verified with the user's TOTP device
    (made if missing), as the sign-in's code step does."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    device = device or TOTPDevice.objects.create(user=user, name="Test phone", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def sign_in(client, user, *, verified: bool = True):
    client.force_login(user)
    if verified:
        verify_session(client, user)
    return client
