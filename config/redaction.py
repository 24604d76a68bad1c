"""Taking credentials and contact details out of log lines.

A patient's short link (``/r/<id>``) is the credential to their file request; a
password-reset link (``/password-reset/<uid>/<token>/``) and a staff invitation
(``/invitations/<token>/``) are credentials to an account; an API key is one to an
account's data; a mobile number is the patient's. None of them belongs in a log, and
every log line is a place they could land: Django's request log (``Not Found:
/r/<id>``), a web server's access log, an SMS provider's error message quoted in a
warning. Query strings carry patient data (API, FHIR and dashboard searches by name,
date of birth, number), so no query string is logged at all. A path is judged as the
server reads it, percent-decoded (``/%72/<id>`` is ``/r/<id>``), in any case, however
many times encoded. ``redact()`` rewrites them; ``RedactingFilter`` applies it to every record a
handler writes (config.settings LOGGING puts it on every handler), and
config.gunicorn_logging applies it to gunicorn's access and error logs.

The development console backends (SMS and e-mail) write to standard output
themselves, not through logging, so ``make run`` still shows the text messages and
reset e-mails a developer needs.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, unquote

REDACTED = "[redacted]"

# Where a URL path starts in a log line: a slash, or one percent-encoded once or more
# (a Referer or a request target may carry either). It runs to the next space or quote.
PATH_TOKEN = re.compile(r"(?:/|%(?:25)*2f)[^\s\"'<>]*", re.IGNORECASE)
PERCENT_ESCAPE = re.compile(r"%[0-9a-f]{2}", re.IGNORECASE)
# Rounds of percent-decoding before a path still encoded is given up on (and hidden).
DECODE_ROUNDS = 4
# What a redacted path may keep as it is when written back; anything else is encoded,
# so a decoded path can never break a log line (a newline, a quote) or hide a space.
PATH_SAFE = "/[]:@!$&'()*+,;=-._~"

# Credentials in URL paths, matched on the decoded path, in any case, with any number
# of slashes between segments (what a client or proxy would still route).
PATH_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # /r/<short link id>, any segment but the token-free pages after the check.
    (
        re.compile(r"(/+r/+)(?!upload(?=[/?#\s\"']|$))[^/?#\s\"']+", re.IGNORECASE),
        rf"\1{REDACTED}",
    ),
    # /password-reset/<uidb64>/<token>/ (and the set-password step after it).
    (
        re.compile(
            r"(/+password-reset/+)(?!sent/|complete/)[^/?#\s\"']+/+[^/?#\s\"']+",
            re.IGNORECASE,
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(/+invitations/+)[^/?#\s\"']+", re.IGNORECASE), rf"\1{REDACTED}"),
]

# Digits as people and providers write a phone number: runs of digits with single
# spaces, dashes or dots between, and the national trunk "(0)" after a country code.
_GROUPED = r"(?:[\s.-]?\(?\d\)?)"
PATTERNS: list[tuple[re.Pattern[str], str]] = [
    *PATH_PATTERNS,
    # API keys: cfp_<prefix>_<secret>; the prefix is shown in the dashboard, the rest never.
    (re.compile(r"\b(cfp_[a-z0-9]{8}_)[A-Za-z0-9_-]+"), rf"\1{REDACTED}"),
    # International numbers: +44…, the URL-encoded plus, or 00 44…; with or without
    # spaces, dashes and a "(0)" (E.164 is how the portal stores and sends them).
    (
        re.compile(
            r"(?<![\w+%-])(?:\+|%2[Bb]|00)\s?[1-9]\d{0,2}(?:[\s.-]?\(0\))?" + _GROUPED + r"{6,13}"
            r"(?![\w-])"
        ),
        f"+{REDACTED}",
    ),
    # A UK number written in its national form (07911 123456, (07911) 123 456) or as
    # E.164 without its plus (447911123456): the portal's region, its patients' phones.
    (
        re.compile(r"(?<![\w+%.-])(?:\(0\d{3,4}\)|0\d)" + _GROUPED + r"{8,9}(?![\w-])"),
        REDACTED,
    ),
    (re.compile(r"(?<![\w+%.-])44\d{10}(?![\w-])"), f"+{REDACTED}"),
]


def fully_decoded(text: str) -> str | None:
    """``text`` percent-decoded until nothing changes; None if it is still encoded
    after ``DECODE_ROUNDS`` rounds (no client encodes a path that deeply by mistake)."""
    for _ in range(DECODE_ROUNDS):
        decoded = unquote(text)
        if decoded == text:
            return text
        text = decoded
    return None if PERCENT_ESCAPE.search(text) else text


def redact_path_token(match: re.Match[str]) -> str:
    """One URL path (or a URL from its first slash) as it may be logged: the query
    string dropped (it carries names, dates of birth, numbers: API, FHIR and dashboard
    searches alike), and credentials redacted in the path as the server decodes it,
    however many times it was encoded and in whatever case."""
    token = match.group(0)
    path, mark, query = token.partition("?")
    decoded = fully_decoded(path)
    if decoded is None:
        path = f"/{REDACTED}"
    else:
        redacted = decoded
        for pattern, replacement in PATTERNS:
            redacted = pattern.sub(replacement, redacted)
        if redacted != decoded:
            path = quote(redacted, safe=PATH_SAFE)
    return path + (f"?{REDACTED}" if query else mark)


def redact(text: str) -> str:
    text = PATH_TOKEN.sub(redact_path_token, text)
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_query(value):
    """A bare query string (gunicorn's ``%(q)s``): logged only as being there."""
    return REDACTED if isinstance(value, str) and value else value


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
