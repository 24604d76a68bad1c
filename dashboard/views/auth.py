"""Sign-in pages: password, then a code (or setting one up), and sign-out.

The pages are the transitions of the state machine in dashboard.signin: each
asks where the session is (``current_step``) and serves only its own state; any
other state is sent to its own page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from dashboard import signin, twofactor
from dashboard.forms.auth import TokenForm
from dashboard.signin import SignInState
from portal.accounts import signin_throttle

CODE_REJECTED = "That code did not work. Codes change every 30 seconds: try the newest one."
TOO_MANY_ATTEMPTS = "Too many wrong codes. Wait a minute, then try the newest code."
ENROLLED_MEANWHILE = (
    "An authenticator app was set up for this account meanwhile: enter its code to sign in."
)
ENROLMENT_ON = "Two-factor sign-in is on. You will need a code each time."


def paused_message(pause: signin_throttle.Pause, now) -> str:
    """What a person is told while sign-in is paused: when they may try again."""
    minutes = pause.minutes_to_wait(now)
    at = timezone.localtime(pause.until).strftime("%H:%M %Z")
    return (
        f"{signin_throttle.PAUSED_WORDS} "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''} (after {at}). "
        "Forgot your password? Reset it with the link below."
    )


class LoginView(auth_views.LoginView):
    """anonymous --password--> the next state; signs in at once only people who use no code.

    Every password check is counted per e-mail address and per client address
    (portal.accounts.signin_throttle); while either is paused the password is not
    checked at all and the page says when to try again (429, Retry-After)."""

    template_name = "dashboard/auth/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        # Whole, not cut: the form strips what is typed before it looks the address up,
        # so a cut made before that would count 300 spaces and an address as spaces.
        email = request.POST.get("username", "")
        with transaction.atomic():
            self.throttle_keys = signin_throttle.keys_lock(email=email, request=request)
            pause = signin_throttle.pause_of(self.throttle_keys, timezone.now())
            if pause is not None:
                signin_throttle.refused_while_paused(
                    keys=self.throttle_keys, pause=pause, request=request
                )
                return self.paused_response(pause)
            return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if form.has_error(NON_FIELD_ERRORS, "invalid_login") or form.has_error(
            NON_FIELD_ERRORS, "inactive"
        ):
            pause = signin_throttle.failure_record(keys=self.throttle_keys, request=self.request)
            if pause is not None:
                return self.paused_response(pause)
        return super().form_invalid(form)

    def form_valid(self, form):
        user = form.get_user()
        signin_throttle.success_record(keys=self.throttle_keys, user=user, request=self.request)
        next_url = self.get_redirect_url() or ""
        state = signin.password_accepted(self.request, user, next_url)
        if state is SignInState.SIGNED_IN:
            return redirect(signin.safe_next(self.request, next_url))
        return redirect(signin.STEP_PAGE[state])

    def paused_response(self, pause: signin_throttle.Pause):
        now = timezone.now()
        form = self.get_form_class()(
            self.request, initial={"username": self.request.POST.get("username", "")[:254]}
        )
        context = self.get_context_data(form=form, paused_message=paused_message(pause, now))
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(pause.retry_after_seconds(now))
        return response


@never_cache
@csrf_protect
@sensitive_post_parameters("token")
def login_verify(request):
    """password_ok(needs_verify) --code--> signed_in."""
    step = signin.current_step(request)
    if step.state is not SignInState.NEEDS_VERIFY:
        return signin.redirect_to_step(request, step)
    device = twofactor.confirmed_device(step.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            form.add_error("token", TOO_MANY_ATTEMPTS)
        elif twofactor.token_verify(device=device, token=form.cleaned_data["token"]):
            return redirect(signin.second_factor_passed(request, step, device))
        else:
            form.add_error("token", CODE_REJECTED)
    return render(request, "dashboard/auth/verify.html", {"form": form, "pending_user": step.user})


@never_cache
@csrf_protect
@sensitive_post_parameters("token")
def login_enrol(request):
    """password_ok(needs_enrol) --first code--> signed_in: only for someone who must use
    a code and has no confirmed authenticator; never replaces one."""
    step = signin.current_step(request)
    if step.state is not SignInState.NEEDS_ENROL:
        return signin.redirect_to_step(request, step)
    key = twofactor.enrolment_key(request, user=step.user, purpose=f"sign-in {step.attempt}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result, device = twofactor.enrolment_confirm(
            user=step.user, key=key, token=form.cleaned_data["token"]
        )
        if result is twofactor.EnrolmentResult.CONFIRMED:
            twofactor.enrolment_forget(request)
            next_url = signin.second_factor_passed(request, step, device)
            messages.success(request, ENROLMENT_ON)
            return redirect(next_url)
        if result is twofactor.EnrolmentResult.ALREADY_ENROLLED:
            twofactor.enrolment_forget(request)
            messages.info(request, ENROLLED_MEANWHILE)
            return redirect("dashboard:login-verify")
        form.add_error("token", CODE_REJECTED)
    preview = twofactor.enrolment_preview(step.user, key)
    return render(
        request,
        "dashboard/auth/enrol.html",
        enrolment_context(preview, form, during_sign_in=True),
    )


def enrolment_context(device, form, *, during_sign_in: bool, current_form=None) -> dict:
    return {
        "form": form,
        "current_form": current_form,
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
