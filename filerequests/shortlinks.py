"""Short links: the credential a patient receives by text message.

A short link id is 16 bytes (128 bits) from ``secrets``, the operating system's
CSPRNG (ASVS 5.0 11.5.1), written URL-safe Base64 without padding: 22
characters, so the whole link fits one SMS with room for the clinic's words.
"""

from __future__ import annotations

import re
import secrets

from django.conf import settings

SHORT_LINK_BYTES = 16
# URL-safe Base64 of 16 bytes is 22 characters; the pattern accepts only that shape,
# so anything else is "unknown" without touching the database.
SHORT_LINK_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22}$")


def short_link_id_new() -> str:
    return secrets.token_urlsafe(SHORT_LINK_BYTES)


def short_link_id_is_well_formed(value: str) -> bool:
    return bool(SHORT_LINK_PATTERN.match(value or ""))


def short_link_url(short_link_id: str) -> str:
    return f"{settings.PORTAL_PUBLIC_BASE_URL.rstrip('/')}/r/{short_link_id}"
