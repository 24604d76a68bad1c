"""What every fault and load test checks at the end: nothing lost, nothing twice,
nothing left behind."""

from __future__ import annotations

from files.models import Facet, File
from portal.webhooks.models import Event


def ready_events(file_id) -> int:
    return Event.objects.filter(type="file.ready", payload__data__fileId=str(file_id)).count()


def assert_ready_exactly_once(file_ids) -> list[File]:
    """Each file is ``ready``, once: one ``file.ready`` event, one facet of each name,
    no temporary key left on the row."""
    files = []
    problems = []
    for file_id in file_ids:
        file = File.objects.get(pk=file_id)
        names = sorted(file.facets.values_list("name", flat=True))
        expected = [Facet.CONTENT, Facet.THUMBNAIL] if file.width else [Facet.CONTENT]
        events = ready_events(file_id)
        if file.state != File.State.READY or names != expected or events != 1 or file.temp_key:
            problems.append(
                f"{file_id}: state={file.state} ({file.rejection_reason!r}) facets={names} "
                f"file.ready events={events} temp_key={file.temp_key!r}"
            )
        files.append(file)
    assert not problems, "\n".join(problems)
    return files


def all_final(file_ids) -> bool:
    return File.objects.filter(pk__in=list(file_ids), temp_key="").filter(
        state__in=[File.State.READY, File.State.REJECTED]
    ).count() == len(set(file_ids))
