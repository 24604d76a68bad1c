"""gunicorn's settings for the embedded shape: ``gunicorn -c portal/gunicorn_conf.py portal.wsgi``.

``make run`` (through ``manage.py run_embedded``) serves with it; the command line may
still override any setting (``--bind``, ``--workers``). It needs no proxy in front, so
it protects itself from slow clients; the scaled shape's deploy/gunicorn.conf.py runs
behind nginx, which buffers request bodies instead.

- ``gthread`` workers with the slow-client guard (portal/gunicorn_worker.py): a client
  that sends its request slowly, or its headers (or the storage endpoint's form fields)
  past their deadline, is cut off instead of holding a thread, and one address holds at
  most half of a process's threads and 64 of its connections, so neither a few slow
  clients nor a crowd from one address can stop the server answering;
- a umask of 077: what the server writes in the data folder is private to its user;
- ``timeout``: a worker that stops answering its arbiter (stuck in C code, say) is
  replaced; ``graceful_timeout`` bounds a stop;
- request line and header limits stay at gunicorn's defaults, which are strict;
- access log on standard output, through the portal's redacting logger when it exists
  (short-link paths are credentials).
"""

from __future__ import annotations

import os

from portal.data_folder import make_private_umask

# What the server writes (into the data folder, above all) is private to its user, whatever
# the umask of whoever started it; the workers it forks inherit this.
make_private_umask()

bind = f"127.0.0.1:{os.environ.get('PORT', '8000')}"
worker_class = "portal.gunicorn_worker.GuardedThreadWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 10
keepalive = 5
# A worker process is replaced after this many requests (bounds slow memory growth).
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
# No gunicornc control socket: it lives at one path per user ($HOME/.gunicorn/gunicorn.ctl),
# so two servers on one machine would take it from each other.
control_socket_disable = True


def _redacting_logger_class() -> str | None:
    """The gunicorn Logger subclass portal/gunicorn_logging.py defines, if that file exists."""
    try:
        from portal import gunicorn_logging
    except ImportError:
        return None
    from gunicorn.glogging import Logger

    for value in vars(gunicorn_logging).values():
        if (
            isinstance(value, type)
            and issubclass(value, Logger)
            and value is not Logger
            and value.__module__ == gunicorn_logging.__name__
        ):
            return f"{value.__module__}.{value.__qualname__}"
    return None


if redacting_logger := _redacting_logger_class():
    logger_class = redacting_logger
