"""What every dashboard page's layout needs: the clinic, the account switcher, the section."""

from __future__ import annotations

from dashboard import inbox, selectors

APP_LAYOUT = "dashboard/layouts/app.html"
PUBLIC_LAYOUT = "dashboard/layouts/public.html"

SECTIONS = {
    "patient": "patients",
    "file-request": "file_requests",
    "review": "inbox",
    "notifications": "notifications",
    "settings": "settings",
    "security": "security",
    "two-factor": "security",
}


def current_section(request) -> str:
    match = getattr(request, "resolver_match", None)
    name = (match.url_name or "") if match else ""
    for prefix, section in SECTIONS.items():
        if name.startswith(prefix):
            return section
    return ""


def dashboard(request):
    staff = getattr(request, "staff", None)
    if staff is None:
        return {"layout": PUBLIC_LAYOUT, "current_staff": None}
    memberships = list(request.user.memberships.select_related("account").order_by("account__name"))
    return {
        "layout": APP_LAYOUT,
        "webhook_alerts": (
            selectors.webhook_alerts(account=staff.account) if staff.is_admin else []
        ),
        "current_staff": staff,
        "current_account": staff.account,
        "memberships": memberships,
        "section": current_section(request),
        "review_counts": inbox.review_counts(account=staff.account, staff=staff),
    }
