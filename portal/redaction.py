"""Taking credentials and contact details out of log lines.

A patient's short link (``/r/<id>``) is the credential to their file request; a
password-reset link (``/password-reset/<uid>/<token>/``) and a staff invitation
(``/invitations/<token>/``) are credentials to an account; an API key is one to an
account's data; a mobile number is the patient's. None of them belongs in a log, and
every log line is a place they could land: Django's request log (``Not Found:
/r/<id>``), a web server's access log, an SMS provider's error message quoted in a
warning. ``redact()`` rewrites them; ``RedactingFilter`` applies it to every record a
handler writes (portal.settings LOGGING puts it on every handler), and
portal.gunicorn_logging applies it to gunicorn's access and error logs.

The development console backends (SMS and e-mail) write to standard output
themselves, not through logging, so ``make run`` still shows the text messages and
reset e-mails a developer needs.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # /r/<short link id>, any segment but the token-free pages after the check.
    (re.compile(r"(/r/)(?!upload(?=[/?#\s\"']|$))[^/?#\s\"']+"), rf"\1{REDACTED}"),
    # /password-reset/<uidb64>/<token>/ (and the set-password step after it).
    (
        re.compile(r"(/password-reset/)(?!sent/|complete/)[^/?#\s\"']+/[^/?#\s\"']+"),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(/invitations/)[^/?#\s\"']+"), rf"\1{REDACTED}"),
    # API keys: cfp_<prefix>_<secret>; the prefix is shown in the dashboard, the rest never.
    (re.compile(r"\b(cfp_[a-z0-9]{8}_)[A-Za-z0-9_-]+"), rf"\1{REDACTED}"),
    # Mobile numbers in E.164 (how the portal stores and sends them), with or without
    # the URL-encoded plus.
    (re.compile(r"(?<![\w+])(?:\+|%2[Bb])[1-9]\d{7,14}\b"), f"+{REDACTED}"),
]


def redact(text: str) -> str:
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value):
    return redact(value) if isinstance(value, str) else value


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (its arguments merged in) and any exception text
    before a handler formats it. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: leave as is
            return True
        redacted = redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
