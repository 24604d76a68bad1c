"""The command lines that start the portal's own processes, shared by the tests'
stack (tests/support/stack.py, tests/support/worker.py) and the benchmarks
(benchmarks/stack.py), so a test and a benchmark run the same web server and worker; and
a fresh Python with the portal's settings, for what a process does or loads as it starts."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings


def gunicorn_command(*, port: int, workers: int, threads: int, timeout: int) -> list[str]:
    """gunicorn serving ``config.wsgi`` on loopback; ``threads`` > 1 selects the gthread
    worker, which keeps connections alive."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        str(timeout),
        "--graceful-timeout",
        "5",
        "--error-logfile",
        "-",
    ]


def celery_worker_command(*, hostname: str, concurrency: int) -> list[str]:
    """A prefork Celery worker without gossip, mingle or heartbeat: nothing but tasks,
    so start-up is quick and logs stay about the work."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency}",
        "--pool=prefork",
        f"--hostname={hostname}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


def python_in_a_fresh_process(
    code: str, *, env_changes: dict[str, str] | None = None, without: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    """``code`` run by a new Python in the checkout, with this process's environment (less
    the variables ``without`` names, plus ``env_changes``) and the portal's settings: what
    a process of the portal does or loads when it starts, seen from outside."""
    env = {name: value for name, value in os.environ.items() if name not in without}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", **(env_changes or {})})
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
