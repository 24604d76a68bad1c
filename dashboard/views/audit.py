"""Settings → Audit log: the account's events, filtered, newest first."""

from __future__ import annotations

from django.shortcuts import render

from dashboard import selectors
from dashboard.access import admin_required
from dashboard.forms.settings import AuditFilterForm
from dashboard.pagination import paginate, query_without_page

AUDIT_PAGE_SIZE = 50


@admin_required
def audit_log(request):
    form = AuditFilterForm(
        request.GET or None, actions=selectors.audit_actions(account=request.account)
    )
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    events = selectors.audit_event_list(
        account=request.account, **{key: value for key, value in filters.items() if value}
    )
    status = 400 if form.is_bound and form.errors else 200
    page = paginate(request, events, per_page=AUDIT_PAGE_SIZE)
    return render(
        request,
        "dashboard/settings/audit.html",
        {"form": form, "page": page, "page_query": query_without_page(request)},
        status=status,
    )
