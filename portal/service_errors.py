"""What a service raises when it refuses: a sentence for the person who asked, and a kind.

Services know nothing of HTTP. Each refusal says what went wrong in words the caller can
act on and which kind of refusal it is; ``portal.api.errors`` is the one place that turns
a kind into a status code and each door's error body (the portal's ``{"error", "code"}``,
Cliniko's ``{"message"}``, Medable's fault, the patient page's ``{"error"}``), so the
doors of one operation cannot answer the same refusal differently by accident.
"""

from __future__ import annotations

from typing import ClassVar


class ServiceError(Exception):
    """A refusal. ``field`` names the input to blame where there is one (``fields`` when
    several are); ``code`` is a machine code finer than the kind, for the doors that
    send one (``trial_quota_exceeded``)."""

    kind: ClassVar[str] = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        fields: dict[str, list[str]] | None = None,
        code: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        self.fields = fields
        self.code = code


class Invalid(ServiceError):
    """What was sent cannot be used as it is (a malformed id, an empty photo)."""

    kind = "invalid"


class NotFound(ServiceError):
    """What was named does not exist for this caller (or is not theirs to see)."""

    kind = "not_found"


class Conflict(ServiceError):
    """The thing exists, but its state forbids this now (a request that has ended)."""

    kind = "conflict"


class TooLarge(ServiceError):
    """More bytes than any upload may have."""

    kind = "too_large"


class QuotaExceeded(ServiceError):
    """The account's allowance (the free trial's files or space) has no room for this."""

    kind = "quota_exceeded"


class TooMany(ServiceError):
    """Too much asked for too quickly or still outstanding: wait, then try again."""

    kind = "too_many"


KINDS = (Invalid, NotFound, Conflict, TooLarge, QuotaExceeded, TooMany)
