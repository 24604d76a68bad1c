"""The S3 storage makes one boto3 session per process (files/storage/s3.py): threads that
touch S3 for the first time at once all work, each with a connection of its own, and a
storage made afresh (as a test's, or a new thread's) parses nothing again."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from files.storage.s3 import S3FileStorage


@pytest.fixture
def s3_storage(s3_bucket, settings):
    storage = storages.create_storage(settings.STORAGES["default"])
    assert isinstance(storage, S3FileStorage)
    return storage


def test_twelve_threads_first_touching_s3_at_once_each_store_and_read_their_file(s3_storage):
    """GIVEN a fresh S3 storage WHEN twelve threads first use it at the same moment THEN
    every thread stores and reads back its own object, on a connection of its own, from
    one shared session."""
    start = threading.Barrier(12)
    results: dict[int, tuple] = {}
    failures: list[BaseException] = []

    def work(number: int) -> None:
        try:
            start.wait()
            name = f"accounts/a/temp/{uuid.uuid4().hex}/photo-{number}.txt"
            saved = s3_storage.save(name, ContentFile(f"thread {number}".encode()))
            with s3_storage.open(saved, "rb") as stored:
                body = stored.read()
            connection = s3_storage.connection
            results[number] = (body, id(connection), s3_storage._create_session().session)
        except BaseException as failure:  # reported below, in the test's thread
            failures.append(failure)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert {n: body for n, (body, _, _) in results.items()} == {
        n: f"thread {n}".encode() for n in range(12)
    }
    assert len({connection for _, connection, _ in results.values()}) == 12
    assert len({id(session) for _, _, session in results.values()}) == 1


def test_a_storage_made_afresh_shares_the_session_and_other_credentials_do_not(s3_storage):
    """GIVEN two storages with the same credentials and one with others THEN the first
    two share a boto3 session (the service model parsed once) and the third has its own
    (credentials never cross)."""
    again = S3FileStorage(
        bucket_name=s3_storage.bucket_name,
        endpoint_url=s3_storage.endpoint_url,
        access_key=s3_storage.access_key,
        secret_key=s3_storage.secret_key,
    )
    other = S3FileStorage(
        bucket_name=s3_storage.bucket_name,
        endpoint_url=s3_storage.endpoint_url,
        access_key="someone-else",
        secret_key="another-secret",
    )
    shared = s3_storage._create_session().session
    assert again._create_session().session is shared
    assert other._create_session().session is not shared
    assert other._create_session().session.get_credentials().access_key == "someone-else"
