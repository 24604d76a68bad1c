"""The per-install secret: made on first run, kept in the data folder, never in the repository.

Outside production a ``SECRET_KEY`` may be left unset (``make run``, a trial on a
laptop). A constant in the repository would then sign every install's sessions and
storage policies alike, and anyone could forge them. Instead the first process to
start writes 64 random bytes (URL-safe Base64) to ``<data folder>/secret_key``, mode
0600, and every later process reads the same file.

Made atomically: the secret is written and flushed to a private temporary file,
which is then *linked* to its final name; a link fails if the name exists, so of two
processes starting at once exactly one wins, and the other reads the winner's file,
which was complete before it had a name. Only the standard library, because
``config.settings`` imports this before Django is set up.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_FILE_NAME = "secret_key"
MIN_SECRET_LENGTH = 50


class InstallSecretError(RuntimeError):
    """The secret file could not be made or read; the message says what to do."""


def install_secret(data_dir: Path) -> str:
    """The install's secret from ``data_dir``, made there on first use."""
    path = Path(data_dir) / SECRET_FILE_NAME
    try:
        return read_secret(path)
    except FileNotFoundError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        made = secrets.token_urlsafe(64)
        temporary = path.with_name(f".{SECRET_FILE_NAME}.{os.getpid()}.{secrets.token_hex(8)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(made + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process won the race
                os.link(temporary, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
    except OSError as failure:
        raise InstallSecretError(
            f"SECRET_KEY is not set and the per-install secret cannot be written to {path} "
            f"({failure.strerror}). Set SECRET_KEY, or make the data folder writable."
        ) from failure
    return read_secret(path)


def read_secret(path: Path) -> str:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise InstallSecretError(
            f"{path} can be read by other users (mode {mode:o}); run `chmod 600 {path}`."
        )
    secret = path.read_text().strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise InstallSecretError(
            f"{path} holds no usable secret ({len(secret)} characters). Delete it to make "
            "a new one (signed-in sessions and open upload tickets end), or set SECRET_KEY."
        )
    return secret


def derived_key(secret: str, *, purpose: str) -> str:
    """A key for one purpose, derived from ``secret`` (HMAC-SHA256 keyed by the secret over
    the purpose label): knowing one derived key, or anything it signed, tells nothing of
    the secret or of keys for other purposes."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()
