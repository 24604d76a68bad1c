"""E-mails the dashboard sends, through Django's configured e-mail backend."""

from __future__ import annotations

from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from portal.accounts.models import StaffInvitation
from portal.accounts.services import invited_user, staff_invitation_token


def staff_invitation_send(*, request, invitation: StaffInvitation) -> None:
    """E-mail the invitation's link to the address it names. Someone who already signs
    in is asked to sign in and accept; a new address chooses its password. Only the
    owner of the address reads which; the admin's page says the same either way."""
    link = request.build_absolute_uri(
        reverse("dashboard:staff-invitation", kwargs={"token": staff_invitation_token(invitation)})
    )
    context = {
        "invitation": invitation,
        "account": invitation.account,
        "link": link,
        "has_sign_in": invited_user(invitation) is not None,
    }
    send_mail(
        subject=f"You are invited to join {invitation.account.name}",
        message=render_to_string("dashboard/emails/staff_invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )
