"""Two-factor authentication with TOTP (django-otp): who needs it, enrolment, QR codes."""

from __future__ import annotations

import base64
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import User
from portal.accounts.twofactor import confirmed_device, two_factor_required

__all__ = ["confirmed_device", "two_factor_required"]

DEVICE_NAME = "Authenticator app"


def enrolment_device(user: User) -> TOTPDevice:
    """The user's unconfirmed device, made on first use, so the QR code stays the
    same while they type their first code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


@transaction.atomic
def enrolment_confirm(*, device: TOTPDevice, token: str) -> bool:
    """Confirm the device with its first code; any other device of the user goes."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    if not device.verify_token(token):
        return False
    TOTPDevice.objects.filter(user_id=device.user_id).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return True


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
    image = qrcode.make(
        text,
        image_factory=qrcode.image.svg.SvgPathFillImage,
        box_size=10,
        border=2,
    )
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
