"""E-mails the dashboard sends, through Django's configured e-mail backend."""

from __future__ import annotations

from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portal.accounts.models import Staff


def staff_invitation_send(*, request, staff: Staff, set_password_link: bool) -> None:
    """Tell a new member they were added; with a link to choose a password when
    they have none yet (the same signed, single-use link as a password reset)."""
    user = staff.user
    set_password_url = None
    if set_password_link:
        path = reverse(
            "dashboard:password-reset-confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
        set_password_url = request.build_absolute_uri(path)
    context = {
        "staff": staff,
        "account": staff.account,
        "set_password_url": set_password_url,
        "sign_in_url": request.build_absolute_uri(reverse("dashboard:login")),
    }
    send_mail(
        subject=f"You have been added to {staff.account.name}",
        message=render_to_string("dashboard/emails/staff_invitation.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )
