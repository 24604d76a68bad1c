"""Asking for a password reset link, within a limit per address.

Django's reset view, with each ask counted first (portal.accounts.password_reset):
past the cooldown or the day's cap the form comes back (429) saying in words when
to try again, and no e-mail goes. The words are the same whether or not an account
uses the address, as Django's "sent" page already is.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.db import transaction
from django.utils import timezone

from portal.accounts.password_reset import password_reset_claim
from portal.sendlimits import Refusal


def refusal_words(refusal: Refusal, now) -> str:
    if refusal.reason == "cooldown":
        return (
            f"A reset link was asked for this address {refusal.cooldown_words()} ago. If "
            "an account uses it, the e-mail is on its way: look in your inbox and junk "
            f"folder. {refusal.try_again_words(now)}"
        )
    return (
        f"{refusal.per_day} reset links were asked for this address in 24 hours. If an "
        "account uses it, they are in your inbox or junk folder, and the newest works. "
        f"{refusal.try_again_words(now)}"
    )


class PasswordResetView(auth_views.PasswordResetView):
    def form_valid(self, form):
        with transaction.atomic():
            refusal = password_reset_claim(email=form.cleaned_data["email"])
            if refusal is None:
                return super().form_valid(form)
        now = timezone.now()
        form.add_error(None, refusal_words(refusal, now))
        response = self.render_to_response(self.get_context_data(form=form), status=429)
        response["Retry-After"] = str(refusal.retry_after_seconds(now))
        return response
