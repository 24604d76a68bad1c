"""Fixtures of the file pipeline tests."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage

from files.models import File
from files.pipeline.processing import file_process
from files.services import file_create_from_stream, upload_ticket_issue
from portal.audit.services import Actor


def stored_keys(prefix: str = "") -> list[str]:
    """Every object under ``prefix`` in the current storage (both storages alike)."""
    found = []
    try:
        dirs, names = default_storage.listdir(prefix)
    except FileNotFoundError:
        return []
    found += [prefix + name for name in names]
    for directory in dirs:
        found += stored_keys(f"{prefix}{directory}/")
    return found


@pytest.fixture
def issue(account, patient):
    """Issue an upload ticket for the patient (a photo unless told otherwise)."""

    def make(**extra):
        extra.setdefault("purpose", "photo")
        return upload_ticket_issue(
            account=account, patient=patient, issued_by=Actor.system(), **extra
        )

    return make


@pytest.fixture
def upload(account, patient):
    """Create a pending file from bytes through the in-app door (nothing queued: no commit)."""

    def make(data: bytes, *, name="photo.jpg", declared="image/jpeg", purpose="photo", **extra):
        return file_create_from_stream(
            account=account,
            patient=patient,
            purpose=purpose,
            original_name=name,
            declared_type=declared,
            stream=io.BytesIO(data),
            uploaded_by=Actor.system(),
            **extra,
        )

    return make


@pytest.fixture
def process(django_capture_on_commit_callbacks):
    """Run the processing task's function directly, with its after-commit clean-up."""

    def run(file: File) -> File:
        with django_capture_on_commit_callbacks(execute=True):
            file_process(file_id=file.pk)
        return File.objects.get(pk=file.pk)

    return run


@pytest.fixture
def process_committed(account, patient):
    """For transaction=True tests: upload and process with real commits (no worker)."""

    def run(data: bytes) -> File:
        file = file_create_from_stream(
            account=account,
            patient=patient,
            purpose="photo",
            original_name="photo.jpg",
            declared_type="image/jpeg",
            stream=io.BytesIO(data),
            uploaded_by=Actor.system(),
        )
        return file_process(file_id=file.pk)

    return run


@pytest.fixture
def upload_committed(account, patient):
    """For transaction=True tests: a committed pending file (its task goes to the broker)."""

    def make(data: bytes) -> File:
        return file_create_from_stream(
            account=account,
            patient=patient,
            purpose="photo",
            original_name="photo.jpg",
            declared_type="image/jpeg",
            stream=io.BytesIO(data),
            uploaded_by=Actor.system(),
        )

    return make
