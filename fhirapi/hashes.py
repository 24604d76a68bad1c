"""FHIR's ``Attachment.hash``: the SHA-1 of the bytes, Base64.

Processing records both digests in one read of the bytes (``files.services.
digests_of``). A facet stored before that has none: its SHA-1 is computed the first
time it is described over FHIR (streamed, never held whole) and kept on the facet.
"""

from __future__ import annotations

import base64
import hashlib

from files.models import Facet
from files.storage.objects import stored_bytes

CHUNK = 1024 * 1024


def facet_sha1_base64(facet: Facet) -> str:
    if not facet.sha1:
        digest = hashlib.sha1(usedforsecurity=False)
        for chunk in stored_bytes(facet.storage_key, 0, facet.size or 0, chunk_size=CHUNK):
            digest.update(chunk)
        facet.sha1 = digest.hexdigest()
        Facet.objects.filter(pk=facet.pk).update(sha1=facet.sha1)
    return base64.b64encode(bytes.fromhex(facet.sha1)).decode("ascii")
