"""``manage.py run_embedded``: the embedded shape (``make run``) under one supervisor.

Starts gunicorn (config/gunicorn_conf.py: gthread workers with the slow-client guard),
one Celery worker and Celery beat, restarts whichever dies (config/supervisor.py), and
stops them all on Ctrl-C. The web server is the production one; Django's ``runserver``
is only for ``make dev``.
"""

from __future__ import annotations

import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from config.data_folder import make_private_umask
from config.supervisor import Program, Supervisor


def embedded_programs(*, port: int, concurrency: int) -> list[Program]:
    """The web server first (the supervisor waits for it), then the worker and beat."""
    python = sys.executable
    return [
        Program(
            "web",
            [
                python,
                "-m",
                "gunicorn",
                "-c",
                str(settings.BASE_DIR / "config" / "gunicorn_conf.py"),
                "--bind",
                f"127.0.0.1:{port}",
                "config.wsgi:application",
            ],
        ),
        Program(
            "worker",
            [
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel=INFO",
                f"--concurrency={concurrency}",
                "--hostname=embedded@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
        ),
        Program(
            "beat",
            [
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel=INFO",
                f"--schedule={settings.CELERY_BEAT_SCHEDULE_FILENAME}",
            ],
        ),
    ]


class Command(BaseCommand):
    help = "Serve the portal with gunicorn, a Celery worker and beat, restarting any that dies."
    # The supervisor only starts other processes; each of them loads the project itself.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args, port, concurrency, **options):
        # DEBUG is off in the embedded shape: it is what a clinic runs for real, patients
        # reach it, and a debug page shows code, settings and tracebacks to anyone.
        env = {**os.environ, "PORT": str(port), "PYTHONUNBUFFERED": "1", "DEBUG": "false"}
        # Everything the web server, the worker and beat write is private to this user
        # (the data folder holds patients' data); they inherit the umask from here.
        make_private_umask()
        supervisor = Supervisor(
            embedded_programs(port=port, concurrency=concurrency),
            cwd=settings.BASE_DIR,
            env=env,
            web_port=port,
        )
        sys.exit(supervisor.run())
