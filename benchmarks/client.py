"""The benchmarks' calls to the portal's own API, as an integrator would make them.

Uploads go through ``POST /api/v1/files`` (X-on's door, multipart), so what is measured after
them (processing, serving) starts from what a real upload leaves behind, not from rows made by
calling internals.
"""

from __future__ import annotations

import time

import requests

PHOTO_TYPE = "image/jpeg"


def upload_photo(base_url: str, *, api_key: str, patient_id: str, data: bytes, name: str) -> str:
    """Upload one photo as multipart; its file id."""
    response = requests.post(
        f"{base_url}/api/v1/files",
        headers={"X-API-Key": api_key},
        data={"userId": patient_id},
        files={"files": (name, data, PHOTO_TYPE)},
        timeout=120,
    )
    response.raise_for_status()
    return response.json()[0]["id"]


def file_state(base_url: str, *, api_key: str, file_id: str) -> str:
    response = requests.get(
        f"{base_url}/api/v1/files/{file_id}/metadata",
        headers={"X-API-Key": api_key},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["state"]


def wait_until_processed(base_url: str, *, api_key: str, file_id: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while (state := file_state(base_url, api_key=api_key, file_id=file_id)) in (
        "pending",
        "processing",
    ):
        if time.monotonic() > deadline:
            raise RuntimeError(f"file {file_id} still {state} after {timeout:.0f} s")
        time.sleep(0.3)
    return state
