"""Whether the files are on S3 is answered right in a process that has touched no storage
yet, without importing django-storages' S3 module (and boto3) where the files are on disk.

The answer decides the upload doors' tickets, the health check's storage probe and the
deployment's shape; a fresh web worker or command asks it before anything else made the
default storage, and answering "not S3" there sent a scaled deployment's health check and
shape to the file system."""

from __future__ import annotations

import pytest
from django.core.files.storage import FileSystemStorage, default_storage
from storages.backends.s3 import S3Storage

from files.storage.objects import PrivateFileSystemStorage, storage_is_s3
from tests.support.commands import python_in_a_fresh_process

PROBE = """
import sys, django
django.setup()
before = "storages.backends.s3" in sys.modules
from files.storage.objects import storage_is_s3
print(before, storage_is_s3(), "storages.backends.s3" in sys.modules)
"""


def fresh_process_answer(bucket: str) -> str:
    done = python_in_a_fresh_process(
        PROBE, env_changes={"PORTAL_S3_BUCKET": bucket}, without=("S3_BUCKET",)
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.split("\n")[-2]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("bucket", "answer"),
    [
        # Loaded only by the question itself, when the default storage is made.
        ("clinic-files", "False True True"),
        # Never loaded at all.
        ("", "False False False"),
    ],
    ids=["s3", "disk"],
)
def test_a_fresh_process_knows_its_storage_before_anything_made_it(bucket, answer):
    """GIVEN a new process whose settings name a bucket, or none
    WHEN it asks whether its files are on S3 before any storage was made
    THEN S3 is S3, and a disk deployment never imports the S3 module."""
    assert fresh_process_answer(bucket) == answer


def test_the_default_storage_is_answered_as_configured(settings, s3_bucket):
    """GIVEN this test switched to S3 (the default storage made afresh) THEN S3."""
    assert storage_is_s3()
    assert isinstance(default_storage._wrapped, S3Storage)


def test_the_private_file_storage_is_not_s3():
    assert not storage_is_s3()


@pytest.mark.parametrize(
    ("storage", "is_s3"),
    [
        (lambda tmp: PrivateFileSystemStorage(location=tmp), False),
        (lambda tmp: FileSystemStorage(location=tmp), False),
        (lambda tmp: S3Storage(bucket_name="clinic-files"), True),
    ],
    ids=["private-files", "django-files", "s3"],
)
def test_a_storage_given_is_judged_by_its_class(tmp_path, storage, is_s3):
    assert storage_is_s3(storage(tmp_path)) is is_s3
