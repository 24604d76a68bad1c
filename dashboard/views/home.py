"""The dashboard's front door and the account switcher."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.http import require_POST
from django.views.generic import RedirectView

from dashboard.access import admin_required, staff_required
from portal.ids import parse_uuid


@staff_required
def home(request):
    return redirect("dashboard:patient-list")


@require_POST
@staff_required
def account_switch(request):
    """Act for another clinic this person belongs to; the next page shows its data."""
    account_id = parse_uuid(request.POST.get("account_id"))
    if account_id is None or not request.user.memberships.filter(account_id=account_id).exists():
        raise Http404("You are not a member of that clinic.")
    request.session["account_id"] = str(account_id)
    return redirect("dashboard:patient-list")


def favicon(request):
    return RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)(request)


@admin_required
def settings_home(request):
    return redirect("dashboard:settings-api-keys")
