"""A request can ask for photos at full resolution: ``fullResolution`` in the API beside
seed 004's fields, and a checkbox on the dashboard's send form. The patient's page is
told, and then shrinks nothing."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from filerequests.models import FileRequest
from portal.accounts.models import Staff
from tests.dashboard.conftest import signed_in_client
from tests.factories import FileRequestFactory, PatientFactory, StaffFactory
from tests.filerequests.test_filerequests_api import create

pytestmark = pytest.mark.django_db


def test_the_api_takes_and_answers_full_resolution(api, account):
    """GIVEN a system creating requests through the API
    WHEN one asks for fullResolution and another leaves it out
    THEN the first is stored and answered true (on create and on read), the second
    false, as photos are shrunk on the phone by default."""
    full = create(api, account, fullResolution=True)
    plain = create(api, account, patientMobile="+447777123457")

    assert full.status_code == plain.status_code == 200
    assert full.json()["fullResolution"] is True
    assert plain.json()["fullResolution"] is False
    assert api.get(f"/api/v1/file-requests/{full.json()['id']}").json()["fullResolution"] is True
    assert FileRequest.objects.get(pk=full.json()["id"]).full_resolution is True
    assert FileRequest.objects.get(pk=plain.json()["id"]).full_resolution is False


@pytest.mark.parametrize("value", ["maybe", 2, [True], {"yes": True}])
def test_the_api_refuses_a_full_resolution_that_is_no_yes_or_no(api, account, value):
    response = create(api, account, fullResolution=value)

    assert response.status_code == 400
    assert "fullResolution" in str(response.json())
    assert not FileRequest.objects.exists()


@pytest.mark.parametrize(("ticked", "stored"), [({"full_resolution": "on"}, True), ({}, False)])
def test_the_dashboard_send_form_has_a_full_resolution_checkbox(account, ticked, stored):
    """GIVEN a clinician on the send-request form
    WHEN they send it with "Full resolution" ticked, or not
    THEN the request asks for full resolution, or not; the form shows the checkbox."""
    client = signed_in_client(StaffFactory(account=account, role=Staff.Role.CLINICIAN))
    page = client.get("/file-requests/new/").content.decode()
    assert 'type="checkbox" name="full_resolution"' in page
    assert "Full resolution" in page

    response = client.post(
        "/file-requests/new/",
        {
            "mobile": "07911 123456",
            "date_of_birth": "1975-02-14",
            "first_name": "Nadia",
            "last_name": "Rahman",
            "prompt": "The mole on your left shoulder.",
            "expires_in_days": "7",
            **ticked,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert FileRequest.objects.get(account=account).full_resolution is stored


@pytest.mark.parametrize(("full", "said"), [(True, "true"), (False, "false")])
def test_the_patient_page_is_told_whether_to_shrink(account, full, said):
    patient = PatientFactory(account=account, date_of_birth=datetime.date(1980, 6, 17))
    file_request = FileRequestFactory(account=account, patient=patient, full_resolution=full)
    client = Client()
    client.post(f"/r/{file_request.short_link_id}", {"day": "17", "month": "6", "year": "1980"})

    page = client.get("/r/upload").content.decode()

    assert f'data-full-resolution="{said}"' in page
    assert ("made smaller on your phone" in page) is not full
