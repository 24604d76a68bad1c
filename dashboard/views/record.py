"""The patient record on the patient's page: every file of the patient, filtered and
grouped, and the bytes of any one of them."""

from __future__ import annotations

from django.http import Http404

from dashboard import record, serving
from dashboard.access import staff_required
from dashboard.lookups import get_patient_or_404
from dashboard.pagination import paginate
from files.models import File
from portal.ids import parse_uuid

RECORD_PAGE_SIZE = 60


def record_filters(request) -> dict:
    """The record's filters from the query string; unknown values mean "any"."""
    source = request.GET.get("source", "")
    kind = request.GET.get("kind", "")
    group = request.GET.get("group", "")
    return {
        "source": source if source in File.Source.values else "",
        "kind": kind if kind in dict(record.KIND_CHOICES) else "",
        "group": group if group in dict(record.GROUP_CHOICES) else record.GROUP_DATE,
        "archived": (
            record.ARCHIVED_ONLY if request.GET.get("archived") == "1" else record.ARCHIVED_EXCLUDE
        ),
    }


def record_query(filters: dict, **changes) -> str:
    """A query string for the record with ``changes`` applied, defaults left out."""
    merged = {**filters, **changes}
    params = []
    for name in ("source", "kind"):
        if merged[name]:
            params.append(f"{name}={merged[name]}")
    if merged["group"] != record.GROUP_DATE:
        params.append(f"group={merged['group']}")
    if merged["archived"] == record.ARCHIVED_ONLY:
        params.append("archived=1")
    return "&".join(params)


def record_context(request, patient) -> dict:
    filters = record_filters(request)
    files = record.patient_record_files(
        account=request.account,
        patient=patient,
        source=filters["source"],
        kind=filters["kind"],
        archived=filters["archived"],
    )
    page = paginate(request, files, per_page=RECORD_PAGE_SIZE)
    page_files = list(page.object_list)
    show_archived = filters["archived"] == record.ARCHIVED_ONLY
    return {
        "patient": patient,
        "page": page,
        "page_query": record_query(filters),
        "record_files": page_files,
        "record_groups": record.record_groups(page_files, group=filters["group"]),
        "filters": filters,
        "filtered": bool(filters["source"] or filters["kind"]),
        "source_links": [
            (value, label, record_query(filters, source=value))
            for value, label in [("", "All sources"), *File.Source.choices]
        ],
        "kind_links": [
            (value, label, record_query(filters, kind=value))
            for value, label in [("", "All types"), *record.KIND_CHOICES]
        ],
        "group_links": [
            (value, label, record_query(filters, group=value))
            for value, label in record.GROUP_CHOICES
        ],
        "show_archived": show_archived,
        "archived_count": (
            0
            if show_archived
            else record.archived_attachment_count(account=request.account, patient=patient)
        ),
        "processing": any(
            f.state in (File.State.PENDING, File.State.PROCESSING) for f in page_files
        ),
    }


def get_record_file_or_404(request, patient, file_id) -> File:
    parsed = parse_uuid(file_id)
    file = (
        File.objects.filter(account=request.account, patient=patient, pk=parsed).first()
        if parsed
        else None
    )
    if file is None:
        raise Http404("No such file in this patient's record.")
    return file


@staff_required
def record_file_thumbnail(request, patient_id, file_id):
    patient = get_patient_or_404(request, patient_id)
    file = get_record_file_or_404(request, patient, file_id)
    return serving.staff_file_response(request, file=file, variant=serving.THUMBNAIL)


@staff_required
def record_file_content(request, patient_id, file_id):
    patient = get_patient_or_404(request, patient_id)
    file = get_record_file_or_404(request, patient, file_id)
    return serving.staff_file_response(request, file=file, variant=serving.CONTENT)
