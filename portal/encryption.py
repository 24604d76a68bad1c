"""Secrets the portal must read back (webhook signing secrets), encrypted at rest.

A webhook secret cannot be hashed like an API key: every delivery is signed with it. So it
is kept encrypted with Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``), and a
copy of the database, a backup or a support export reveals nothing that could forge our
signatures.

Keys: ``FIELD_ENCRYPTION_KEYS`` (Fernet keys, newest first, so a key can be rotated in by
putting it first and the old one second), or, when unset, a key derived from
``SECRET_KEY`` and each of ``SECRET_KEY_FALLBACKS``, so rotating Django's secret key the
documented way keeps old values readable. Values are stored as ``fernet:<token>``; a value
without the prefix is one written before encryption and is read as it is (the migration
that introduced the field encrypts those).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


def _derived_key(secret_key: str) -> bytes:
    digest = hashlib.sha256(b"clinic-file-portal field encryption\0" + secret_key.encode())
    return base64.urlsafe_b64encode(digest.digest())


def fernet() -> MultiFernet:
    """The keys in force: the first encrypts, any of them decrypts."""
    configured = list(getattr(settings, "FIELD_ENCRYPTION_KEYS", None) or [])
    if configured:
        try:
            return MultiFernet([Fernet(key) for key in configured])
        except ValueError as error:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64-encoded bytes)."
            ) from error
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([Fernet(_derived_key(secret)) for secret in secrets])


def encrypt(plaintext: str) -> str:
    return PREFIX + fernet().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption (see the module's docstring)
    try:
        return fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "An encrypted value cannot be read with the keys in force: was SECRET_KEY or "
            "FIELD_ENCRYPTION_KEYS changed without keeping the old key as a fallback?"
        ) from error


class EncryptedTextField(models.TextField):
    """A text field stored encrypted; Python code sees the plaintext. Not searchable."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "" or value.startswith(PREFIX):
            return value
        return encrypt(value)
