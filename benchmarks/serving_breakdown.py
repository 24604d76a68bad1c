"""Where a served thumbnail's time goes: the CPU cost of each step of the portal's request,
measured one call at a time in a single process on the benchmark stack's database.

Run by the serving benchmark as ``python -m benchmarks.serving_breakdown FILE_ID API_KEY
STORAGE_KEY`` with ``DJANGO_SETTINGS_MODULE=benchmarks.serving_settings``; answers one JSON
line of median CPU milliseconds per call (``time.process_time``, so time spent waiting for
PostgreSQL is not counted, and other load on the machine matters less than for wall time).
Whole requests go through Django's test client, so every middleware runs as under gunicorn.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from urllib.parse import quote

CALLS_PER_ROUND = 100
ROUNDS = 5
WARMUP_CALLS = 50


def cpu_ms_per_call(steps: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median over rounds of each step's CPU per call; the rounds go round-robin over the
    steps, so a burst of load elsewhere on the machine touches every step alike."""
    for step in steps.values():
        for _ in range(WARMUP_CALLS):
            step()
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(ROUNDS):
        for name, step in steps.items():
            started = time.process_time()
            for _ in range(CALLS_PER_ROUND):
                step()
            samples[name].append((time.process_time() - started) * 1000 / CALLS_PER_ROUND)
    return {name: statistics.median(values) for name, values in samples.items()}


def breakdown(file_id: str, api_key: str, storage_key: str) -> dict:
    from django.db import connection
    from django.test import Client, RequestFactory

    from files import selectors
    from files.serving import lean_download, respond
    from portal.accounts import keys
    from portal.accounts.services import api_key_authenticate
    from portal.audit.services import Actor, audit_record
    from portal.ids import parse_uuid
    from tests.support.renditions import facet_rendition_get_or_create

    client = Client()
    portal_path = f"/api/v1/files/{file_id}?imageSize=200x140"

    def portal_request() -> None:
        response = client.get(portal_path, HTTP_X_API_KEY=api_key)
        assert response.status_code == 200, response.status_code
        b"".join(response.streaming_content)
        response.close()

    def bare_request() -> None:
        response = client.get(f"/bench/bare/{quote(storage_key)}")
        assert response.status_code == 200, response.status_code
        response.close()

    key_row = api_key_authenticate(plaintext=api_key)
    file = selectors.file_get(account=key_row.account, file_id=file_id)
    actor = Actor.for_api_key(key_row)
    audit_request = RequestFactory().get(portal_path, HTTP_X_API_KEY=api_key)

    def select_one() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    return cpu_ms_per_call(
        {
            "portal request (whole, test client)": portal_request,
            "bare request (whole, test client)": bare_request,
            "lean path: key, file and ready facets (1 raw SQL query)": lambda: (
                lean_download._lookup(keys.parse_prefix(api_key), parse_uuid(file_id))
            ),
            "DRF path: API key check (1 ORM query)": lambda: api_key_authenticate(
                plaintext=api_key
            ),
            "DRF path: file in the caller's account (1 ORM query)": lambda: selectors.file_get(
                account=key_row.account, file_id=file_id
            ),
            "DRF path: kept rendition facet (1 ORM query)": lambda: facet_rendition_get_or_create(
                file=file, width=200, height=140
            ),
            "audit event (serving's prepared insert, every door's)": lambda: respond.download_audit(
                request=audit_request,
                actor=actor,
                file=file,
                detail={"facet": "bench", "range": False},
            ),
            "audit event (1 ORM insert, audit_record)": lambda: audit_record(
                account=key_row.account,
                actor=actor,
                action="file.download",
                target=file,
                detail={"facet": "bench", "range": False},
            ),
            "SELECT 1 through Django's cursor (a round trip, no ORM)": select_one,
        }
    )


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.serving_settings")
    import django

    django.setup()
    print(json.dumps(breakdown(*sys.argv[1:4])))
