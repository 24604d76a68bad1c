"""Settings → Staff: invite, change role, remove."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from dashboard import selectors
from dashboard.access import admin_required
from dashboard.emails import staff_invitation_send
from dashboard.forms.settings import StaffInviteForm, StaffRoleForm
from portal.accounts.models import Staff
from portal.accounts.services import (
    StaffChangeError,
    staff_invite,
    staff_remove,
    staff_role_change,
)


def render_page(request, form, *, invited=None, status=200):
    members = selectors.staff_member_list(account=request.account)
    return render(
        request,
        "dashboard/settings/staff.html",
        {"form": form, "invited": invited, "members": members, "roles": Staff.Role.choices},
        status=status,
    )


def get_member_or_404(request, staff_id):
    member = selectors.staff_member_get(account=request.account, staff_id=staff_id)
    if member is None:
        raise Http404("No such staff member in this clinic.")
    return member


@never_cache
@admin_required
def staff_list(request):
    if request.method != "POST":
        return render_page(request, StaffInviteForm())
    form = StaffInviteForm(request.POST)
    if not form.is_valid():
        return render_page(request, form, status=400)
    try:
        invited = staff_invite(
            account=request.account,
            email=form.cleaned_data["email"],
            display_name=form.cleaned_data["display_name"],
            role=form.cleaned_data["role"],
            invited_by=request.staff,
            with_temporary_password=form.cleaned_data["how"] == StaffInviteForm.HOW_PASSWORD,
        )
    except StaffChangeError as exc:
        form.add_error("email", str(exc))
        return render_page(request, form, status=400)
    staff_invitation_send(
        request=request,
        staff=invited.staff,
        set_password_link=not invited.existing_user and invited.temporary_password is None,
    )
    return render_page(request, StaffInviteForm(), invited=invited, status=201)


@require_POST
@admin_required
def staff_role(request, staff_id):
    member = get_member_or_404(request, staff_id)
    form = StaffRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles offered.")
        return redirect("dashboard:settings-staff")
    try:
        staff_role_change(staff=member, role=form.cleaned_data["role"], changed_by=request.staff)
    except StaffChangeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{member} is now {member.get_role_display().lower()}.")
    return redirect("dashboard:settings-staff")


@require_POST
@admin_required
def staff_remove_view(request, staff_id):
    member = get_member_or_404(request, staff_id)
    try:
        staff_remove(staff=member, removed_by=request.staff)
    except StaffChangeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{member} no longer has access to {request.account.name}.")
    return redirect("dashboard:settings-staff")
