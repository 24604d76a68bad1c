"""State changes of an upload ticket that the embedded storage's endpoint makes: storing the
one object a ticket allows (S3 does this itself; the portal's own endpoint does it here)."""

from __future__ import annotations

from typing import IO

from files.keys import ticket_key_check
from files.models import UploadTicket
from files.storage.objects import storage_put


class UploadTicketUsed(Exception):
    """A second object was posted with a ticket that already stored one."""


def upload_ticket_store(*, ticket: UploadTicket, key: str, content: IO[bytes], size: int) -> str:
    """Store what the embedded endpoint received with ``ticket``, once (S3 tells us nothing).

    The ticket is claimed first with a conditional update, so of two posts racing
    with one ticket only one writes; the other gets ``UploadTicketUsed``. If the
    write fails the claim is given back, so the client can try again.
    """
    ticket_key_check(key, prefix=ticket.key_prefix)
    claimed = UploadTicket.objects.filter(pk=ticket.pk, state=UploadTicket.State.ISSUED).update(
        state=UploadTicket.State.UPLOADED, uploaded_key=key, uploaded_size=size
    )
    if not claimed:
        raise UploadTicketUsed(str(ticket.pk))
    try:
        return storage_put(key, content)
    except BaseException:
        UploadTicket.objects.filter(
            pk=ticket.pk, state=UploadTicket.State.UPLOADED, uploaded_key=key
        ).update(state=UploadTicket.State.ISSUED, uploaded_key="", uploaded_size=None)
        raise
