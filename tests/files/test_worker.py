"""The pipeline with real commits: a real Celery worker on Redis, and two runs racing."""

from __future__ import annotations

import base64
import threading

import pytest
from django.db import connection

from files.models import Facet, File
from files.pipeline.processing import file_process
from files.services import upload_ticket_issue
from portal.audit.services import Actor
from portal.webhooks.models import Event
from tests.files import samples
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.mark.slow
def test_api_upload_is_processed_by_a_real_worker(tmp_path, storage_mode, api, patient):
    """GIVEN a real Celery worker on Redis and either storage WHEN a photo is posted to the API
    THEN the worker makes it ready after the request's commit, and the bytes download."""
    with celery_worker(tmp_path) as worker:
        response = api.post(
            "/api/v1/files",
            {
                "files": [
                    {
                        "name": "IMG.JPG",
                        "type": "image/jpeg",
                        "contents": base64.b64encode(samples.jpeg((640, 480))).decode(),
                    }
                ],
                "userId": str(patient.id),
            },
            format="json",
        )
        assert response.status_code == 201
        file_id = response.json()[0]["id"]
        # The temporary object is removed just after the ready state commits.
        file = wait_for(
            lambda: File.objects.filter(pk=file_id, state=File.State.READY, temp_key="").first(),
            timeout=60,
            message=f"the worker never processed the file:\n{worker.log()}",
        )
    download = api.get(f"/api/v1/files/{file_id}")
    assert download.status_code == 200
    assert len(b"".join(download.streaming_content)) == file.size


def test_two_runs_at_once_make_one_set_of_facets(account, patient, upload_committed):
    """GIVEN one pending file WHEN two workers process it at the same moment
    THEN it is processed once: one content and one thumbnail facet, one file.ready event."""
    file = upload_committed(samples.jpeg((400, 300)))
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            file_process(file_id=file.pk)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    file.refresh_from_db()
    assert file.state == File.State.READY
    assert sorted(file.facets.values_list("name", flat=True)) == [Facet.CONTENT, Facet.THUMBNAIL]
    assert Event.objects.filter(type="file.ready").count() == 1
    assert file.processing_attempts in (1, 2)


def test_ticket_issue_is_committed_with_its_audit(account, patient):
    """GIVEN committed transactions WHEN a ticket is issued THEN its audit event exists."""
    ticket = upload_ticket_issue(
        account=account, patient=patient, purpose="photo", issued_by=Actor.system()
    )
    from portal.audit.models import AuditEvent

    assert AuditEvent.objects.filter(
        action="upload_ticket.issue", target_id=str(ticket.pk)
    ).exists()
