"""The File requests page: the account's requests by status. The create form,
a request's live page, resend and cancel plug in here (issue 7, second half)."""

from __future__ import annotations

from django.shortcuts import render

from dashboard import selectors
from dashboard.access import staff_required
from dashboard.pagination import paginate, query_without_page
from filerequests.models import FileRequest


@staff_required
def file_request_list(request):
    status = request.GET.get("status", "")
    if status not in FileRequest.Status.values:
        status = ""
    page = paginate(request, selectors.file_request_list(account=request.account, status=status))
    return render(
        request,
        "dashboard/file_requests/list.html",
        {
            "page": page,
            "status": status,
            "statuses": FileRequest.Status.choices,
            "page_query": query_without_page(request),
        },
    )
