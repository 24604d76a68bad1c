"""Settings → API keys: create (the key is shown once), list, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from dashboard import selectors
from dashboard.access import admin_required
from dashboard.forms.settings import ApiKeyForm
from portal.accounts.services import api_key_create, api_key_revoke


def render_page(request, form, *, issued=None, status=200):
    return render(
        request,
        "dashboard/settings/api_keys.html",
        {
            "form": form,
            "issued": issued,
            "api_keys": selectors.api_key_list(account=request.account),
        },
        status=status,
    )


@never_cache
@admin_required
def api_key_list(request):
    if request.method != "POST":
        return render_page(request, ApiKeyForm())
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return render_page(request, form, status=400)
    issued = api_key_create(
        account=request.account, name=form.cleaned_data["name"], created_by=request.staff
    )
    # Shown in this response only: the key is not stored and is never shown again.
    return render_page(request, ApiKeyForm(), issued=issued, status=201)


@require_POST
@admin_required
def api_key_revoke_view(request, api_key_id):
    api_key = selectors.api_key_get(account=request.account, api_key_id=api_key_id)
    if api_key is None:
        raise Http404("No such API key in this clinic.")
    if api_key.is_active:
        api_key_revoke(api_key=api_key, revoked_by=request.staff)
        messages.success(request, f"“{api_key.name}” is revoked. Calls with it now fail.")
    return redirect("dashboard:settings-api-keys")
