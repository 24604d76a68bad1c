"""The free trial's file space: 10 files and 1 MB in all, at ticket time and at create time."""

from __future__ import annotations

import base64
import json

import pytest

from files.models import File
from portal.accounts.models import Account
from tests.attachments import samples
from tests.attachments.test_claros import upload_pdf
from tests.attachments.test_cliniko import create, presign, upload
from tests.factories import FileFactory

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


@pytest.fixture
def trial(account):
    account.plan = Account.Plan.TRIAL
    account.save()
    return account


def stored_file(account, patient, size: int) -> File:
    """A file already in the account, counted at the ``size`` the pipeline measured: its row
    only, not ``ready=True``'s stored bytes, since the quota reads the measured size, no
    real PDF is 1 or 10 bytes, and a test here proves a refused upload stores nothing."""
    return FileFactory(
        account=account,
        patient=patient,
        original_name="old.pdf",
        size=size,
        state=File.State.READY,
    )


def policy_size_range(post) -> list:
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    return next(
        c for c in policy["conditions"] if isinstance(c, list) and c[0] == "content-length-range"
    )


def test_ticket_size_range_is_what_is_left(storage_mode, api, trial, patient):
    """GIVEN a trial account holding 1 MB - 1000 bytes WHEN a presigned post is asked for
    THEN its policy allows at most the 1000 bytes left."""
    stored_file(trial, patient, MB - 1000)
    assert policy_size_range(presign(api, patient))[2] == 1000


def test_tenth_file_is_accepted_and_eleventh_refused(api, trial, patient):
    """GIVEN a trial account with 9 files WHEN a 10th is uploaded and created THEN it is
    accepted; then the 11th is refused at ticket time with a clear 422, and an upload made
    on a ticket issued before the 10th is refused at create time."""
    for _ in range(9):
        stored_file(trial, patient, 10)
    _, early = upload(api, patient, filename="early.pdf")
    _, tenth = upload(api, patient, filename="tenth.pdf")
    assert create(api, patient, tenth.xml("Location")).status_code == 201
    refused = api.get(f"/api/v1/patients/{patient.id}/attachment_presigned_post")
    assert refused.status_code == 422
    assert "10 files" in refused.json()["errors"]["base"]
    late = create(api, patient, early.xml("Location"))
    assert late.status_code == 422
    assert "10 files" in late.json()["errors"]["base"]


def test_one_megabyte_in_all(storage_mode, api, trial, patient):
    """GIVEN a trial account WHEN files fill exactly 1 MB THEN they are accepted; a ticket is
    then refused, and an upload that would pass 1 MB is refused at create time."""
    pdf = samples.pdf()
    stored_file(trial, patient, MB - 2 * len(pdf))
    _, first = upload(api, patient, filename="first.pdf", content=pdf)
    _, second = upload(api, patient, filename="second.pdf", content=pdf)
    assert create(api, patient, first.xml("Location")).status_code == 201
    # Both tickets were issued while 2 PDFs' worth was left; a third upload won't fit.
    _, third = upload(api, patient, filename="third.pdf", content=pdf[: len(pdf)])
    assert create(api, patient, second.xml("Location")).status_code == 201
    over = create(api, patient, third.xml("Location"))
    assert over.status_code == 422
    assert "does not fit" in over.json()["errors"]["base"]
    full = api.get(f"/api/v1/patients/{patient.id}/attachment_presigned_post")
    assert full.status_code == 422 and "bytes" in full.json()["errors"]["base"]


def test_full_accounts_have_no_trial_limit(api, account, patient):
    """GIVEN a full account with 10 files WHEN another is uploaded THEN it is accepted."""
    for _ in range(10):
        stored_file(account, patient, MB)
    _, answer = upload(api, patient)
    assert create(api, patient, answer.xml("Location")).status_code == 201


def test_claros_upload_respects_the_trial(api, trial, patient):
    """GIVEN a trial account WHEN a PDF larger than what is left is posted THEN 413 says so;
    with 10 files already, 400 says the file limit is reached."""
    stored_file(trial, patient, MB - 100)
    too_big = upload_pdf(api, patient.id, samples.pdf())
    assert too_big.status_code == 413 and "free trial" in too_big.json()["error"]
    for _ in range(9):
        stored_file(trial, patient, 1)
    too_many = upload_pdf(api, patient.id, samples.pdf())
    assert too_many.status_code == 400 and "10 files" in too_many.json()["error"]


def xon_body(user_id, *files) -> dict:
    return {
        "userId": str(user_id),
        "files": [
            {
                "name": name,
                "type": "application/pdf",
                "description": None,
                "contents": base64.b64encode(data).decode(),
            }
            for name, data in files
        ],
    }


def test_xon_files_door_keeps_the_trial_quota_before_storing_anything(
    api, trial, patient, private_storage
):
    """GIVEN a trial account with 9 files WHEN X-on posts two files in one request
    THEN 403 says the trial's file limit is reached, no File is created and no byte stored;
    one file still fits, and the request that would pass 1 MB is refused the same way."""
    for _ in range(9):
        stored_file(trial, patient, 1000)
    pdf = samples.pdf()
    refused = api.post(
        "/api/v1/files", xon_body(patient.id, ("a.pdf", pdf), ("b.pdf", pdf)), format="json"
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "trial_quota_exceeded"
    assert "10 files" in refused.json()["error"]
    assert File.objects.filter(account=trial).count() == 9
    assert not any(private_storage.rglob("*.pdf"))

    accepted = api.post("/api/v1/files", xon_body(patient.id, ("a.pdf", pdf)), format="json")
    assert accepted.status_code == 201, accepted.content

    File.objects.filter(account=trial, original_name="old.pdf").delete()
    stored_file(trial, patient, MB - 100)
    too_big = api.post("/api/v1/files", xon_body(patient.id, ("c.pdf", pdf)), format="json")
    assert too_big.status_code == 403
    assert "bytes" in too_big.json()["error"]


def test_patient_page_tells_the_patient_to_call_when_the_trial_is_full(client, trial, patient):
    """GIVEN a trial clinic already holding 10 files and a patient who passed the date check
    WHEN the page asks for an upload ticket THEN 403 tells the patient to call the clinic."""
    from tests.factories import FileRequestFactory

    for _ in range(10):
        stored_file(trial, patient, 1000)
    file_request = FileRequestFactory(account=trial, patient=patient)
    dob = patient.date_of_birth
    client.post(
        f"/r/{file_request.short_link_id}",
        {"day": str(dob.day), "month": str(dob.month), "year": str(dob.year)},
    )
    response = client.post(
        "/r/upload/ticket", json.dumps({"size": 5000}), content_type="application/json"
    )
    assert response.status_code == 403
    assert "call the clinic" in response.json()["error"]
