"""Security headers on every kind of response the portal serves.

Each kind of page is one row: API JSON, API errors, the health check, the admin,
HTML error pages. Surfaces added later (dashboard, patient page, downloads) add
their row here.
"""

from __future__ import annotations

import pytest
from django.test import Client

from portal.accounts.services import api_key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(account):
    return api_key_create(account=account).plaintext


KINDS = {
    "api json": lambda key: ("/api/v1/patients", {"HTTP_X_API_KEY": key}),
    "api 401": lambda key: ("/api/v1/patients", {}),
    "api 404 route": lambda key: ("/api/v1/no-such-route", {"HTTP_X_API_KEY": key}),
    "openapi schema": lambda key: ("/api/schema/", {}),
    "api docs": lambda key: ("/api/docs/", {}),
    "health": lambda key: ("/healthz", {}),
    "admin login": lambda key: ("/admin/login/", {}),
    "html 404": lambda key: ("/no-such-page/", {}),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_of_response_carries_the_security_headers(kind, key, settings):
    """GIVEN production's HSTS setting and an HTTPS request WHEN any kind of page is served
    THEN it carries CSP, nosniff, frame denial, a referrer policy and HSTS."""
    settings.SECURE_HSTS_SECONDS = 63072000
    path, headers = KINDS[kind](key)
    response = Client().get(path, secure=True, **headers)
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp or "sandbox" in csp, csp
    assert "frame-ancestors 'none'" in csp or "sandbox" in csp
    assert "object-src 'none'" in csp or "sandbox" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] in {"same-origin", "no-referrer"}
    assert response.headers["Strict-Transport-Security"].startswith("max-age=63072000")
