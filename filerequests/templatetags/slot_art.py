"""Small drawings beside the photo steps a patient is asked for: from a distance, a
close-up, a coin for size, from the side. A step is drawn when its name is one the
shipped templates use (``filerequests.request_templates``); a clinic's own steps are
shown in words alone."""

from __future__ import annotations

from django import template
from django.utils.safestring import mark_safe

register = template.Library()

FRAME = '<path d="M6 16V6h10M48 6h10v10M58 48v10H48M16 58H6V48" class="slot-art__frame"/>'
ART = {
    "distance": FRAME
    + '<circle cx="32" cy="17" r="6"/><path d="M32 23v18M32 41l-7 13M32 41l7 13M20 30h24"/>'
    '<circle cx="41" cy="30" r="2.2" class="slot-art__mark"/>',
    "close": FRAME + '<circle cx="29" cy="29" r="13"/><path d="M39 39l11 11"/>'
    '<circle cx="29" cy="29" r="5" class="slot-art__mark"/>',
    "coin": FRAME + '<circle cx="24" cy="32" r="6" class="slot-art__mark"/>'
    '<circle cx="42" cy="32" r="9"/><path d="M39 32h6"/>',
    "side": '<path d="M6 44h52"/><path d="M22 44c2-9 18-9 20 0" class="slot-art__mark"/>'
    '<path d="M8 30h12M16 26l4 4-4 4"/>',
}
KIND_OF_LABEL = {
    "where it is": "distance",
    "whole area": "distance",
    "whole wound": "distance",
    "close-up": "close",
    "with a coin": "coin",
    "from the side": "side",
}


@register.simple_tag
def slot_art(label: str):
    """An inline drawing for a step of the shipped templates, or nothing."""
    kind = KIND_OF_LABEL.get((label or "").strip().casefold())
    if kind is None:
        return ""
    # Fixed markup of this module: nothing of the input is in it.
    return mark_safe(
        '<svg class="slot-art" viewBox="0 0 64 64" aria-hidden="true" focusable="false">'
        f"{ART[kind]}</svg>"
    )
