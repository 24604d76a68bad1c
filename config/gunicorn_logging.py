"""gunicorn's logger with credentials taken out of its access and error logs.

gunicorn's access log writes each request line, path and Referer as they came:
``GET /r/<short link id>`` would put a patient's credential in every log file. This
``Logger`` redacts every value of the access-log atoms (config.redaction: credentials
in decoded paths, query strings, mobile numbers) before the line is formatted,
whatever ``access_log_format`` says, and puts the same
``RedactingFilter`` on the error log's handlers.

Use it with ``logger_class = "config.gunicorn_logging.RedactingLogger"`` in a gunicorn
config (config/gunicorn_conf.py finds it by itself), or ``--logger-class`` on the
command line.
"""

from __future__ import annotations

import os

from gunicorn.glogging import Logger

from config.logs import JsonFormatter
from config.redaction import RedactingFilter, redact_query, redact_value
from portal.requestid import HEADER as REQUEST_ID_HEADER
from portal.requestid import request_id_bound


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        # LOG_FORMAT=json (config.logs): gunicorn's own lines as JSON objects too. Read from
        # the environment: gunicorn's master sets up logging before Django's settings load.
        as_json = os.environ.get("LOG_FORMAT", "plain") == "json"
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                    handler.addFilter(RedactingFilter())
                if as_json:
                    handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        """The access line carries the request's id (the one the answer echoes)."""
        answered = next(
            (
                value
                for name, value in getattr(resp, "headers", None) or []
                if name.lower() == REQUEST_ID_HEADER.lower()
            ),
            None,
        )
        with request_id_bound(answered):
            super().access(resp, req, environ, request_time)

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = {
            name: redact_value(value)
            for name, value in super().atoms(resp, req, environ, request_time).items()
        }
        # A bare query string (``%(q)s``, ``%({query_string}e)s``) has no path for
        # redact() to know it by.
        for name in ("q", "{query_string}e"):
            if name in atoms:
                atoms[name] = redact_query(atoms[name])
        return atoms
