"""The whole chain with a real Celery worker (and beat) on Redis, on both storages."""

from __future__ import annotations

import pytest

from attachments.models import PatientAttachment, PatientPhoto
from files.models import File
from tests.attachments import samples
from tests.attachments.test_cliniko import create, upload
from tests.attachments.test_medable import post_upload, put_photo
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_photo_posted_by_the_client_is_ready_with_no_further_call(
    storage_mode, tmp_path, api, patient
):
    """GIVEN a worker with beat WHEN a client writes the photo property, posts the fields in
    order with the file last, and makes no further call THEN the upload is collected and
    processed: the property reads state 2 with a ready thumbnail."""
    with celery_worker(tmp_path, beat=True) as worker:
        upload_entry = put_photo(api, patient, "IMG_1399.JPG").json()["uploads"][0]
        assert post_upload(upload_entry, samples.jpeg((800, 600))).status == 201
        wait_for(
            lambda: PatientPhoto.objects.filter(
                patient=patient, file__state=File.State.READY
            ).exists(),
            timeout=60,
            message=f"the photo was never collected and processed:\n{worker.log()}",
        )
    body = api.get(f"/api/v1/patients/{patient.id}/photo").json()
    assert body["state"] == 2 and body["facets"][0]["state"] == 2


def test_cliniko_attachment_is_processed_by_the_worker(storage_mode, tmp_path, api, patient):
    """GIVEN a worker WHEN an attachment is created from an upload THEN the worker processes
    it: processing_completed becomes true and the content downloads."""
    with celery_worker(tmp_path) as worker:
        _, answer = upload(api, patient)
        attachment_id = create(api, patient, answer.xml("Location")).json()["id"]
        wait_for(
            lambda: PatientAttachment.objects.filter(
                pk=attachment_id, file__state=File.State.READY
            ).exists(),
            timeout=60,
            message=f"the attachment was never processed:\n{worker.log()}",
        )
    assert api.get(f"/api/v1/patient_attachments/{attachment_id}").json()["processing_completed"]
    download = api.get(f"/api/v1/patient_attachments/{attachment_id}/content")
    assert b"".join(download.streaming_content) == samples.pdf()
