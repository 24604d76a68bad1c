"""Two-factor authentication with TOTP (django-otp): who needs it, enrolment, QR codes.

Enrolment secrets live in the session that shows them, not in the database: each
enrolment session (a sign-in attempt, or a visit to Security) gets a fresh random
key, and a device row exists only once its first code was right. Whoever saw an
earlier enrolment page (another session, another tab's earlier attempt) holds a key
that no confirmed device will ever have.
"""

from __future__ import annotations

import base64
import enum
import time
from io import BytesIO

from django.db import transaction
from django.http import HttpRequest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from portal.accounts.models import User
from portal.accounts.twofactor import confirmed_device, two_factor_required

__all__ = ["confirmed_device", "two_factor_required"]

DEVICE_NAME = "Authenticator app"
ENROLMENT_SESSION_KEY = "dashboard_totp_enrolment"


class EnrolmentResult(enum.Enum):
    CONFIRMED = "confirmed"
    WRONG_CODE = "wrong_code"
    # A confirmed device exists that this enrolment may not replace.
    ALREADY_ENROLLED = "already_enrolled"


def enrolment_key(request: HttpRequest, *, user: User, purpose: str) -> str:
    """The hex TOTP key this session shows ``user`` for ``purpose``; made on first use.

    The same session sees the same key while it types its first code (a reload keeps
    the QR code). A new purpose (a new sign-in attempt) or another user gets a new
    key, and the user's unconfirmed devices left by older code are removed."""
    held = request.session.get(ENROLMENT_SESSION_KEY) or {}
    if held.get("user_id") == str(user.pk) and held.get("purpose") == purpose and held.get("key"):
        return held["key"]
    key = default_key()
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    request.session[ENROLMENT_SESSION_KEY] = {
        "user_id": str(user.pk),
        "purpose": purpose,
        "key": key,
    }
    return key


def enrolment_forget(request: HttpRequest) -> None:
    request.session.pop(ENROLMENT_SESSION_KEY, None)


def enrolment_preview(user: User, key: str) -> TOTPDevice:
    """An unsaved device for the QR code and typed key; never stored as it is."""
    return TOTPDevice(user=user, name=DEVICE_NAME, key=key, confirmed=False)


def code_matches_key(key: str, token: str) -> int | None:
    """The time step at which ``token`` is right for ``key`` (None if it is not),
    with the tolerance django-otp uses for confirmed devices."""
    preview = TOTPDevice(key=key)
    totp = TOTP(preview.bin_key, preview.step, preview.t0, preview.digits, 0)
    totp.time = time.time()
    try:
        if totp.verify(int(token), preview.tolerance):
            return totp.t()
    except ValueError:
        return None
    return None


@transaction.atomic
def enrolment_confirm(
    *, user: User, key: str, token: str, replacing: TOTPDevice | None = None
) -> tuple[EnrolmentResult, TOTPDevice | None]:
    """Make ``key`` the user's authenticator once its first code is right.

    Without ``replacing`` this only ever enrols someone with no confirmed device; to
    replace one, the caller passes the device the session was verified with (and
    re-checked), and it must still be the user's current one. The user's row is
    locked, so two sessions enrolling at once cannot both win."""
    User.objects.select_for_update().filter(pk=user.pk).first()
    current = confirmed_device(user)
    if current is not None and (replacing is None or current.pk != replacing.pk):
        return EnrolmentResult.ALREADY_ENROLLED, None
    step = code_matches_key(key, token)
    if step is None:
        return EnrolmentResult.WRONG_CODE, None
    TOTPDevice.objects.filter(user=user).delete()
    # last_t: the code just typed cannot be typed again to verify a session.
    device = TOTPDevice.objects.create(
        user=user, name=DEVICE_NAME, key=key, confirmed=True, last_t=step
    )
    return EnrolmentResult.CONFIRMED, device


@transaction.atomic
def token_verify(*, device: TOTPDevice, token: str) -> bool:
    """Check a sign-in code; django-otp throttles repeated failures and refuses replays."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    return bool(device.verify_token(token))


def two_factor_disable(*, user: User) -> None:
    TOTPDevice.objects.filter(user=user).delete()


def secret_for_display(device: TOTPDevice) -> str:
    """The base32 secret in groups of four, for typing into an authenticator app."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_data_uri(text: str) -> str:
    """An SVG QR code as a data: URI (the CSP allows data: images): no extra request."""
    # Imported here: only the enrolment page draws a code, and the admin's modules (with
    # this one) load at every Django start.
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(
        text,
        image_factory=qrcode.image.svg.SvgPathFillImage,
        box_size=10,
        border=2,
    )
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
