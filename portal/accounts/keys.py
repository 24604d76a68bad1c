"""The format of API keys: ``cfp_<prefix>_<secret>``.

The prefix is 8 characters that identify the key in lists and logs; the
secret is 32 random bytes. Both come from :mod:`secrets`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_SCHEME = "cfp"
PREFIX_ALPHABET = "abcdefghijkmnopqrstuvwxyz23456789"
PREFIX_LENGTH = 8


@dataclass(frozen=True)
class GeneratedKey:
    prefix: str
    plaintext: str
    digest: str


def key_digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate_key() -> GeneratedKey:
    prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    plaintext = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    return GeneratedKey(prefix=prefix, plaintext=plaintext, digest=key_digest(plaintext))


def parse_prefix(plaintext: str) -> str | None:
    """The prefix of a well-formed key, or None for anything else."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or len(parts[1]) != PREFIX_LENGTH:
        return None
    return parts[1]


def digests_match(plaintext: str, stored_digest: str) -> bool:
    return hmac.compare_digest(key_digest(plaintext), stored_digest)
