"""The suite's private file storage: where a test's files go when it is not on S3."""

from __future__ import annotations

from pathlib import Path


def private_storages(storages: dict, location: Path) -> dict:
    """``storages`` with the default storage the embedded private one, in ``location``."""
    return {
        **storages,
        "default": {
            "BACKEND": "files.storage.objects.PrivateFileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
