"""Compare over time: which of one patient's photos to show side by side.

"Is it changing?" is asked of one place on the body photographed the same way: the
default pair is the earliest and the latest photo of the same body site (with its side)
and the same slot ("Close-up"). Opened from one photo, the pair is chosen around it;
opened from the record, around the place photographed most recently more than once.
Staff then swap any photo for another of the patient's, and add a third or fourth.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from dashboard.record import is_photo_q
from files.models import File
from portal.accounts.models import Account
from portal.ids import parse_uuid
from portal.patients.models import Patient

MAX_PHOTOS = 4


def comparable_photos(*, account: Account, patient: Patient) -> QuerySet[File]:
    """The patient's photos that can be shown: ready, not expired, images; oldest first."""
    return (
        File.objects.filter(account=account, patient=patient, state=File.State.READY)
        .filter(is_photo_q())
        .exclude(width__isnull=True)
        .exclude(expires_at__lte=timezone.now())
        .select_related("file_request")
        .order_by("created_at", "id")
    )


def place_of(file: File) -> tuple[str, str]:
    """Where a photo was taken: its body site and side."""
    return (file.body_site_code, file.body_site_side)


def likeness(file: File) -> tuple[str, str, str]:
    """What makes two photos comparable: the same place, taken the same way (slot)."""
    return (*place_of(file), file.slot_label.casefold())


def by_time(photos: list[File]) -> list[File]:
    return sorted(photos, key=lambda f: (f.created_at, str(f.id)))


def default_choice(photos: list[File], *, around: File | None = None) -> list[File]:
    """Two photos to compare (fewer only when the patient has fewer), oldest first.

    Around a photo: it and the earliest photo of its place and slot (the latest, if it
    is the earliest itself); else of its place; else the photo taken nearest to it.
    Without one: the earliest and the latest of the place and slot photographed most
    recently more than once (a coded body site before none); else of the place; else
    the two latest photos. A photo with neither body site nor slot is like no other."""
    if len(photos) < 2:
        return list(photos)
    if around is not None:
        for same in (likeness, place_of):
            key = same(around)
            alike = by_time([f for f in photos if any(key) and same(f) == key])
            if len(alike) > 1:
                first = alike[0] if alike[0].pk != around.pk else alike[-1]
                return by_time([first, around])
        others = [f for f in photos if f.pk != around.pk]
        gap = lambda f: abs((f.created_at - around.created_at).total_seconds())  # noqa: E731
        return by_time([around, min(others, key=gap)])
    for same in (likeness, place_of):
        groups: dict[tuple, list[File]] = {}
        for photo in photos:
            if any(same(photo)):
                groups.setdefault(same(photo), []).append(photo)
        repeated = [by_time(group) for group in groups.values() if len(group) > 1]
        if repeated:
            best = max(repeated, key=lambda g: (bool(g[0].body_site_code), g[-1].created_at))
            return [best[0], best[-1]]
    return by_time(photos)[-2:]


@dataclass
class Comparison:
    photos: list[File]  # shown, in order (oldest first unless staff chose otherwise)
    choices: list[File]  # every photo of the patient that can be shown, oldest first


def comparison_for(
    *, account: Account, patient: Patient, file_ids: list[str], around_id: str = ""
) -> Comparison:
    """The photos named (only this patient's comparable ones, at most four, each once;
    other ids are ignored), else the default choice (around one of them if named)."""
    choices = list(comparable_photos(account=account, patient=patient))
    by_id = {str(f.pk): f for f in choices}
    chosen: list[File] = []
    for raw in file_ids:
        parsed = parse_uuid(raw)
        photo = by_id.get(str(parsed)) if parsed else None
        if photo is not None and photo not in chosen:
            chosen.append(photo)
    if len(chosen) < 2:
        around_uuid = parse_uuid(around_id) if around_id else None
        around = by_id.get(str(around_uuid)) if around_uuid else None
        around = around or (chosen[0] if chosen else None)
        chosen = default_choice(choices, around=around)
    return Comparison(photos=chosen[:MAX_PHOTOS], choices=choices)
