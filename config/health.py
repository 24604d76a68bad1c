"""Probes of the web process: ``/livez`` (the process answers), ``/readyz`` (it can serve:
the database, the broker and the storage each answered within a short budget) and
``/healthz`` (the same checks, with the worker's last heartbeat, for people and
``make run-scaled``).

Each check runs in a thread of its own and is waited for no longer than the budget, so a
dependency that hangs (a frozen server, a network that drops packets) makes the probe
answer 503 naming it within seconds instead of holding the request; the thread ends by
itself when the dependency's own timeout fires (config/settings.py sets one for each).

The probes need no sign-in, and a storage check writes, reads and deletes an object. So
probes share checks (``SharedCheck``): one that arrives while a dependency's check runs
waits for that check, and one within ``HEALTH_PROBE_REUSE_SECONDS`` of a check's end takes
its result. However many probes arrive, each dependency is checked about once a second
per process; a load balancer probing every few seconds still gets a fresh check each time.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.signals import setting_changed
from django.db import connection, connections
from django.dispatch import receiver
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app as celery_app
from portal.ops.services import heartbeat_latest

logger = logging.getLogger(__name__)

# Seconds /readyz waits for each dependency; /healthz allows a slow store a little more.
READY_BUDGET_SECONDS = 2.0
HEALTH_BUDGET_SECONDS = 5.0


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        # Connecting proves little (a frozen server still completes the handshake):
        # a broker that answers a command is one that can take a message.
        if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
            conn.default_channel.client.ping()


def check_storage() -> None:
    """Write, read back and remove a probe object: proves credentials and bucket too."""
    name = f"healthz/{uuid.uuid4().hex}"
    saved = default_storage.save(name, ContentFile(b"ok"))
    try:
        with default_storage.open(saved) as probe:
            if probe.read() != b"ok":
                raise RuntimeError("storage returned other bytes than were written")
    finally:
        default_storage.delete(saved)


CHECKS = {"database": check_database, "broker": check_broker, "storage": check_storage}


def run_in_own_thread(check) -> None:
    try:
        check()
    finally:
        connections.close_all()  # this thread's own database connection


# Threads of each check's own, kept between probes (a storage client is made once per
# thread, which takes longer than the check): a dependency that hangs holds only its
# own threads, so the others are still checked, and a check queued behind its hung
# ones is reported as not answering, which is the truth.
POOLS = {
    name: ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"probe-{name}") for name in CHECKS
}


@dataclass
class CheckRun:
    """One check of a dependency: when it started, and when it ended (set by the check's
    own thread before its future resolves, so a done future always has its end)."""

    started_at: float
    ended_at: float | None = None
    future: Future | None = None


class SharedCheck:
    """One dependency's latest check, which the probes share.

    A probe waits for the check in flight, or takes the result of one that ended less than
    ``HEALTH_PROBE_REUSE_SECONDS`` ago; otherwise it starts one. A check still running after
    the longest budget is taken for hung: the next probe starts another beside it (in the
    dependency's own threads), so a dependency that answers again is seen to, and a flood
    of probes while one hangs starts one check per budget, not one each."""

    def __init__(self, name: str):
        self.name = name
        self.lock = threading.Lock()
        self.latest: CheckRun | None = None

    def current(self) -> Future:
        with self.lock:
            now = time.monotonic()
            if self.latest is None or self.outlived(self.latest, now):
                self.latest = self.start(now)
            return self.latest.future

    def start(self, now: float) -> CheckRun:
        run = CheckRun(started_at=now)
        check = CHECKS[self.name]

        def timed() -> None:
            try:
                run_in_own_thread(check)
            finally:
                run.ended_at = time.monotonic()

        run.future = POOLS[self.name].submit(timed)
        return run

    @staticmethod
    def outlived(run: CheckRun, now: float) -> bool:
        if run.ended_at is not None:
            return now - run.ended_at >= settings.HEALTH_PROBE_REUSE_SECONDS
        return now - run.started_at > HEALTH_BUDGET_SECONDS

    def forget(self) -> None:
        with self.lock:
            self.latest = None


SHARED = {name: SharedCheck(name) for name in CHECKS}
# What the checks reach: when one changes (a test's override), no earlier result stands.
CHECKED_SETTINGS = {"DATABASES", "CELERY_BROKER_URL", "STORAGES", "HEALTH_PROBE_REUSE_SECONDS"}


@receiver(setting_changed)
def shared_checks_forget(*, setting: str, **kwargs) -> None:
    if setting in CHECKED_SETTINGS:
        for shared in SHARED.values():
            shared.forget()


def checks_run(budget: float) -> dict[str, str]:
    """Each check at once, each in its own thread; ``ok`` or why it failed, by name."""
    futures = {name: shared.current() for name, shared in SHARED.items()}
    wait(futures.values(), timeout=budget)
    results = {}
    for name, future in futures.items():
        if not future.done():
            results[name] = f"failed: no answer within {budget:g} s"
        elif (exc := future.exception()) is not None:
            results[name] = f"failed: {type(exc).__name__}"
        else:
            results[name] = "ok"
        if results[name] != "ok":
            logger.warning("probe: %s %s", name, results[name])
    return results


def unavailable(body: dict) -> JsonResponse:
    response = JsonResponse(body, status=503)
    response["Retry-After"] = str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER)
    return response


@never_cache
@require_GET
def livez(request):
    """The process answers requests. Touches nothing else: a load balancer or systemd
    restarts a process that fails this, never one whose database is away."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Whether this process can serve: 503 naming each dependency that failed or did
    not answer within READY_BUDGET_SECONDS (a load balancer sends traffic elsewhere)."""
    results = checks_run(READY_BUDGET_SECONDS)
    failed = [name for name, result in results.items() if result != "ok"]
    if not failed:
        return JsonResponse({"status": "ok", "checks": results})
    return unavailable(
        {
            "status": "unavailable",
            "failed": failed,
            "message": f"Not ready: {', '.join(failed)} failed or did not answer in time.",
            "checks": results,
        }
    )


@never_cache
@require_GET
def healthz(request):
    results = checks_run(HEALTH_BUDGET_SECONDS)
    healthy = all(value == "ok" for value in results.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": results}
    if results["database"] == "ok":
        # Informational: a worker that stopped answering does not make the web
        # tier unhealthy, but it explains uploads that stay pending.
        heartbeat = heartbeat_latest()
        body["worker_last_seen"] = heartbeat.seen_at.isoformat() if heartbeat else None
    return JsonResponse(body) if healthy else unavailable(body)
