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
from dashboard.views.auth import CODE_REJECTED, ENROLMENT_ON, enrolment_context
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


REPLACE_NEEDS_CURRENT_CODE = "Enter the code your current authenticator app shows now."


def session_verified_with(request, device) -> bool:
    """True when this session was verified with ``device`` itself (not another one)."""
    verified_with = getattr(request.user, "otp_device", None)
    return bool(request.user.is_verified() and verified_with and verified_with.pk == device.pk)


@login_required
def two_factor_enrol(request):
    """Set up an authenticator app; also where a signed-in admin without one is sent.

    Replacing a confirmed app needs a session verified with that app, and its code
    once more on this form: a session left open, or a password alone, cannot move
    someone's second factor to another phone."""
    attach_staff(request)
    current = twofactor.confirmed_device(request.user)
    if current is not None and not session_verified_with(request, current):
        return two_factor_gate(request) or redirect("dashboard:security")
    key = twofactor.enrolment_key(request, user=request.user, purpose="security")
    form = TokenForm(request.POST or None)
    current_form = None
    if current is not None:
        current_form = TokenForm(request.POST or None, prefix="current")
        current_form.fields["token"].label = "Code from your current app"
        current_form.fields["token"].widget.attrs.pop("autofocus", None)
        form.fields["token"].label = "Code from the new app"
    forms_valid = form.is_valid() and (current_form is None or current_form.is_valid())
    if request.method == "POST" and forms_valid:
        if current_form is not None and not twofactor.token_verify(
            device=current, token=current_form.cleaned_data["token"]
        ):
            current_form.add_error("token", CODE_REJECTED)
        else:
            result, device = twofactor.enrolment_confirm(
                user=request.user, key=key, token=form.cleaned_data["token"], replacing=current
            )
            if result is twofactor.EnrolmentResult.CONFIRMED:
                twofactor.enrolment_forget(request)
                request.session.cycle_key()
                django_otp.login(request, device)
                messages.success(request, ENROLMENT_ON)
                return redirect("dashboard:security")
            if result is twofactor.EnrolmentResult.ALREADY_ENROLLED:
                twofactor.enrolment_forget(request)
                messages.error(request, "Your authenticator app was changed in another session.")
                return redirect("dashboard:security")
            form.add_error("token", CODE_REJECTED)
    preview = twofactor.enrolment_preview(request.user, key)
    return render(
        request,
        "dashboard/auth/enrol.html",
        enrolment_context(preview, form, during_sign_in=False, current_form=current_form),
    )


@require_POST
@staff_required
def two_factor_disable(request):
    if twofactor.two_factor_required(request.user):
        messages.error(request, "Everyone who signs in must keep two-factor sign-in on.")
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
