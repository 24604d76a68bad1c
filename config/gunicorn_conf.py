"""gunicorn's one configuration, for both shapes.

- The embedded shape (``make run``, through ``manage.py run_embedded``):
  ``gunicorn -c config/gunicorn_conf.py``. No proxy in front, so the server protects
  itself from slow clients: ``gthread`` workers with the slow-client guard
  (config/gunicorn_worker.py) cut off a client that sends its request or headers (or the
  storage endpoint's form fields) too slowly, and one address holds at most half of a
  process's threads and 64 of its connections.
- The scaled shape (systemd, ``make run-scaled``): ``gunicorn -c deploy/gunicorn.conf.py``,
  which says ``behind_proxy`` and reads this. One gunicorn per port behind nginx, which
  buffers request bodies, so plain ``gthread`` workers; each is told its address and its
  run folder, so several on one host never share a pid file or a control socket.

Either way: a umask of 077 (what the server writes in the data folder is private to its
user); ``timeout`` replaces a worker that stops answering its arbiter; access and error
logs on standard output through the portal's redacting logger (short-link paths are
credentials); request line and header limits at gunicorn's strict defaults.

Environment (the command line may still override any setting):

    WEB_CONCURRENCY     processes (default 2); GUNICORN_WORKERS, its former name in the
                        scaled shape, is still read, with a warning
    GUNICORN_THREADS    threads per process (default 8 embedded, 4 behind nginx)
    GUNICORN_TIMEOUT    seconds a request may take (default 60; nginx waits 90)
    PORT                the embedded shape's port on 127.0.0.1 (default 8000)
    PORTAL_BIND         the scaled shape's address (default 127.0.0.1:8101)
    PORTAL_RUN_DIR      the scaled shape's pid file and control socket (default
                        PORTAL_DATA_DIR/run)
    GUNICORN_FORWARDED_ALLOW_IPS  whose X-Forwarded-Proto to believe behind nginx
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from config.data_folder import make_private_umask

# What the server writes (into the data folder, above all) is private to its user, whatever
# the umask of whoever started it; the workers it forks inherit this.
make_private_umask()

# deploy/gunicorn.conf.py says so before it reads this module.
BEHIND_PROXY_VARIABLE = "PORTAL_GUNICORN_BEHIND_PROXY"
behind_proxy = os.environ.get(BEHIND_PROXY_VARIABLE) == "1"


def worker_count() -> int:
    if "WEB_CONCURRENCY" not in os.environ and "GUNICORN_WORKERS" in os.environ:
        sys.stderr.write(
            "gunicorn: GUNICORN_WORKERS is read for now; set WEB_CONCURRENCY instead.\n"
        )
        return int(os.environ["GUNICORN_WORKERS"])
    return int(os.environ.get("WEB_CONCURRENCY", "2"))


wsgi_app = "config.wsgi:application"
workers = worker_count()
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
keepalive = 5
# A worker process is replaced after this many requests (bounds slow memory growth).
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
# Short links, reset and invitation links, API keys and mobiles never reach the log.
logger_class = "config.gunicorn_logging.RedactingLogger"

if behind_proxy:
    bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8101")
    _name = bind.replace(":", "-").replace("/", "_")
    _data_dir = os.environ.get("PORTAL_DATA_DIR") or str(
        Path(__file__).resolve().parent.parent / "data"
    )
    _run_dir = Path(os.environ.get("PORTAL_RUN_DIR") or Path(_data_dir) / "run")
    _run_dir.mkdir(parents=True, exist_ok=True)
    worker_class = "gthread"
    threads = int(os.environ.get("GUNICORN_THREADS", "4"))
    graceful_timeout = 20
    pidfile = str(_run_dir / f"gunicorn-{_name}.pid")
    # gunicorn 23+: one control socket per instance (older versions ignore the setting).
    control_socket = str(_run_dir / f"gunicorn-{_name}.ctl")
    # Behind nginx on the same host: believe its X-Forwarded-Proto.
    forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
    proc_name = f"portal-web-{_name}"
else:
    bind = f"127.0.0.1:{os.environ.get('PORT', '8000')}"
    worker_class = "config.gunicorn_worker.GuardedThreadWorker"
    threads = int(os.environ.get("GUNICORN_THREADS", "8"))
    graceful_timeout = 10
    # No control socket: it lives at one path per user ($HOME/.gunicorn/gunicorn.ctl), so
    # two servers on one machine would take it from each other.
    control_socket_disable = True
