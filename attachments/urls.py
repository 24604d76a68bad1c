"""API routes of this app, included under /api/v1/ by portal/urls.py."""

urlpatterns: list = []
