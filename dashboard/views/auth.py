"""Sign-in (password, then a code where needed), enrolment at sign-in, sign-out."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from dashboard import signin, twofactor
from dashboard.forms.auth import TokenForm

CODE_REJECTED = "That code did not work. Codes change every 30 seconds: try the newest one."
TOO_MANY_ATTEMPTS = "Too many wrong codes. Wait a minute, then try the newest code."


class LoginView(auth_views.LoginView):
    """Checks the password; signs in at once only people who use no code."""

    template_name = "dashboard/auth/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        next_url = self.get_redirect_url() or ""
        if twofactor.confirmed_device(user) is not None:
            signin.pending_begin(self.request, user, next_url)
            return redirect("dashboard:login-verify")
        if twofactor.two_factor_required(user):
            signin.pending_begin(self.request, user, next_url)
            return redirect("dashboard:login-enrol")
        signin.sign_in(self.request, user)
        return redirect(signin.safe_next(self.request, next_url))


def restart_sign_in(request):
    signin.pending_clear(request)
    messages.info(request, "Your sign-in timed out. Please enter your password again.")
    return redirect("dashboard:login")


@never_cache
@csrf_protect
@sensitive_post_parameters("token")
def login_verify(request):
    user = signin.pending_user(request)
    device = twofactor.confirmed_device(user) if user else None
    if device is None:
        return restart_sign_in(request)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            form.add_error("token", TOO_MANY_ATTEMPTS)
        elif twofactor.token_verify(device=device, token=form.cleaned_data["token"]):
            next_url = signin.safe_next(request, signin.pending_next(request))
            signin.sign_in(request, user, device)
            return redirect(next_url)
        else:
            form.add_error("token", CODE_REJECTED)
    return render(request, "dashboard/auth/verify.html", {"form": form, "pending_user": user})


@never_cache
@csrf_protect
@sensitive_post_parameters("token")
def login_enrol(request):
    """First sign-in of someone who must use a code: set up the app, then in."""
    user = signin.pending_user(request)
    if user is None or not twofactor.two_factor_required(user):
        return restart_sign_in(request)
    device = twofactor.enrolment_device(user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if twofactor.enrolment_confirm(device=device, token=form.cleaned_data["token"]):
            device.refresh_from_db()
            next_url = signin.safe_next(request, signin.pending_next(request))
            signin.sign_in(request, user, device)
            messages.success(request, "Two-factor sign-in is on. You will need a code each time.")
            return redirect(next_url)
        form.add_error("token", CODE_REJECTED)
    return render(
        request,
        "dashboard/auth/enrol.html",
        enrolment_context(device, form, during_sign_in=True),
    )


def enrolment_context(device, form, *, during_sign_in: bool) -> dict:
    return {
        "form": form,
        "qr_code": twofactor.qr_code_data_uri(device.config_url),
        "secret": twofactor.secret_for_display(device),
        "during_sign_in": during_sign_in,
    }


class LogoutView(auth_views.LogoutView):
    """Sign out (POST only) and back to the sign-in page (LOGOUT_REDIRECT_URL)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.success(request, "You are signed out.")
        return response
