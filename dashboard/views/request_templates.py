"""Settings → Request templates: the clinic's ready-made photo requests (a message and
the photos to take, one slot each), listed, added, edited and deleted by its admins."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from dashboard.access import admin_required
from dashboard.forms.request_templates import RequestTemplateForm
from filerequests import request_templates
from portal.audit.services import Actor


def template_or_404(request, template_id):
    template = request_templates.request_template_get(
        account=request.account, template_id=template_id
    )
    if template is None:
        raise Http404("No such request template in this clinic.")
    return template


def render_page(request, form, *, editing=None, status=200):
    return render(
        request,
        "dashboard/settings/request_templates.html",
        {
            "templates": request_templates.request_template_list(account=request.account),
            "form": form,
            "editing": editing,
        },
        status=status,
    )


def save(request, form, *, template=None) -> bool:
    """Save the form's template (new, or ``template``); False with the form's errors."""
    try:
        request_templates.request_template_save(
            account=request.account,
            actor=Actor.for_staff(request.staff),
            name=form.cleaned_data["name"],
            message=form.cleaned_data["message"],
            slots=form.slots(),
            template=template,
        )
    except request_templates.TemplateInputError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return False
    return True


@never_cache
@admin_required
def request_template_list(request):
    if request.method != "POST":
        return render_page(request, RequestTemplateForm())
    form = RequestTemplateForm(request.POST)
    if form.is_valid() and save(request, form):
        messages.success(request, f"Added the request template “{form.cleaned_data['name']}”.")
        return redirect("dashboard:settings-request-templates")
    return render_page(request, form, status=400)


@never_cache
@admin_required
def request_template_edit(request, template_id):
    template = template_or_404(request, template_id)
    if request.method != "POST":
        form = RequestTemplateForm(
            initial={"name": template.name, "message": template.message},
            slots=[(slot.label, slot.instruction) for slot in template.slots.all()],
        )
        return render_page(request, form, editing=template)
    form = RequestTemplateForm(request.POST)
    if form.is_valid() and save(request, form, template=template):
        messages.success(request, f"Saved the request template “{form.cleaned_data['name']}”.")
        return redirect("dashboard:settings-request-templates")
    return render_page(request, form, editing=template, status=400)


@require_POST
@admin_required
def request_template_delete(request, template_id):
    template = template_or_404(request, template_id)
    name = template.name
    request_templates.request_template_delete(
        template=template, actor=Actor.for_staff(request.staff)
    )
    messages.success(
        request, f"Deleted the request template “{name}”. Requests sent with it are unchanged."
    )
    return redirect("dashboard:settings-request-templates")
