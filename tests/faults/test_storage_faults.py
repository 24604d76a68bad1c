"""The storage answering 500s and hanging for a while, through a fault-injecting proxy on
loopback in front of SeaweedFS's S3 server. The portal and the worker reach S3 only through
the proxy (``S3_ENDPOINT_URL``); the test reads the bucket directly."""

from __future__ import annotations

import pytest
from django.conf import settings

from files.models import TEMP_ROOT
from tests.faults.conftest import photo
from tests.support import clients
from tests.support.faultproxy import FaultyHttpProxy
from tests.support.outcomes import all_final, assert_ready_exactly_once
from tests.support.stack import portal_server
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FILES = 4


@pytest.fixture
def s3_proxy():
    proxy = FaultyHttpProxy(settings.S3_ENDPOINT_URL).start()
    yield proxy
    proxy.stop()


def test_uploads_end_ready_after_storage_errors_and_timeouts(tmp_path, s3_bucket, s3_proxy, clinic):
    """GIVEN four uploads waiting for processing
    WHEN the storage answers the next 12 requests with 500 InternalError and leaves the
    3 after that unanswered (each past the client's read timeout), then recovers
    THEN an upload tried meanwhile answers 503 with the API's error shape (not 500),
    the worker's tries fail, retry with back-off, and every file ends ready exactly
    once with the bytes intact and no temporary object left."""
    flaky_storage = {
        "S3_ENDPOINT_URL": s3_proxy.url,
        "S3_CONNECT_TIMEOUT_SECONDS": "1",
        "S3_READ_TIMEOUT_SECONDS": "1",
        "S3_MAX_ATTEMPTS": "2",
    }
    session = clients.keyed(clinic["key"])
    datas = {}
    with portal_server(tmp_path, workers=1, extra_env=flaky_storage) as server:

        def upload(index):
            return clients.xon_upload(
                session,
                server.url,
                user_id=clinic["patient"].id,
                name=f"p{index}.jpg",
                data=photo(index),
            )

        for index in range(FILES):
            response = upload(index)
            assert response.status_code == 201, response.text
            datas[response.json()[0]["id"]] = photo(index)

        s3_proxy.fail(12)
        s3_proxy.hang(3, seconds=20)
        refused = upload(99)
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "service_unavailable"
        assert refused.headers["Retry-After"]

        with celery_worker(tmp_path, extra_env=flaky_storage) as worker:
            wait_for(
                lambda: all_final(datas),
                timeout=90,
                message=f"files did not recover from the storage faults:\n{worker.log()}",
            )
            log = worker.log()
        assert s3_proxy.pending_faults() == 0
        assert s3_proxy.counts["failed"] == 12 and s3_proxy.counts["hung"] == 3
        assert "Retry in" in log  # the task's own retries, beyond botocore's

        files = assert_ready_exactly_once(datas)
        for file in files:
            download = session.get(f"{server.url}/api/v1/files/{file.pk}", timeout=30)
            assert download.status_code == 200
            assert clients.sha256(download.content) == file.sha256
    assert not [key for key in clients.bucket_keys(s3_bucket) if key.startswith(TEMP_ROOT)]
