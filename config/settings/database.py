"""The database: SQLite in the data folder (embedded), or PostgreSQL from
``PORTAL_DATABASE_URL`` (scaled), with the time budgets that keep a hung database from
holding every request."""

from __future__ import annotations

from config.environment import env
from config.settings.base import DATA_DIR

# --- Database ---------------------------------------------------------------

DATABASES = {
    "default": env.db("PORTAL_DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'portal.sqlite3'}"),
}
# Time budgets for PostgreSQL, so that a database that hangs (frozen, or a network that
# drops packets) is answered as 503 with Retry-After within seconds, well inside the
# proxy's and gunicorn's timeouts, instead of holding every request for as long as it
# lasts: connecting (libpq's connect_timeout, 2 s at least); each statement
# (PostgreSQL's statement_timeout, which also bounds lock waits; 0 turns it off, e.g.
# for a migration that rewrites a large table); each wait for an answer on this side, a
# second longer (config/postgres/base.py: a frozen server enforces no timeout of its
# own); and the check of a kept connection before a request uses it.
DATABASE_CONNECT_TIMEOUT_SECONDS = env.int("PORTAL_DATABASE_CONNECT_TIMEOUT_SECONDS", default=3)
DATABASE_STATEMENT_TIMEOUT_SECONDS = env.float(
    "PORTAL_DATABASE_STATEMENT_TIMEOUT_SECONDS", default=5.0
)
DATABASE_WAIT_BUDGET_SECONDS = (
    DATABASE_STATEMENT_TIMEOUT_SECONDS + 1.0 if DATABASE_STATEMENT_TIMEOUT_SECONDS else 0.0
)
DATABASE_HEALTH_CHECK_BUDGET_SECONDS = 1.0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the Celery worker share
    # one SQLite file without "database is locked" errors.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("PORTAL_DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "config.postgres"  # Django's, with a wait budget
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options.setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT_SECONDS)
    if DATABASE_STATEMENT_TIMEOUT_SECONDS:
        _options["options"] = (
            f"{_options.get('options', '')} -c statement_timeout="
            f"{round(DATABASE_STATEMENT_TIMEOUT_SECONDS * 1000)}"
        ).strip()
