"""Serving a file's bytes to a dashboard page: through the one serving function
(``files.serving.respond.serve``), as the signed-in staff member. Pages never get a storage URL."""

from __future__ import annotations

from files.models import Facet, File
from files.serving import respond
from portal.audit.services import Actor

THUMBNAIL = "thumbnail"
CONTENT = "content"


def staff_file_response(request, *, file: File, variant: str):
    """``thumbnail`` (the square gallery facet) or ``content`` (full size, to view or
    download). Each is an audited ``file.download`` by ``request.staff``."""
    facet_name = Facet.THUMBNAIL if variant == THUMBNAIL else None
    return respond.serve(
        request, file=file, actor=Actor.for_staff(request.staff), facet_name=facet_name
    )
