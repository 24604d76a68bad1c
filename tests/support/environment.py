"""Environments for portal processes a test starts as a deployer of this release would."""

from __future__ import annotations

from config.environment import FORMER_NAMES, PREFIX


def under_current_names(environment: dict[str, str]) -> dict[str, str]:
    """``environment`` with each variable set under its former name (``DATABASE_URL``) set
    under its ``PORTAL_`` name instead, the way this release's environment file names them
    (the suite's own servers are announced under the former names)."""
    renamed = {}
    for name, value in environment.items():
        if name in FORMER_NAMES:
            renamed.setdefault(PREFIX + name, value)
        else:
            renamed[name] = value
    return renamed
