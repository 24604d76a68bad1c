"""The limit on password reset e-mails to one address.

Anyone may ask for a reset link for any address, so unlimited asks flood a
colleague's inbox. Asks are counted per address as authentication compares it (NFKC,
case-folded: ``CLIN.B@…`` and one with a full-width c are one address), whether or
not an account uses it, so a refusal answers the same either way and tells nothing
about who has an account. An ask is counted when it is let through, never when it is
refused, so a flood of refused asks does not push the next allowed one further away.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac

from portal.accounts.models import PasswordResetThrottle
from portal.accounts.signin_throttle import sign_in_name
from portal.sendlimits import DAY, Refusal, SendLimit


def reset_limit() -> SendLimit:
    return SendLimit(
        cooldown=timedelta(seconds=settings.PASSWORD_RESET_COOLDOWN_SECONDS),
        per_day=settings.PASSWORD_RESET_EMAILS_PER_DAY,
    )


def address_digest(email: str) -> str:
    """The row an address's asks are counted under: the address as sign-in compares it
    (the sign-in throttle's own folding), so every spelling of one address shares it."""
    folded = sign_in_name(email).casefold()
    return salted_hmac("portal.password-reset-throttle", folded).hexdigest()


def password_reset_claim(*, email: str, now: datetime | None = None) -> Refusal | None:
    """Count one ask for a reset link to ``email``, or refuse it (nothing counted).

    Call inside the transaction that sends the e-mail: the address's row stays locked
    until then, so asks at once wait for each other, and an e-mail that fails to send
    rolls its count back."""
    now = now or timezone.now()
    PasswordResetThrottle.objects.filter(last_sent_at__lt=now - DAY).delete()
    digest = address_digest(email)
    PasswordResetThrottle.objects.get_or_create(key_digest=digest, defaults={"last_sent_at": now})
    row = PasswordResetThrottle.objects.select_for_update().get(key_digest=digest)
    sent = [
        moment
        for moment in (datetime.fromisoformat(text) for text in row.sent_at)
        if moment > now - DAY
    ]
    refusal = reset_limit().refusal(sent, now)
    if refusal is not None:
        return refusal
    row.sent_at = [moment.isoformat() for moment in [*sent, now]]
    row.last_sent_at = now
    row.save(update_fields=["sent_at", "last_sent_at"])
    return None
