"""Page numbers for dashboard lists, keeping the list's filters in every page link."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Page, Paginator


def paginate(request, items, *, per_page: int | None = None) -> Page:
    paginator = Paginator(items, per_page or settings.DASHBOARD_PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


def query_without_page(request) -> str:
    """The current query string without ``page``, for building page links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
