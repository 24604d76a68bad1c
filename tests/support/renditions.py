"""Renditions made in the calling process, for tests and benchmarks.

The portal's own requests go through ``files.pipeline.renditions``: the worker renders and the web
process never decodes. A test or a benchmark that wants a rendition now, without a
worker, makes it here.
"""

from __future__ import annotations

from files import selectors
from files.models import Facet, File
from files.pipeline.renditions import facet_rendition_render, rendition_for


def facet_rendition_get_or_create(*, file: File, width: int, height: int) -> Facet:
    """The facet answering ``imageSize=WxH``, rendered in this process if missing; the
    original's facet when the size asked for is the original's."""
    name = rendition_for(file=file, width=width, height=height)
    if name is not None:
        facet = selectors.facet_get(file=file, name=name) or facet_rendition_render(
            file_id=file.pk, width=width, height=height
        )
        if facet is not None:
            return facet
    return file.facets.get(name=Facet.CONTENT, state=Facet.State.READY)
