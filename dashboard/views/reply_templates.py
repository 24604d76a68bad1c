"""Settings → Reply texts: the clinic's ready-made replies to patients after review."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from dashboard.access import admin_required
from dashboard.forms.review import ReplyTemplateForm
from filerequests import replies
from portal.audit.services import Actor


def template_or_404(request, template_id):
    template = replies.reply_template_get(account=request.account, template_id=template_id)
    if template is None:
        raise Http404("No such reply text in this clinic.")
    return template


def page(request, form, *, editing=None, status=200):
    return render(
        request,
        "dashboard/settings/reply_templates.html",
        {
            "templates": replies.reply_templates_of(account=request.account),
            "form": form,
            "editing": editing,
        },
        status=status,
    )


def saved(request, form, *, template=None):
    """Save the form's template (new, or ``template``); the page again with errors."""
    try:
        replies.reply_template_save(
            account=request.account,
            actor=Actor.for_staff(request.staff),
            name=form.cleaned_data["name"],
            body=form.cleaned_data["body"],
            template=template,
        )
    except replies.ReplyTemplateInputError as exc:
        form.add_error(exc.field, exc.message)
        return None
    return True


@never_cache
@admin_required
def reply_template_list(request):
    form = ReplyTemplateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid() and saved(request, form):
            messages.success(request, f"Added the reply text “{form.cleaned_data['name']}”.")
            return redirect("dashboard:settings-reply-templates")
        return page(request, form, status=400)
    return page(request, form)


@never_cache
@admin_required
def reply_template_edit(request, template_id):
    template = template_or_404(request, template_id)
    if request.method != "POST":
        form = ReplyTemplateForm(initial={"name": template.name, "body": template.body})
        return page(request, form, editing=template)
    form = ReplyTemplateForm(request.POST)
    if form.is_valid() and saved(request, form, template=template):
        messages.success(request, f"Saved the reply text “{form.cleaned_data['name']}”.")
        return redirect("dashboard:settings-reply-templates")
    return page(request, form, editing=template, status=400)


@require_POST
@admin_required
def reply_template_delete(request, template_id):
    template = template_or_404(request, template_id)
    name = template.name
    replies.reply_template_delete(template=template, actor=Actor.for_staff(request.staff))
    messages.success(request, f"Deleted the reply text “{name}”.")
    return redirect("dashboard:settings-reply-templates")
