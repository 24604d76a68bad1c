"""Settings → Audit log: the account's events in words, filtered by person, patient,
action and dates, newest first; and the filtered view as CSV (itself audited)."""

from __future__ import annotations

import csv

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from dashboard import selectors
from dashboard.access import admin_required
from dashboard.audit_log import CSV_HEADER, csv_row, event_rows
from dashboard.forms.settings import AuditFilterForm
from dashboard.pagination import paginate, query_without_page
from portal.audit.services import Actor, audit_record

AUDIT_PAGE_SIZE = 50
# Rows named per round of look-ups while streaming an export.
EXPORT_CHUNK = 500
EXPORT_MAX_ROWS = 100_000


def filtered_events(request):
    """The filter form and the events it selects (all of them, when it is invalid)."""
    form = AuditFilterForm(
        request.GET or None,
        actions=selectors.audit_actions(account=request.account),
        people=list(selectors.staff_member_list(account=request.account)),
    )
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    arguments = {
        key: filters[key]
        for key in ("who", "action", "target_id", "occurred_from", "occurred_to")
        if filters.get(key)
    }
    patients = []
    if filters.get("patient"):
        patients = selectors.audit_patients_matching(
            account=request.account, text=filters["patient"]
        )
        arguments["patient_ids"] = [patient.pk for patient in patients]
    events = selectors.audit_event_list(account=request.account, **arguments)
    return form, filters, patients, events


@admin_required
def audit_log(request):
    form, filters, patients, events = filtered_events(request)
    page = paginate(request, events, per_page=AUDIT_PAGE_SIZE)
    rows = event_rows(account=request.account, events=list(page.object_list), show_patients=True)
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "dashboard/settings/audit.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "page_query": query_without_page(request),
            "export_query": query_without_page(request),
            "patient_text": filters.get("patient", ""),
            "patients_matched": patients,
        },
        status=status,
    )


class Echo:
    """A file-like object whose write returns the line, for csv.writer to stream."""

    def write(self, value):
        return value


def csv_lines(request, events):
    # Every cell quoted: a spreadsheet whose list separator is a comma never splits one.
    writer = csv.writer(Echo(), quoting=csv.QUOTE_ALL)
    yield "\ufeff" + writer.writerow(CSV_HEADER)  # BOM: Excel reads UTF-8
    chunk: list = []
    for event in events.iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(event)
        if len(chunk) == EXPORT_CHUNK:
            yield from csv_chunk(request, writer, chunk)
            chunk = []
    if chunk:
        yield from csv_chunk(request, writer, chunk)


def csv_chunk(request, writer, events):
    rows = event_rows(account=request.account, events=events, show_patients=True)
    for row in rows:
        yield writer.writerow(csv_row(row))


@admin_required
def audit_export(request):
    """The filtered view as CSV. The export is itself an event, with its filters and
    size, recorded before the first byte is sent."""
    _form, filters, _patients, events = filtered_events(request)
    events = events[:EXPORT_MAX_ROWS]
    count = events.count()
    audit_record(
        account=request.account,
        actor=Actor.for_staff(request.staff),
        action="audit_log.export",
        request=request,
        detail={
            "rows": count,
            "filters": {key: str(value) for key, value in filters.items() if value},
        },
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(csv_lines(request, events), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
