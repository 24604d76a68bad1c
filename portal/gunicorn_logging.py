"""gunicorn's logger with credentials taken out of its access and error logs.

gunicorn's access log writes each request line, path and Referer as they came:
``GET /r/<short link id>`` would put a patient's credential in every log file. This
``Logger`` redacts every value of the access-log atoms (portal.redaction: credentials
in decoded paths, query strings, mobile numbers) before the line is formatted,
whatever ``access_log_format`` says, and puts the same
``RedactingFilter`` on the error log's handlers.

Use it with ``logger_class = "portal.gunicorn_logging.RedactingLogger"`` in a gunicorn
config (portal/gunicorn_conf.py finds it by itself), or ``--logger-class`` on the
command line.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from portal.redaction import RedactingFilter, redact_query, redact_value


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                    handler.addFilter(RedactingFilter())

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
