"""How a photo is named to staff: by the step it was taken for and its date ("Close-up,
6 Dec 2026"), the phone's file name kept as a detail (``IMG_4031.jpg`` says nothing)."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from files.body_sites import body_site_options

register = template.Library()


def is_photo(file) -> bool:
    mime = file.mime_type or file.declared_type or ""
    return mime.startswith("image/") or file.purpose == "photo"


@register.filter
def photo_title(file) -> str:
    """ "Close-up, 6 Dec 2026" for a photo (its slot, else "Photo"); a document keeps
    its name."""
    if not is_photo(file):
        return file.display_name or "File"
    day = timezone.localtime(file.created_at)
    return f"{file.slot_label or 'Photo'}, {day.day} {day:%b %Y}"


@register.filter
def photo_detail(file) -> str:
    """The phone's file name, where the title is not already it."""
    return file.display_name if is_photo(file) else ""


@register.simple_tag
def body_site_datalist(element_id: str = "body-site-list"):
    """The searchable list of body sites for ``<input list=...>``."""
    options = format_html_join(
        "", '<option value="{}"></option>', ((label,) for label, *_rest in body_site_options())
    )
    return format_html('<datalist id="{}">{}</datalist>', element_id, options)
