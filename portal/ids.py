"""Identifiers from the outside world: parsed once, and never a 500 when malformed."""

from __future__ import annotations

import uuid


def parse_uuid(value) -> uuid.UUID | None:
    """The UUID in ``value``, or None when it is not one (so lookups answer 404)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None
