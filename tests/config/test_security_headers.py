"""Security headers on every kind of response the portal serves.

Each kind of page is one row: API JSON, API errors, the health check, the admin,
HTML error pages, the dashboard, the patient pages, file downloads and the embedded
storage's POST endpoint. A new kind of surface adds its row here.
"""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from django.test import Client

from portal.accounts.models import Staff
from portal.accounts.services import api_key_create
from tests.support.sessions import sign_in

pytestmark = pytest.mark.django_db


def get(path, **headers):
    return lambda world: Client().get(path, secure=True, **headers)


def signed_in(path):
    def call(world):
        client = sign_in(Client(), world.staff.user)
        return client.get(path, secure=True)

    return call


def patient_page(world):
    return Client().get(f"/r/{world.file_request.short_link_id}", secure=True)


def patient_upload_page(world):
    client = Client()
    link = f"/r/{world.file_request.short_link_id}"
    dob = world.file_request.patient.date_of_birth
    verified = client.post(
        link, {"day": dob.day, "month": dob.month, "year": dob.year}, secure=True
    )
    assert verified.status_code == 302
    return client.get("/r/upload", secure=True)


def download(world):
    return Client().get(f"/api/v1/files/{world.file.pk}", secure=True, HTTP_X_API_KEY=world.key)


def storage_endpoint(world):
    return Client().post("/storage/upload", {"key": "x"}, secure=True)


KINDS = {
    "api json": lambda world: Client().get(
        "/api/v1/patients", secure=True, HTTP_X_API_KEY=world.key
    ),
    "api 401": get("/api/v1/patients"),
    "api 404 route": lambda world: Client().get(
        "/api/v1/no-such-route", secure=True, HTTP_X_API_KEY=world.key
    ),
    "openapi schema": get("/api/schema/"),
    "api docs": get("/api/docs/"),
    "health": get("/healthz"),
    "admin login": get("/admin/login/"),
    "html 404": get("/no-such-page/"),
    "dashboard sign-in": get("/login/"),
    "dashboard page": signed_in("/patients/"),
    "dashboard settings": signed_in("/settings/audit/"),
    "patient page": patient_page,
    "patient upload page": patient_upload_page,
    "file download": download,
    "storage endpoint": storage_endpoint,
}


@pytest.fixture
def world(account, django_capture_on_commit_callbacks):
    from files.pipeline.processing import file_process
    from files.services import file_create_from_stream
    from tests.factories import FileRequestFactory, PatientFactory, StaffFactory
    from tests.files import samples

    patient = PatientFactory(account=account)
    file = file_create_from_stream(
        account=account,
        patient=patient,
        purpose="photo",
        original_name="a.jpg",
        declared_type="image/jpeg",
        stream=io.BytesIO(samples.jpeg()),
        uploaded_by=None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        file_process(file_id=file.pk)
    return SimpleNamespace(
        key=api_key_create(account=account).plaintext,
        staff=StaffFactory(account=account, role=Staff.Role.ADMIN),
        file=file,
        file_request=FileRequestFactory(account=account, patient=patient),
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_of_response_carries_the_security_headers(kind, world, settings):
    """GIVEN production's HSTS setting and an HTTPS request WHEN any kind of page is served
    THEN it carries CSP, nosniff, frame denial, a referrer policy and HSTS."""
    settings.SECURE_HSTS_SECONDS = 63072000
    response = KINDS[kind](world)
    assert response.status_code < 500, response.status_code
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp or "sandbox" in csp, csp
    assert "frame-ancestors 'none'" in csp or "sandbox" in csp
    assert "object-src 'none'" in csp or "sandbox" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] in {"same-origin", "no-referrer"}
    assert response.headers["Strict-Transport-Security"].startswith("max-age=63072000")
    if kind == "file download":
        assert response.status_code == 200
        assert "sandbox" in csp and response["Content-Disposition"].startswith("attachment")
    if kind.startswith("patient"):
        assert response.headers["Referrer-Policy"] == "no-referrer"
