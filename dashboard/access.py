"""Who may see a dashboard page.

``staff_required`` admits a signed-in member of an account (verified with a
code where two-factor is required) and sets ``request.staff`` and
``request.account``: every query a view makes is scoped by ``request.account``.
``admin_required`` also needs the account admin role, else 403.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import auth, messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone

from dashboard import twofactor
from portal.api.authentication import staff_for_session


def two_factor_gate(request):
    """A redirect when this signed-in user must still verify or enrol, else None."""
    user = request.user
    if user.is_verified():
        return None
    if twofactor.confirmed_device(user) is not None:
        # Enrolled in another session: sign in again, with the code this time.
        next_url = request.get_full_path()
        auth.logout(request)
        messages.info(request, "Please sign in again with your authentication code.")
        return redirect_to_login(next_url)
    if twofactor.two_factor_required(user):
        return redirect("dashboard:two-factor-enrol")
    return None


def staff_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        gate = two_factor_gate(request)
        if gate is not None:
            return gate
        staff = staff_for_session(request, request.user)
        if staff is None:
            return render(request, "dashboard/no_membership.html", status=403)
        request.staff = staff
        request.account = staff.account
        # Every time on the page is the clinic's: rendered inside the clinic's zone.
        with timezone.override(staff.account.zone):
            return view(request, *args, **kwargs)

    return wrapper


def admin_required(view):
    @staff_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.staff.is_admin:
            raise PermissionDenied("Only account admins can change the clinic's settings.")
        return view(request, *args, **kwargs)

    return wrapper
