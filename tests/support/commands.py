"""The command lines that start the portal's own processes, shared by the tests'
stack (tests/support/stack.py, tests/support/worker.py) and the benchmarks
(benchmarks/stack.py), so a test and a benchmark run the same web server and worker."""

from __future__ import annotations

import sys


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
