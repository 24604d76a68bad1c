"""The signed-in person's own security: two-factor sign-in and password."""

from __future__ import annotations

import django_otp
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dashboard import twofactor
from dashboard.access import staff_required, two_factor_gate
from dashboard.forms.auth import TokenForm
from dashboard.views.auth import CODE_REJECTED, enrolment_context
from portal.api.authentication import staff_for_session


def attach_staff(request) -> None:
    """Security pages serve people without a membership too (operators' superusers);
    members see them inside the dashboard's frame."""
    staff = staff_for_session(request, request.user)
    if staff is not None:
        request.staff = staff
        request.account = staff.account


def password_form(user, data=None) -> PasswordChangeForm:
    form = PasswordChangeForm(user, data)
    form.fields["old_password"].widget.attrs.pop("autofocus", None)
    form.fields["old_password"].label = "Current password"
    form.fields["new_password2"].label = "Repeat the new password"
    return form


@staff_required
def security(request):
    device = twofactor.confirmed_device(request.user)
    return render(
        request,
        "dashboard/security/index.html",
        {
            "device": device,
            "required": twofactor.two_factor_required(request.user),
            "password_form": password_form(request.user),
        },
    )


@login_required
def two_factor_enrol(request):
    """Set up an authenticator app; also where a signed-in admin without one is sent."""
    attach_staff(request)
    if twofactor.confirmed_device(request.user) is not None and not request.user.is_verified():
        # Replacing an app needs a session verified with the current one.
        return two_factor_gate(request)
    device = twofactor.enrolment_device(request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if twofactor.enrolment_confirm(device=device, token=form.cleaned_data["token"]):
            device.refresh_from_db()
            request.session.cycle_key()
            django_otp.login(request, device)
            messages.success(request, "Two-factor sign-in is on. You will need a code each time.")
            return redirect("dashboard:security")
        form.add_error("token", CODE_REJECTED)
    return render(
        request,
        "dashboard/auth/enrol.html",
        enrolment_context(device, form, during_sign_in=False),
    )


@require_POST
@staff_required
def two_factor_disable(request):
    if twofactor.two_factor_required(request.user):
        messages.error(request, "Account admins must keep two-factor sign-in on.")
    else:
        twofactor.two_factor_disable(user=request.user)
        messages.success(request, "Two-factor sign-in is off.")
    return redirect("dashboard:security")


@require_POST
@staff_required
def password_change(request):
    form = password_form(request.user, request.POST)
    if form.is_valid():
        form.save()
        update_session_auth_hash(request, form.user)
        messages.success(request, "Your password has been changed.")
        return redirect("dashboard:security")
    device = twofactor.confirmed_device(request.user)
    return render(
        request,
        "dashboard/security/index.html",
        {
            "device": device,
            "required": twofactor.two_factor_required(request.user),
            "password_form": form,
        },
        status=400,
    )
