"""How the portal behaves, app by app: the files pipeline's limits and sweeps, file
requests and the patient page, webhooks, staff sign-in and the dashboard, patient
attachments, worker heartbeats and metrics. Periodic tasks are scheduled in
config/settings/celery.py."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.environment import env

# --- Files pipeline (files app) ------------------------------------------------

# The largest single file any door accepts (413 above it).
FILES_MAX_UPLOAD_BYTES = env.int("PORTAL_FILES_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
# The largest request body of an in-app upload (X-on's Base64 JSON carries several
# files, each a third larger than its bytes).
FILES_MAX_REQUEST_BYTES = env.int("PORTAL_FILES_MAX_REQUEST_BYTES", default=200 * 1024 * 1024)
# How long an upload ticket (presigned POST) may be used.
FILES_UPLOAD_TICKET_SECONDS = env.int("PORTAL_FILES_UPLOAD_TICKET_SECONDS", default=15 * 60)
# After a ticket expires, how long its uploaded-but-never-confirmed object may wait
# for the client's confirm call before the stale-ticket sweep removes it.
FILES_STALE_TICKET_GRACE_SECONDS = env.int(
    "PORTAL_FILES_STALE_TICKET_GRACE_SECONDS", default=24 * 3600
)
# After a ticket expires, how long an upload already in flight may still land before the
# sweep removes what the ticket may not hold (sub-paths, a second object) and measures it.
FILES_TICKET_SETTLE_SECONDS = env.int("PORTAL_FILES_TICKET_SETTLE_SECONDS", default=10 * 60)
# Bytes that may wait in storage unconfirmed (tickets issued, not yet confirmed or swept)
# for one file request, and for one patient: a ticket holder cannot park unbounded data.
FILES_UNCONFIRMED_MAX_BYTES_PER_REQUEST = env.int(
    "PORTAL_FILES_UNCONFIRMED_MAX_BYTES_PER_REQUEST", default=512 * 1024 * 1024
)
FILES_UNCONFIRMED_MAX_BYTES_PER_PATIENT = env.int(
    "PORTAL_FILES_UNCONFIRMED_MAX_BYTES_PER_PATIENT", default=1024 * 1024 * 1024
)
# The last resort for a lost message (a broker that dropped it, a queue purged): a file
# still pending or processing this long after upload is queued again by the stale sweep.
# A worker that dies is noticed far sooner, by its heartbeat (below).
FILES_REQUEUE_PENDING_AFTER_SECONDS = env.int(
    "PORTAL_FILES_REQUEUE_PENDING_AFTER_SECONDS", default=15 * 60
)
# A file whose processing was begun this often without ever finishing (worker killed,
# out of memory, over its time limit, an unforeseen error; storage, network and database
# faults do not count) is rejected with a reason instead of being tried again.
FILES_PROCESSING_MAX_ATTEMPTS = env.int("PORTAL_FILES_PROCESSING_MAX_ATTEMPTS", default=3)
# An imageSize request for a rendition not made yet waits this long for the worker to
# make it, then answers 409 with Retry-After; a rendition asked for this long ago and
# still not made (its message lost) is asked for again.
FILES_RENDITION_WAIT_SECONDS = env.float("PORTAL_FILES_RENDITION_WAIT_SECONDS", default=10.0)
FILES_RENDITION_REQUEUE_SECONDS = env.int("PORTAL_FILES_RENDITION_REQUEUE_SECONDS", default=120)
# Besides its ladder of kept sizes, a file keeps the answers to this many other imageSize
# sizes, the latest made (files.pipeline.renditions); the stored object of one dropped is removed
# this many seconds later, once downloads that had just looked it up have opened it.
FILES_RENDITION_EXACT_SIZES_KEPT = env.int("PORTAL_FILES_RENDITION_EXACT_SIZES_KEPT", default=16)
FILES_RENDITION_REMOVE_DELAY_SECONDS = env.int(
    "PORTAL_FILES_RENDITION_REMOVE_DELAY_SECONDS", default=30
)
# Each worker writes its own heartbeat this often (portal.ops.heartbeat); one silent for
# OPS_WORKER_DEAD_AFTER_SECONDS is taken for dead and its files are queued again by the
# dead-worker sweep, run every FILES_DEAD_WORKER_SWEEP_SECONDS. Worst case with the
# defaults: 60 + 30 s after the last heartbeat, then the file's own processing time.
OPS_WORKER_HEARTBEAT_SECONDS = env.int("PORTAL_OPS_WORKER_HEARTBEAT_SECONDS", default=15)
OPS_WORKER_DEAD_AFTER_SECONDS = env.int("PORTAL_OPS_WORKER_DEAD_AFTER_SECONDS", default=60)
FILES_DEAD_WORKER_SWEEP_SECONDS = env.int("PORTAL_FILES_DEAD_WORKER_SWEEP_SECONDS", default=30)
if OPS_WORKER_DEAD_AFTER_SECONDS < 3 * OPS_WORKER_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "PORTAL_OPS_WORKER_DEAD_AFTER_SECONDS must be at least three "
        "PORTAL_OPS_WORKER_HEARTBEAT_SECONDS, "
        "or a busy worker would be taken for dead."
    )
# /metrics (config/metrics.py) answers 404 unless this token is set, then only to
# "Authorization: Bearer <METRICS_TOKEN>". The processing-time histogram covers files
# finished in the last METRICS_WINDOW_SECONDS.
METRICS_TOKEN = env.str("PORTAL_METRICS_TOKEN", default="")
METRICS_WINDOW_SECONDS = env.int("PORTAL_METRICS_WINDOW_SECONDS", default=3600)
# Days the bytes of an expired file are kept before the retention sweep removes them.
FILES_RETENTION_DAYS = env.int("PORTAL_FILES_RETENTION_DAYS", default=30)
# The thumbnail facet made for every image: aspect-fill to at least this box.
FILES_THUMBNAIL_SIZE = (
    env.int("PORTAL_FILES_THUMBNAIL_WIDTH", default=320),
    env.int("PORTAL_FILES_THUMBNAIL_HEIGHT", default=320),
)
# The bucket name the embedded storage's POST endpoint answers with (S3's PostResponse).
FILES_EMBEDDED_BUCKET = env.str("PORTAL_FILES_EMBEDDED_BUCKET", default="portal-files")
# Seconds a client should wait before asking again for a file still being processed.
FILES_NOT_READY_RETRY_AFTER = 5
# The in-app doors (X-on's files API, Claros's PDF upload) and the download of a file still
# processing wait this long for the worker before answering as "not ready yet": neither
# seed has a processing state (files.waiting). The test suite, which mostly runs without a
# worker, waits only where a test sets it (config/settings/test.py).
FILES_SYNC_WAIT_SECONDS = env.float("PORTAL_FILES_SYNC_WAIT_SECONDS", default=5.0)
# A PDF listing more objects than this is refused rather than half-judged
# (files.pipeline.pdf_check); pypdf judges about 15,000 objects a second.
FILES_PDF_MAX_OBJECTS = env.int("PORTAL_FILES_PDF_MAX_OBJECTS", default=200_000)
# What an image may cost to decode, judged from its header first (files.pipeline.decoding): the
# pixels of a photo sent through a patient's link (the largest phone photo is 50 MP,
# 8192x6144); pixels per byte of the image file, for images above the free size; pixels
# decoded per patient link and per API key in an hour. And the data memory (RLIMIT_DATA)
# of each worker pool process: a 50 MP photo of any accepted format needs under 1 GB.
FILES_PATIENT_MAX_IMAGE_PIXELS = env.int(
    "PORTAL_FILES_PATIENT_MAX_IMAGE_PIXELS", default=51_000_000
)
FILES_DECODE_FREE_PIXELS = env.int("PORTAL_FILES_DECODE_FREE_PIXELS", default=4_000_000)
FILES_MAX_PIXELS_PER_BYTE = env.int("PORTAL_FILES_MAX_PIXELS_PER_BYTE", default=100)
FILES_DECODE_BUDGET_PIXELS_PER_LINK = env.int(
    "PORTAL_FILES_DECODE_BUDGET_PIXELS_PER_LINK", default=2_000_000_000
)
FILES_DECODE_BUDGET_PIXELS_PER_API_KEY = env.int(
    "PORTAL_FILES_DECODE_BUDGET_PIXELS_PER_API_KEY", default=100_000_000_000
)
FILES_WORKER_MEMORY_LIMIT_MB = env.int("PORTAL_FILES_WORKER_MEMORY_LIMIT_MB", default=1536)
# Seconds a client should wait before trying again while the database is unreachable.
SERVICE_UNAVAILABLE_RETRY_AFTER = 5
# Seconds a finished check of a dependency answers /readyz and /healthz for (config/health.py):
# the probes need no sign-in, and each storage check writes, reads and deletes an object.
# At most ten: a load balancer probing every few seconds must still see an outage.
HEALTH_PROBE_REUSE_SECONDS = env.float("PORTAL_HEALTH_PROBE_REUSE_SECONDS", default=1.0)
if not 0 <= HEALTH_PROBE_REUSE_SECONDS <= 10:  # NaN too: it compares false
    raise ImproperlyConfigured(
        "PORTAL_HEALTH_PROBE_REUSE_SECONDS must be a number of seconds from 0 to 10, "
        f"not {HEALTH_PROBE_REUSE_SECONDS!r}: a probe's result older than that would hide "
        "an outage from the load balancer."
    )


# --- File requests (filerequests app) -------------------------------------------
# Short links: how long a new link works unless the request asks otherwise (a
# request may ask for no expiry with "shortLinkExpiresAt": null, as seed 004 allows).
FILE_REQUEST_SHORT_LINK_TTL_SECONDS = env.int(
    "PORTAL_FILE_REQUEST_SHORT_LINK_TTL_SECONDS", default=7 * 24 * 60 * 60
)
# Date-of-birth check: wrong answers before the link locks, and the first lock's
# length; each further lockout doubles it, up to the maximum.
FILE_REQUEST_DOB_MAX_ATTEMPTS = env.int("PORTAL_FILE_REQUEST_DOB_MAX_ATTEMPTS", default=5)
FILE_REQUEST_LOCKOUT_SECONDS = env.int("PORTAL_FILE_REQUEST_LOCKOUT_SECONDS", default=30 * 60)
FILE_REQUEST_LOCKOUT_MAX_SECONDS = env.int(
    "PORTAL_FILE_REQUEST_LOCKOUT_MAX_SECONDS", default=24 * 60 * 60
)
# Failed checks one client address may make across all links in an hour.
FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR = env.int(
    "PORTAL_FILE_REQUEST_ADDRESS_FAILURES_PER_HOUR", default=20
)
# How long a verified patient session may keep sending photos.
FILE_REQUEST_PATIENT_SESSION_SECONDS = env.int(
    "PORTAL_FILE_REQUEST_PATIENT_SESSION_SECONDS", default=60 * 60
)
# Photos confirmed without the patient pressing "Send" are announced after this quiet time.
FILE_REQUEST_ABANDONED_BATCH_SECONDS = env.int(
    "PORTAL_FILE_REQUEST_ABANDONED_BATCH_SECONDS", default=30 * 60
)
# Texts of one request (the first and every resend): the least time between two, and
# the most in any 24 hours (portal.sendlimits). Each text costs the clinic, and a
# patient's phone must not be flooded by repeated resends.
FILE_REQUEST_RESEND_COOLDOWN_SECONDS = env.int(
    "PORTAL_FILE_REQUEST_RESEND_COOLDOWN_SECONDS", default=60
)
FILE_REQUEST_TEXTS_PER_DAY = env.int("PORTAL_FILE_REQUEST_TEXTS_PER_DAY", default=5)

# --- Webhooks (portal.webhooks) ---------------------------------------------------
# Deliveries to private and loopback addresses (a test's or a sandbox's receiver).
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("PORTAL_WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)
# Delay before each attempt of a delivery, in seconds: immediately, 5 s, 5 min, 30 min,
# 2 h, 5 h, 10 h, 10 h (Standard Webhooks' example schedule, cut to span about a
# day: the last attempt is ~27.6 h after the first). Each delay gets ±10 % jitter.
WEBHOOK_RETRY_SCHEDULE_SECONDS = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
# Multiplies every delay; tests run the whole schedule in moments with 0.
WEBHOOK_RETRY_SCALE = env.float("PORTAL_WEBHOOK_RETRY_SCALE", default=1.0)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.float("PORTAL_WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_READ_TIMEOUT_SECONDS = env.float("PORTAL_WEBHOOK_READ_TIMEOUT_SECONDS", default=15.0)
# How long an attempt in flight holds its delivery; a worker that dies mid-attempt
# releases it when this passes. Default: both timeouts plus a minute.
WEBHOOK_ATTEMPT_LEASE_SECONDS = env.float(
    "PORTAL_WEBHOOK_ATTEMPT_LEASE_SECONDS",
    default=WEBHOOK_CONNECT_TIMEOUT_SECONDS + WEBHOOK_READ_TIMEOUT_SECONDS + 60,
)
# An endpoint is disabled after this many deliveries in a row failed for good (each
# after its whole schedule), or at once when it answers 410 Gone.
WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES = env.int(
    "PORTAL_WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES", default=5
)
WEBHOOK_RESPONSE_EXCERPT_BYTES = 1024
# The callable ``(host, port) -> [address, ...]`` that resolves a receiver's name, once
# per connection (portal.webhooks.transport). Tests name a scripted resolver here.
WEBHOOK_RESOLVER = "portal.webhooks.transport.system_resolve"
# Retry delays up to this long wait as Celery countdowns; longer ones (and anything
# a lost worker dropped) are picked up by the sweep, well inside Redis's visibility
# timeout so a countdown task is never handed out twice.
WEBHOOK_MAX_COUNTDOWN_SECONDS = 10 * 60
# The sweep: events not fanned out and deliveries overdue by this much are sent again.
WEBHOOK_SWEEP_INTERVAL_SECONDS = env.float("PORTAL_WEBHOOK_SWEEP_INTERVAL_SECONDS", default=60.0)
WEBHOOK_SWEEP_GRACE_SECONDS = env.float("PORTAL_WEBHOOK_SWEEP_GRACE_SECONDS", default=60.0)

# --- Staff dashboard (dashboard/) ----------------------------------------------

LOGOUT_REDIRECT_URL = "/login/"
OTP_TOTP_ISSUER = env.str("PORTAL_OTP_TOTP_ISSUER", default="Clinic File Portal")
# The Django admin never shows an authenticator's key or QR code: whoever saw it could
# make the codes of the person it belongs to.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# A password-checked sign-in waits this long for its authentication code.
DASHBOARD_SIGN_IN_PENDING_SECONDS = 5 * 60
# Staff sign-in throttle (portal.accounts.signin_throttle): wrong passwords per e-mail
# address, and per client address, before sign-in pauses; the first pause's length,
# doubling with each further pause of the same key up to the maximum. Failures older
# than the window are forgotten; pauses (for the back-off) after the memory.
SIGN_IN_ACCOUNT_MAX_FAILURES = env.int("PORTAL_SIGN_IN_ACCOUNT_MAX_FAILURES", default=5)
SIGN_IN_ADDRESS_MAX_FAILURES = env.int("PORTAL_SIGN_IN_ADDRESS_MAX_FAILURES", default=20)
SIGN_IN_LOCKOUT_SECONDS = env.int("PORTAL_SIGN_IN_LOCKOUT_SECONDS", default=60)
SIGN_IN_LOCKOUT_MAX_SECONDS = env.int("PORTAL_SIGN_IN_LOCKOUT_MAX_SECONDS", default=60 * 60)
SIGN_IN_FAILURE_WINDOW_SECONDS = 15 * 60
SIGN_IN_LOCKOUT_MEMORY_SECONDS = 24 * 60 * 60
# Password reset e-mails to one address (as typed, however spelt): the least time
# between two asks, and the most in any 24 hours (portal.accounts.password_reset).
PASSWORD_RESET_COOLDOWN_SECONDS = env.int("PORTAL_PASSWORD_RESET_COOLDOWN_SECONDS", default=60)
PASSWORD_RESET_EMAILS_PER_DAY = env.int("PORTAL_PASSWORD_RESET_EMAILS_PER_DAY", default=5)
# How long a staff invitation's link works (portal.accounts.services.staff_invite).
STAFF_INVITATION_TTL_SECONDS = env.int(
    "PORTAL_STAFF_INVITATION_TTL_SECONDS", default=7 * 24 * 60 * 60
)
DASHBOARD_PAGE_SIZE = 25

# --- Patient attachments (attachments app) ---------------------------------------

# Free trial accounts keep at most this many files, of at most this many bytes in all
# (Cliniko's trial: "10 files that must not total more than 1 MB"; 1 MB = 1 MiB here).
FILES_TRIAL_MAX_FILES = env.int("PORTAL_FILES_TRIAL_MAX_FILES", default=10)
FILES_TRIAL_MAX_BYTES = env.int("PORTAL_FILES_TRIAL_MAX_BYTES", default=1024 * 1024)
# Claros's PDF upload answers 413 as soon as a file passes this size.
ATTACHMENTS_CLAROS_MAX_PDF_BYTES = env.int(
    "PORTAL_ATTACHMENTS_CLAROS_MAX_PDF_BYTES", default=50 * 1024 * 1024
)
# Medable's photo property: the largest photo, and how long its upload credentials last.
ATTACHMENTS_PHOTO_MAX_BYTES = env.int(
    "PORTAL_ATTACHMENTS_PHOTO_MAX_BYTES", default=20 * 1024 * 1024
)
ATTACHMENTS_PHOTO_UPLOAD_SECONDS = env.int(
    "PORTAL_ATTACHMENTS_PHOTO_UPLOAD_SECONDS", default=15 * 60
)
# How often the worker looks for photo uploads that have arrived (S3 sends no
# callback), and for how long after its credentials lapse an upload is looked for.
ATTACHMENTS_PHOTO_COLLECT_SECONDS = env.float(
    "PORTAL_ATTACHMENTS_PHOTO_COLLECT_SECONDS", default=2.0
)
ATTACHMENTS_PHOTO_COLLECT_GRACE_SECONDS = 10 * 60
