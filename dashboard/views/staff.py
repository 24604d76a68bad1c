"""Settings → Staff: invite, change role, remove; and the invitation's own page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from dashboard import selectors
from dashboard.access import admin_required, two_factor_gate
from dashboard.emails import staff_invitation_send
from dashboard.forms.auth import InvitationPasswordForm
from dashboard.forms.settings import StaffInviteForm, StaffRoleForm
from portal.accounts.models import Staff
from portal.accounts.services import (
    InvitationForAnotherUser,
    InvitationUnusable,
    StaffChangeError,
    invited_user,
    staff_invitation_accept,
    staff_invitation_accept_new_user,
    staff_invitation_for_token,
    staff_invitations_pending,
    staff_invite,
    staff_remove,
    staff_role_change,
)
from portal.accounts.twofactor_reset import (
    staff_two_factor_reset,
    staff_two_factor_reset_refusal,
)

INVITATION_TEMPLATE = "dashboard/auth/invitation.html"


def render_page(request, form, *, invited=None, status=200):
    members = selectors.staff_member_list(account=request.account)
    return render(
        request,
        "dashboard/settings/staff.html",
        {
            "form": form,
            "invited": invited,
            "members": members,
            "invitations": staff_invitations_pending(account=request.account),
            "roles": Staff.Role.choices,
        },
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
    """Inviting answers the same whether the address already has a sign-in or not."""
    if request.method != "POST":
        return render_page(request, StaffInviteForm())
    form = StaffInviteForm(request.POST)
    if not form.is_valid():
        return render_page(request, form, status=400)
    try:
        invitation = staff_invite(
            account=request.account,
            email=form.cleaned_data["email"],
            display_name=form.cleaned_data["display_name"],
            role=form.cleaned_data["role"],
            invited_by=request.staff,
        )
    except StaffChangeError as exc:
        form.add_error("email", str(exc))
        return render_page(request, form, status=400)
    staff_invitation_send(request=request, invitation=invitation)
    return render_page(request, StaffInviteForm(), invited=invitation, status=201)


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


@never_cache
@require_http_methods(["GET", "POST"])
@admin_required
def staff_two_factor_reset_view(request, staff_id):
    """A colleague lost their phone: GET says what a reset does, POST does it."""
    member = get_member_or_404(request, staff_id)
    refusal = staff_two_factor_reset_refusal(actor=request.staff, staff=member)
    if refusal is None and request.method == "POST":
        try:
            staff_two_factor_reset(actor=request.staff, staff=member, request=request)
        except StaffChangeError as exc:
            refusal = str(exc)
        else:
            messages.success(
                request,
                f"Two-factor sign-in of {member} is reset and they are signed out everywhere. "
                "They set up a new authenticator app when they next sign in.",
            )
            return redirect("dashboard:settings-staff")
    if refusal is not None:
        messages.error(request, refusal)
        return redirect("dashboard:settings-staff")
    return render(request, "dashboard/settings/staff_two_factor_reset.html", {"member": member})


def invitation_page(request, mode: str, *, invitation=None, form=None, status=200):
    return render(
        request,
        INVITATION_TEMPLATE,
        {"mode": mode, "invitation": invitation, "form": form},
        status=status,
    )


@never_cache
@csrf_protect
@sensitive_post_parameters("new_password1", "new_password2")
def staff_invitation(request, token):
    """The invitation's link. A person who already signs in must be signed in as the
    invited address (with their code, where they use one) and press Accept; a new
    address chooses its password here, then signs in through the usual sign-in."""
    try:
        invitation = staff_invitation_for_token(token)
    except InvitationUnusable:
        return invitation_page(request, "unusable", status=410)

    if request.user.is_authenticated:
        gate = two_factor_gate(request)
        if gate is not None:
            return gate
        if request.user.email.lower() != invitation.email.lower():
            return invitation_page(request, "other_user", invitation=invitation, status=403)
        if request.method == "POST":
            try:
                staff = staff_invitation_accept(invitation=invitation, user=request.user)
            except InvitationUnusable:
                return invitation_page(request, "unusable", status=410)
            request.session["account_id"] = str(staff.account_id)
            messages.success(request, f"You are now a member of {invitation.account.name}.")
            return redirect("dashboard:home")
        return invitation_page(request, "accept", invitation=invitation)

    if invited_user(invitation) is not None:
        messages.info(
            request,
            f"Sign in as {invitation.email} to accept the invitation to {invitation.account.name}.",
        )
        return redirect_to_login(request.get_full_path())

    form = InvitationPasswordForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            staff_invitation_accept_new_user(
                invitation=invitation, password=form.cleaned_data["new_password1"]
            )
        except InvitationUnusable:
            return invitation_page(request, "unusable", status=410)
        except InvitationForAnotherUser:
            return redirect_to_login(request.get_full_path())
        messages.success(
            request, f"Your password is set. Sign in to start with {invitation.account.name}."
        )
        return redirect("dashboard:login")
    status = 400 if form.is_bound else 200
    return invitation_page(
        request, "choose_password", invitation=invitation, form=form, status=status
    )
