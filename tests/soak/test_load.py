"""Load through every door at once, against the real stack: gunicorn (2 processes x 4
threads), two Celery workers (one with beat, for Medable's collector), PostgreSQL,
Redis and SeaweedFS's S3 server. A bounded load tool (a thread pool of ``requests``
sessions on loopback, a fixed number of uploads, a deadline) drives the uploads;
afterwards every upload must be ``ready`` exactly once, every byte must match its
SHA-256 when downloaded, and no temporary object may be left in the bucket.

``make soak`` runs the long version (``-m soak``); the normal suite runs a small one.
"""

from __future__ import annotations

import itertools
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

import pytest

from attachments.models import PatientAttachment, PatientPhoto
from filerequests.models import FileRequest
from files.models import TEMP_ROOT, File
from portal.accounts.services import api_key_create
from tests.attachments import samples as attachment_samples
from tests.factories import AccountFactory, FileRequestFactory, PatientFactory
from tests.files import samples
from tests.support import clients
from tests.support.outcomes import assert_ready_exactly_once
from tests.support.stack import portal_server
from tests.support.worker import celery_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

DOORS = ("x-on base64", "claros pdf", "cliniko presigned", "patient page ticket", "medable photo")
THREADS = 16
UPLOADS_PER_FILE_REQUEST = 20


def photo(index: int) -> bytes:
    return samples.jpeg((200 + index % 50, 150), colour=(index % 256, (index * 7) % 256, 99))


def document(index: int) -> bytes:
    return attachment_samples.pdf(padding=index)


def run_load(tmp_path, bucket: str, uploads: int) -> dict:
    account = AccountFactory(name="Load Clinic")
    key = api_key_create(account=account, name="load").plaintext
    plan = [DOORS[i % len(DOORS)] for i in range(uploads)]
    patients = [PatientFactory(account=account) for _ in range(uploads)]
    requests_needed = max(1, plan.count("patient page ticket") // UPLOADS_PER_FILE_REQUEST + 1)
    file_requests = [
        FileRequestFactory(account=account, patient=patients[0]) for _ in range(requests_needed)
    ]
    started = time.monotonic()
    with (
        portal_server(tmp_path, workers=2, threads=4) as server,
        celery_worker(tmp_path, concurrency=1, beat=True) as worker_a,
        celery_worker(tmp_path, concurrency=1) as worker_b,
    ):
        browsers = []
        for file_request in file_requests:
            browser = clients.PatientBrowser(server.url)
            verified = browser.verify(file_request.short_link_id, patients[0].date_of_birth)
            assert verified.status_code == 302, verified.text[:500]
            browsers.append(browser)
        browser_for = itertools.cycle(browsers)
        sessions = {}

        def session() -> object:
            import threading

            ident = threading.get_ident()
            if ident not in sessions:
                sessions[ident] = clients.keyed(key)
            return sessions[ident]

        def upload(index: int, door: str, browser) -> tuple[str, str, bytes]:
            """One upload; (door, id to find its file by, original bytes)."""
            patient = patients[index]
            if door == "x-on base64":
                data = photo(index)
                answer = clients.xon_upload(
                    session(), server.url, user_id=patient.id, name=f"p{index}.jpg", data=data
                )
                assert answer.status_code == 201, (door, answer.status_code, answer.text)
                return door, answer.json()[0]["id"], data
            if door == "claros pdf":
                data = document(index)
                answer = clients.claros_upload(
                    session(),
                    server.url,
                    patient_id=patient.id,
                    filename=f"d{index}.pdf",
                    data=data,
                )
                assert answer.status_code == 201, (door, answer.status_code, answer.text)
                return door, answer.json()["id"], data
            if door == "cliniko presigned":
                data = document(index)
                answer = clients.cliniko_upload(
                    session(),
                    server.url,
                    patient_id=patient.id,
                    filename=f"c{index}.pdf",
                    data=data,
                )
                assert answer.status_code == 201, (door, answer.status_code, answer.text)
                return door, answer.json()["id"], data
            if door == "patient page ticket":
                data = photo(index)
                answer = browser.upload(filename=f"IMG_{index}.JPG", data=data)
                assert answer.status_code == 200, (door, answer.status_code, answer.text)
                return door, answer.json()["fileId"], data
            data = photo(index)
            answer = session().put(
                f"{server.url}/api/v1/patients/{patient.id}/photo",
                json={"content": f"m{index}.jpg"},
                timeout=clients.TIMEOUT,
            )
            assert answer.status_code == 200, (door, answer.status_code, answer.text)
            [entry] = answer.json()["uploads"]
            fields = [(field["key"], field["value"]) for field in entry["fields"]]
            stored = clients.post_to_storage(
                entry["uploadUrl"],
                fields,
                filename=f"m{index}.jpg",
                data=data,
                content_type="image/jpeg",
            )
            assert stored.status_code in (200, 201, 204), (door, stored.status_code)
            return door, str(patient.id), data

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [
                pool.submit(upload, index, door, next(browser_for))
                for index, door in enumerate(plan)
            ]
            driven = [future.result(timeout=300) for future in as_completed(futures, timeout=600)]
        upload_seconds = time.monotonic() - started

        def file_id_of(door: str, ident: str):
            if door in ("claros pdf", "cliniko presigned"):
                return PatientAttachment.objects.get(pk=ident).file_id
            if door == "medable photo":
                return (
                    PatientPhoto.objects.filter(patient_id=ident)
                    .values_list("file_id", flat=True)
                    .first()
                )
            return ident

        def all_done() -> bool:
            ids = [file_id_of(door, ident) for door, ident, _ in driven]
            return None not in ids and File.objects.filter(
                pk__in=ids, state=File.State.READY, temp_key=""
            ).count() == len(ids)

        wait_for(
            all_done,
            timeout=60 + uploads,
            interval=0.5,
            message="not every upload finished (see the workers' logs in tmp_path)",
        )
        outcomes = [(door, str(file_id_of(door, ident)), data) for door, ident, data in driven]
        files = {str(file.pk): file for file in assert_ready_exactly_once([o[1] for o in outcomes])}
        api = clients.keyed(key)
        for door, file_id, data in outcomes:
            download = api.get(f"{server.url}/api/v1/files/{file_id}", timeout=60)
            assert download.status_code == 200, (door, file_id)
            assert clients.sha256(download.content) == files[file_id].sha256, (door, file_id)
            if door in ("claros pdf", "cliniko presigned"):
                assert download.content == data, (door, file_id)  # PDFs are kept byte for byte
        both_worked = "files.process" in worker_a.log() and "files.process" in worker_b.log()
    left = [key for key in clients.bucket_keys(bucket) if key.startswith(TEMP_ROOT)]
    assert not left, f"temporary objects left behind: {left[:10]}"
    assert FileRequest.objects.filter(account=account).count() == requests_needed
    by_door = {door: sum(1 for o in outcomes if o[0] == door) for door in DOORS}
    figures = {
        "uploads": uploads,
        "ready": len(files),
        "lost": uploads - len(files),
        "by_door": by_door,
        "both_workers_processed": both_worked,
        "upload_seconds": round(upload_seconds, 1),
        "total_seconds": round(time.monotonic() - started, 1),
    }
    print(f"\nload: {figures}")
    return figures


@pytest.mark.slow
def test_twenty_uploads_through_every_door(tmp_path, s3_bucket):
    """GIVEN the real stack WHEN 20 uploads come in at once through all five doors
    THEN each is ready exactly once, downloads byte-true, and nothing temporary is left."""
    figures = run_load(tmp_path, s3_bucket, uploads=20)
    assert figures["lost"] == 0


@pytest.mark.soak
def test_soak_hundreds_of_uploads_through_every_door(tmp_path, s3_bucket):
    """GIVEN the real stack WHEN 300 uploads come in, 16 at a time, through all five doors
    THEN none is lost, none is processed twice, every byte matches, nothing is left over."""
    figures = run_load(tmp_path, s3_bucket, uploads=300)
    assert figures["lost"] == 0
    assert figures["both_workers_processed"]
