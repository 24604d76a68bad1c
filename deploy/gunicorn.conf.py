"""gunicorn settings for the scaled shape: ``gunicorn -c deploy/gunicorn.conf.py portal.wsgi``.

One gunicorn per port behind nginx (deploy/nginx/portal.conf.template). Each is told its
address and its run folder by environment variables, so several on one host never share
a file: the pid file and gunicorn 23+'s control socket (by default one path per user,
~/.gunicorn/gunicorn.ctl, which a second gunicorn would take over) live in
PORTAL_RUN_DIR (default: PORTAL_DATA_DIR/run) under the port's name.

    PORTAL_BIND                 127.0.0.1:8101
    PORTAL_RUN_DIR              where the pid file and control socket go
    GUNICORN_WORKERS            processes (default 2)
    GUNICORN_THREADS            threads per process (default 4: gthread)
    GUNICORN_TIMEOUT            seconds a request may take (default 60; nginx waits 90)
"""

import os
from pathlib import Path

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8101")
_name = bind.replace(":", "-").replace("/", "_")
_data_dir = os.environ.get("PORTAL_DATA_DIR") or str(
    Path(__file__).resolve().parent.parent / "data"
)
_run_dir = Path(os.environ.get("PORTAL_RUN_DIR") or Path(_data_dir) / "run")
_run_dir.mkdir(parents=True, exist_ok=True)

wsgi_app = "portal.wsgi:application"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
# A worker is replaced after this many requests, bounding any slow leak.
max_requests = 2000
max_requests_jitter = 200
pidfile = str(_run_dir / f"gunicorn-{_name}.pid")
# gunicorn 23+: one control socket per instance (older versions ignore the setting).
control_socket = str(_run_dir / f"gunicorn-{_name}.ctl")
# Behind nginx on the same host: believe its X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"
errorlog = "-"
# Short links, reset and invitation links, API keys and mobiles never reach the log.
logger_class = "portal.gunicorn_logging.RedactingLogger"
proc_name = f"portal-web-{_name}"
