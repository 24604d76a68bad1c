"""Celery: the broker (the embedded SQLite queue, or Redis), the worker's limits, beat's
lease, and the beat schedule, every periodic task in one place."""

from __future__ import annotations

import ssl

from django.core.exceptions import ImproperlyConfigured

from config.environment import env
from config.settings.base import DATA_DIR
from config.settings.product import (
    ATTACHMENTS_PHOTO_COLLECT_SECONDS,
    FILES_DEAD_WORKER_SWEEP_SECONDS,
    WEBHOOK_SWEEP_INTERVAL_SECONDS,
)

# --- Celery -----------------------------------------------------------------

# The embedded broker: a kombu transport on one SQLite file in the data folder
# (config/sqlite_broker.py says why not kombu's filesystem:// or SQLAlchemy transports).
CELERY_BROKER_URL = env.str("PORTAL_CELERY_BROKER_URL", default="sqlite-queue://localhost")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport reads message files other processes have not finished
    # writing (celery/kombu#1551): the embedded broker replaced it.
    raise ImproperlyConfigured(
        "PORTAL_CELERY_BROKER_URL=filesystem:// is no longer supported: leave it unset for "
        "the embedded broker (sqlite-queue://), or name a Redis server."
    )
if CELERY_BROKER_URL.startswith("sqlite-queue://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "database_path": str(DATA_DIR / "broker.sqlite3"),
        # A worker that vanishes without a word gives its messages back after this at
        # the latest (at once when another worker on this machine sees it is gone).
        "lease_seconds": env.float("PORTAL_CELERY_BROKER_LEASE_SECONDS", default=60.0),
    }
else:
    # Longer than the longest task's hard time limit, so a slow task is never
    # handed to a second worker while the first is still on it.
    # Redis that hangs must not hold a web request that queues a task (the upload is
    # committed and answered; the stale-upload sweep queues it later) nor a probe: a
    # socket timeout for connecting and for every answer, and one retry of a publish.
    # Above the worker's 1 s blocking pop, which waits on the same socket.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("PORTAL_CELERY_VISIBILITY_TIMEOUT", default=60 * 60),
        "socket_timeout": env.float("PORTAL_REDIS_SOCKET_TIMEOUT_SECONDS", default=2.0),
        "socket_connect_timeout": env.float("PORTAL_REDIS_CONNECT_TIMEOUT_SECONDS", default=2.0),
    }
    CELERY_BROKER_CONNECTION_TIMEOUT = env.float(
        "PORTAL_REDIS_CONNECT_TIMEOUT_SECONDS", default=2.0
    )
    CELERY_TASK_PUBLISH_RETRY_POLICY = {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
    }
    # How often a worker looks for messages a lost worker took and never acknowledged
    # (kombu's default: a scan about every 100 s). Fault tests shorten both.
    if restore_seconds := env.int("PORTAL_CELERY_UNACKED_RESTORE_SECONDS", default=0):
        CELERY_BROKER_TRANSPORT_OPTIONS.update(
            unacked_restore_interval=restore_seconds, unacked_restore_throttle=1
        )
# Redis over TLS (rediss://, with a password or an ACL user in the URL): the server's
# certificate must chain to REDIS_TLS_CA_FILE (unset: the system's CAs) and name the host
# in the URL; REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE add a client certificate where
# the server asks for one. kombu's own default for a bare rediss:// URL checks nothing.
if CELERY_BROKER_URL.startswith("rediss://"):
    import ssl

    CELERY_BROKER_USE_SSL = {
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
        "ssl_check_hostname": True,
        "ssl_ca_certs": env.str("PORTAL_REDIS_TLS_CA_FILE", default="") or None,
        "ssl_certfile": env.str("PORTAL_REDIS_TLS_CERT_FILE", default="") or None,
        "ssl_keyfile": env.str("PORTAL_REDIS_TLS_KEY_FILE", default="") or None,
    }
    # The same for a Redis result backend, should one be configured.
    CELERY_REDIS_BACKEND_USE_SSL = CELERY_BROKER_USE_SSL
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("PORTAL_CELERY_WORKER_MAX_TASKS_PER_CHILD", default=200)
# A pool child whose resident memory passed this (KiB) after a task is replaced by a
# fresh one: a 64-megapixel image takes a few hundred MB, which is given back at once.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int(
    "PORTAL_CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=512 * 1024
)
CELERY_TASK_SOFT_TIME_LIMIT = 5 * 60
CELERY_TASK_TIME_LIMIT = 6 * 60
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Beat may run on two hosts, one active (portal.ops.beat): the active one renews a lease
# in the database every BEAT_LEASE_RENEW_SECONDS at most; a standby asks every
# BEAT_STANDBY_POLL_SECONDS and takes over once the lease is BEAT_LEASE_SECONDS old, so
# with the defaults a beat killed outright is replaced within 35 s. The active one stops
# sending BEAT_LEASE_MARGIN_SECONDS before its lease could lapse.
CELERY_BEAT_SCHEDULER = "portal.ops.beat:LeasedScheduler"
BEAT_LEASE_SECONDS = env.float("PORTAL_BEAT_LEASE_SECONDS", default=30.0)
BEAT_LEASE_RENEW_SECONDS = env.float("PORTAL_BEAT_LEASE_RENEW_SECONDS", default=5.0)
BEAT_STANDBY_POLL_SECONDS = env.float("PORTAL_BEAT_STANDBY_POLL_SECONDS", default=5.0)
BEAT_LEASE_MARGIN_SECONDS = env.float("PORTAL_BEAT_LEASE_MARGIN_SECONDS", default=5.0)
if BEAT_LEASE_SECONDS < BEAT_LEASE_RENEW_SECONDS + 2 * BEAT_LEASE_MARGIN_SECONDS:
    raise ImproperlyConfigured(
        "PORTAL_BEAT_LEASE_SECONDS must be at least PORTAL_BEAT_LEASE_RENEW_SECONDS plus "
        "twice PORTAL_BEAT_LEASE_MARGIN_SECONDS, or the active beat would lose its lease "
        "between renewals."
    )

# --- The beat schedule: every periodic task, in one place -----------------------------

CELERY_BEAT_SCHEDULE = {
    # Each worker's liveness, read by /readyz and the dead-worker sweep (portal.ops).
    "worker-heartbeat": {"task": "ops.heartbeat", "schedule": 60.0},
    # Files: expiry announced, expired bytes removed, uploads never confirmed or never
    # processed, and the files of a worker that died.
    "files-expiry-announce-sweep": {"task": "files.expiry_announce_sweep", "schedule": 60.0},
    "files-retention-sweep": {"task": "files.retention_sweep", "schedule": 3600.0},
    "files-stale-upload-sweep": {"task": "files.stale_upload_sweep", "schedule": 300.0},
    "files-dead-worker-requeue": {
        "task": "files.dead_worker_requeue",
        "schedule": float(FILES_DEAD_WORKER_SWEEP_SECONDS),
    },
    # File requests whose short link has expired.
    "file-requests-expire": {"task": "filerequests.expire_due", "schedule": 5 * 60.0},
    # Webhook events not fanned out and deliveries overdue.
    "webhooks-sweep": {"task": "webhooks.sweep", "schedule": WEBHOOK_SWEEP_INTERVAL_SECONDS},
    # Sign-in throttle rows past their memory.
    "accounts-sign-in-throttle-sweep": {
        "task": "accounts.sign_in_throttle_sweep",
        "schedule": 60 * 60.0,
    },
    # Medable photo uploads that have arrived (S3 sends no callback).
    "attachments-photo-uploads-collect": {
        "task": "attachments.photo_uploads_collect",
        "schedule": ATTACHMENTS_PHOTO_COLLECT_SECONDS,
        # A tick that waits in the queue longer than the next is worth nothing.
        "options": {"expires": ATTACHMENTS_PHOTO_COLLECT_SECONDS * 2},
    },
}
