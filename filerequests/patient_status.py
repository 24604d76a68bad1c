"""What the patient page tells the patient about the photos it sent.

Only the files this browser sent in its verified session are ever described or
shown, and only while that session lasts: the session remembers their ids as
each upload is confirmed. Another request's files, or this request's files sent
from another phone, are never listed or served here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse

from filerequests.models import FileRequest
from files.models import File

# Photos one session remembers: more than a batch, fewer than a request's tickets.
SESSION_FILES_MAX = 100

# The server's reasons are written for staff and integrators; a patient needs to know
# what to do next. Matched on a phrase of the server's reason (files/pipeline/sniffing.py,
# files/pipeline/processing.py, files/pipeline/rendering.py, files/pipeline/decoding.py),
# first match wins.
PATIENT_REASONS = [
    (
        "too many photos",
        "Too many photos were sent for this request in the last hour. Please send this one "
        "again in an hour, or call the clinic.",
    ),
    ("pdf", "This is a PDF document, not a photo. Please choose a photo."),
    ("web page", "This is a web page, not a photo. Please choose a photo."),
    ("svg", "This is a drawing file (SVG), not a photo. Please choose a photo."),
    ("archive", "This is a compressed folder (ZIP), not a photo. Please choose a photo."),
    ("program", "This is a program, not a photo. Please choose a photo."),
    ("script", "This is not a photo. Please choose a photo."),
    ("text or xml", "This is a text file, not a photo. Please choose a photo."),
    ("empty", "This file is empty. Please take the photo again."),
    (
        "damaged",
        "This photo is damaged or incomplete, so the clinic cannot open it. "
        "Please take it again or choose another photo.",
    ),
    (
        "not found",
        "This photo did not arrive completely. Please send it again.",
    ),
    ("not where", "This photo did not arrive completely. Please send it again."),
    (
        "not an image in a format",
        "This file looks like a photo, but it is damaged or incomplete, so the clinic cannot "
        "open it. Please take the photo again or choose another.",
    ),
    ("no pixels", "This photo is empty. Please take it again."),
    ("larger than", "This photo is too large. Please take it again or choose a smaller one."),
    ("too large", "This photo is too large. Please take it again or choose a smaller one."),
    (
        "could not be recognised",
        "This is not a kind of photo the clinic can open. Please choose a JPEG, PNG or HEIC photo.",
    ),
]
GENERIC_REASON = "The clinic cannot use this file. Please take the photo again or choose another."


def patient_reason(server_reason: str) -> str:
    """The rejection in words a patient can act on."""
    lowered = (server_reason or "").lower()
    for phrase, words in PATIENT_REASONS:
        if phrase in lowered:
            return words
    return GENERIC_REASON


@dataclass(frozen=True)
class SentPhoto:
    id: str
    name: str
    state: str  # "processing", "ready" or "rejected": what the patient is told
    reason: str
    sent_at: datetime
    thumbnail_url: str

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "reason": self.reason,
            "sentAt": self.sent_at.isoformat(),
            "thumbnailUrl": self.thumbnail_url,
        }


def session_file_ids(entry: dict) -> list[str]:
    file_ids = entry.get("file_ids")
    return [str(value) for value in file_ids] if isinstance(file_ids, list) else []


def session_file_remember(entry: dict, file_id: str) -> dict:
    """The session entry with ``file_id`` added (the oldest forgotten past the limit)."""
    file_ids = [value for value in session_file_ids(entry) if value != file_id]
    return {**entry, "file_ids": [*file_ids, file_id][-SESSION_FILES_MAX:]}


def sent_photos(*, file_request: FileRequest, file_ids: list[str]) -> list[SentPhoto]:
    """The photos this session sent for this request, oldest first, in one query."""
    if not file_ids:
        return []
    files = (
        File.objects.filter(file_request=file_request, pk__in=file_ids)
        .only("id", "original_name", "state", "rejection_reason", "created_at")
        .order_by("created_at")
    )
    photos = []
    for index, file in enumerate(files, start=1):
        if file.state == File.State.READY:
            state, reason = "ready", ""
            thumbnail_url = reverse("filerequests-patient:upload-thumbnail", args=[file.id])
        elif file.state == File.State.REJECTED:
            state, reason, thumbnail_url = "rejected", patient_reason(file.rejection_reason), ""
        else:
            state, reason, thumbnail_url = "processing", "", ""
        photos.append(
            SentPhoto(
                id=str(file.id),
                name=file.display_name or f"Photo {index}",
                state=state,
                reason=reason,
                sent_at=file.created_at,
                thumbnail_url=thumbnail_url,
            )
        )
    return photos
