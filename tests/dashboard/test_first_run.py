"""The first run: on a developer's machine, where texts go to the console or a file,
the request page shows the text message the patient would get, with its link, so the
patient's side can be tried at once. Never in production, nor with a real SMS backend."""

from __future__ import annotations

import pytest

from filerequests.models import FileRequest
from tests.factories import FileRequestFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "backend", ["filerequests.sms.ConsoleSmsBackend", "filerequests.sms.FileSmsBackend"]
)
def test_development_shows_the_text_and_its_link(clinician_client, account, settings, backend):
    settings.IS_PRODUCTION = False
    settings.SMS_BACKEND = backend
    settings.PORTAL_PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    file_request = FileRequestFactory(account=account)
    html = clinician_client.get(f"/file-requests/{file_request.id}/").content.decode()
    assert "Development only: the text the patient gets" in html
    link = f"http://127.0.0.1:8000/r/{file_request.short_link_id}"
    assert f'<a href="{link}"' in html
    assert f"{account.name} has asked you for photos." in html


@pytest.mark.parametrize(
    ("production", "backend", "status"),
    [
        (True, "filerequests.sms.ConsoleSmsBackend", "sent"),
        (False, "filerequests.sms.TwilioSmsBackend", "sent"),
        (False, "filerequests.sms.ConsoleSmsBackend", "cancelled"),
    ],
)
def test_never_in_production_with_a_real_backend_or_a_closed_link(
    clinician_client, account, settings, production, backend, status
):
    settings.IS_PRODUCTION = production
    settings.SMS_BACKEND = backend
    file_request = FileRequestFactory(account=account, status=status)
    html = clinician_client.get(f"/file-requests/{file_request.id}/").content.decode()
    assert "Development only" not in html
    assert file_request.short_link_id not in html
    assert FileRequest.objects.get(pk=file_request.pk).short_link_id == file_request.short_link_id
