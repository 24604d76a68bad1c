from rest_framework.permissions import BasePermission

from portal.api.caller import Caller


class IsAccountCaller(BasePermission):
    """Only callers that act for an account (an API key or a staff member)."""

    message = "Authentication required: send an API key or sign in."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Caller)


class IsAccountAdmin(IsAccountCaller):
    """Account settings (keys, webhooks, staff): API keys and staff admins only."""

    message = "Only an account admin may do this."

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        caller: Caller = request.auth
        return caller.staff is None or caller.staff.is_admin
