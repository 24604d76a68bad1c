"""The upload-ticket part of the stale-upload sweep: one object per ticket, at any depth.

With S3 a ticket whose key ends in ``${filename}`` (Cliniko's contract) can only be
a ``starts-with`` policy, so until it expires its holder can post any number of
objects under its prefix, deeper paths included (AWS and SeaweedFS alike; no POST
policy condition can say "no ``/`` after the prefix"). Nothing can arrive once the
policy has expired, so after ``FILES_TICKET_SETTLE_SECONDS`` (time for an upload
already in flight to land) every ticket is looked at, recursively:

* confirmed: everything under its prefix but the confirmed object goes, once;
* not confirmed: whatever a ticket may not hold (sub-paths, unclean keys) goes at
  once, and the bytes left are recorded (``uploaded_size``) for the unconfirmed-bytes
  quota; after ``FILES_STALE_TICKET_GRACE_SECONDS`` everything goes and the ticket
  is abandoned.

``swept_at`` marks a ticket done, so each prefix is listed a bounded number of times.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from files.keys import StorageKeyError, ticket_key_check
from files.models import File, UploadTicket
from files.storage.objects import StoredObject, objects_remove, objects_under
from portal.audit.services import Actor, audit_record

logger = logging.getLogger(__name__)

OPEN_STATES = (UploadTicket.State.ISSUED, UploadTicket.State.UPLOADED)
# Tickets looked at per run; the next run (every few minutes) takes the rest.
SWEEP_BATCH = 500


def tickets_due(*, now: dt.datetime):
    settled = now - dt.timedelta(seconds=settings.FILES_TICKET_SETTLE_SECONDS)
    stale = now - dt.timedelta(seconds=settings.FILES_STALE_TICKET_GRACE_SECONDS)
    return (
        UploadTicket.objects.filter(swept_at__isnull=True, expires_at__lte=settled)
        .filter(
            ~Q(state__in=OPEN_STATES) | Q(uploaded_size__isnull=True) | Q(expires_at__lte=stale)
        )
        .order_by("expires_at")
    )


def upload_tickets_sweep(*, now: dt.datetime) -> dict[str, int]:
    counts = {"abandoned": 0, "measured": 0, "closed": 0, "objects_removed": 0}
    ticket_ids = list(tickets_due(now=now).values_list("pk", flat=True)[:SWEEP_BATCH])
    for ticket_id in ticket_ids:
        try:
            outcome, removed = upload_ticket_sweep(ticket_id=ticket_id, now=now)
        except OSError:
            logger.warning("could not sweep upload ticket %s", ticket_id, exc_info=True)
            continue
        counts[outcome] += 1
        counts["objects_removed"] += removed
    return counts


def can_hold(ticket: UploadTicket, stored: StoredObject) -> bool:
    try:
        ticket_key_check(stored.key, prefix=ticket.key_prefix)
    except StorageKeyError:
        return False
    return True


@transaction.atomic
def upload_ticket_sweep(*, ticket_id, now: dt.datetime) -> tuple[str, int]:
    """Sweep one ticket whose policy has expired; (what happened, objects removed)."""
    ticket = UploadTicket.objects.select_for_update().select_related("account").get(pk=ticket_id)
    found = objects_under(ticket.key_prefix)
    stale = ticket.expires_at <= now - dt.timedelta(
        seconds=settings.FILES_STALE_TICKET_GRACE_SECONDS
    )
    if ticket.state == UploadTicket.State.CONFIRMED:
        kept = set(
            File.objects.filter(upload_ticket=ticket)
            .exclude(temp_key="")
            .values_list("temp_key", flat=True)
        )
        removed = objects_remove(
            [stored for stored in found if stored.key not in kept], prefix=ticket.key_prefix
        )
        ticket.swept_at = now
        ticket.save(update_fields=["swept_at"])
        return "closed", removed
    if ticket.state not in OPEN_STATES or stale:
        removed = objects_remove(found, prefix=ticket.key_prefix)
        outcome = "closed"
        if ticket.state in OPEN_STATES:
            ticket.state = UploadTicket.State.ABANDONED
            outcome = "abandoned"
            audit_record(
                account=ticket.account,
                actor=Actor.system(),
                action="upload_ticket.abandon",
                target=ticket,
                detail={"objects_removed": removed},
            )
        ticket.swept_at = now
        ticket.save(update_fields=["state", "swept_at"])
        return outcome, removed
    # Waiting for its confirm: what no ticket may hold goes now; the rest is measured.
    removed = objects_remove(
        [stored for stored in found if not can_hold(ticket, stored)], prefix=ticket.key_prefix
    )
    ticket.uploaded_size = sum(stored.size for stored in found if can_hold(ticket, stored))
    ticket.save(update_fields=["uploaded_size"])
    return "measured", removed
