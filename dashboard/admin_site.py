"""The Django admin behind the dashboard's sign-in: one door, with two-factor.

The admin's own login form knows nothing of authentication codes, so its login
page sends people to the portal's sign-in, and the admin admits only sessions
verified with a code (superusers must enrol, see dashboard.twofactor).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse

from dashboard.access import two_factor_gate
from dashboard.signin import safe_next


def admin_login(request, extra_context=None):
    """The admin's login page: the portal's sign-in, or the next step of it."""

    next_url = safe_next(request, request.GET.get("next") or reverse("admin:index"))
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(next_url, reverse("dashboard:login"))
    if not user.is_verified():
        # Every admin user signs in with a code: verify it, or set one up first.
        return two_factor_gate(request) or redirect("dashboard:two-factor-enrol")
    if not user.is_staff:
        raise PermissionDenied("Your sign-in does not include the Django admin.")
    return redirect(next_url)


def admin_has_permission(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and user.is_verified())


def secure_admin_site(site: admin.AdminSite = admin.site) -> None:
    site.site_header = "Clinic File Portal admin"
    site.site_title = "Clinic File Portal admin"
    site.index_title = "Records and settings"
    site.site_url = "/"
    # The app list is one click away on the index; the width goes to the lists' columns.
    site.enable_nav_sidebar = False
    site.login = admin_login
    site.has_permission = admin_has_permission
