"""Settings → Webhooks: endpoints (the secret is shown once, at creation), their
deliveries with every attempt, a test ping, redeliver, edit and delete."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from dashboard.access import admin_required
from dashboard.forms.webhooks import EVENT_LABELS, WebhookEndpointForm
from dashboard.lookups import get_delivery_or_404, get_webhook_endpoint_or_404
from dashboard.pagination import paginate, query_without_page
from portal.audit.services import Actor
from portal.webhooks import selectors, services
from portal.webhooks.models import Delivery

DELIVERIES_PER_PAGE = 20


def add_service_errors(form, error: ValidationError) -> None:
    for field, problems in error.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


def render_list(request, form, *, created=None, status=200):
    return render(
        request,
        "dashboard/settings/webhooks.html",
        {
            "form": form,
            "created": created,
            "endpoints": selectors.webhook_endpoint_list(account=request.account),
            "event_labels": EVENT_LABELS,
        },
        status=status,
    )


@never_cache
@admin_required
def webhook_list(request):
    if request.method != "POST":
        return render_list(request, WebhookEndpointForm())
    form = WebhookEndpointForm(request.POST)
    if form.is_valid():
        try:
            endpoint = services.webhook_endpoint_create(
                account=request.account,
                actor=Actor.for_staff(request.staff),
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                active=form.cleaned_data["active"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            # The secret is in this response only; it is never shown again.
            return render_list(request, WebhookEndpointForm(), created=endpoint, status=201)
    return render_list(request, form, status=400)


@admin_required
def webhook_detail(request, endpoint_id):
    endpoint = get_webhook_endpoint_or_404(request, endpoint_id)
    form = WebhookEndpointForm(
        request.POST or None, initial=WebhookEndpointForm.initial_for(endpoint)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_endpoint_update(
                endpoint=endpoint,
                actor=Actor.for_staff(request.staff),
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                active=form.cleaned_data["active"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "The endpoint is saved.")
            return redirect("dashboard:settings-webhook-detail", endpoint_id=endpoint.id)
    status_filter = request.GET.get("status", "")
    if status_filter not in Delivery.Status.values:
        status_filter = ""
    deliveries = paginate(
        request,
        selectors.webhook_delivery_list(
            account=request.account, endpoint=endpoint, status=status_filter
        ),
        per_page=DELIVERIES_PER_PAGE,
    )
    return render(
        request,
        "dashboard/settings/webhook_detail.html",
        {
            "endpoint": endpoint,
            "form": form,
            "page": deliveries,
            "status": status_filter,
            "statuses": Delivery.Status.choices,
            "page_query": query_without_page(request),
            "event_labels": EVENT_LABELS,
        },
        status=400 if form.errors else 200,
    )


@require_POST
@admin_required
def webhook_ping(request, endpoint_id):
    endpoint = get_webhook_endpoint_or_404(request, endpoint_id)
    services.webhook_endpoint_ping(endpoint=endpoint, actor=Actor.for_staff(request.staff))
    messages.success(request, "A test event (webhook.ping) is on its way. It shows below.")
    return redirect("dashboard:settings-webhook-detail", endpoint_id=endpoint.id)


@require_POST
@admin_required
def webhook_delete(request, endpoint_id):
    endpoint = get_webhook_endpoint_or_404(request, endpoint_id)
    url = endpoint.url
    services.webhook_endpoint_delete(endpoint=endpoint, actor=Actor.for_staff(request.staff))
    messages.success(request, f"The endpoint {url} is deleted, with its deliveries.")
    return redirect("dashboard:settings-webhooks")


@require_POST
@admin_required
def webhook_redeliver(request, endpoint_id, delivery_id):
    endpoint = get_webhook_endpoint_or_404(request, endpoint_id)
    delivery = get_delivery_or_404(request, endpoint, delivery_id)
    try:
        services.delivery_redeliver(delivery=delivery, actor=Actor.for_staff(request.staff))
    except services.WebhookConflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The {delivery.event.type} event is being delivered again.")
    return redirect("dashboard:settings-webhook-detail", endpoint_id=endpoint.id)
