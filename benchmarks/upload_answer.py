"""Upload to answer: how long a client waits for ``POST /api/v1/files`` (X-on's door,
multipart) with a 12 MP photo, now that the in-app doors wait for the worker's verdict
(``FILES_SYNC_WAIT_SECONDS``, default bound 5 s), against today's immediate 201
(``FILES_SYNC_WAIT_SECONDS=0``).

Two gunicorns on the stack (2 workers x 4 threads each, the same settings but that one), one
real Celery worker (1 pool process) serving both. Uploads one at a time, alternating between
the two servers, so load elsewhere touches both alike; each upload's wall time from the first
byte sent to the answer read, and whether the answer already describes the stored file: its
``size`` and ``mimeType`` those of the cleaned file the metadata view shows once processing
is done (checked after the timing; lossless cleaning drops the EXIF, so the stored size
differs from the upload's).
"""

from __future__ import annotations

import statistics
import time

import requests

from benchmarks import client
from benchmarks.report import Goal, Section, table
from benchmarks.stack import Stack

TITLE = "Upload to answer: a 12 MP photo through X-on's POST /api/v1/files, waiting or not"
UPLOADS = 10  # per server
WARMUP = 1
TARGETS = {
    "wait": "**waits for the worker** (`FILES_SYNC_WAIT_SECONDS=5`, the default bound)",
    "immediate": "answers at once (`FILES_SYNC_WAIT_SECONDS=0`, as before the wait)",
}


def _upload(url: str, key: str, patient_id: str, photo: bytes, name: str) -> tuple[float, dict]:
    started = time.perf_counter()
    response = requests.post(
        f"{url}/api/v1/files",
        headers={"X-API-Key": key},
        data={"userId": patient_id},
        files={"files": (name, photo, "image/jpeg")},
        timeout=120,
    )
    seconds = time.perf_counter() - started
    response.raise_for_status()
    return seconds, response.json()[0]


def measure(stack: Stack, photo: bytes) -> dict:
    seed = stack.seed("account")
    samples: dict[str, list[float]] = {name: [] for name in TARGETS}
    described: dict[str, int] = dict.fromkeys(TARGETS, 0)
    with (
        stack.gunicorn(workers=2, threads=4, FILES_SYNC_WAIT_SECONDS="5") as waiting,
        stack.gunicorn(workers=2, threads=4, FILES_SYNC_WAIT_SECONDS="0") as immediate,
        stack.celery_worker(concurrency=1),
    ):
        servers = {"wait": waiting.url, "immediate": immediate.url}
        for index in range(WARMUP + UPLOADS):
            order = list(TARGETS) if index % 2 == 0 else list(reversed(TARGETS))
            for name in order:
                seconds, answer = _upload(
                    servers[name],
                    seed["api_key"],
                    seed["patient_id"],
                    photo,
                    f"IMG_{name}_{index:03d}.jpg",
                )
                # Let the worker finish this photo, so the next upload meets an idle queue
                # whichever server it goes to (as a clinic's single upload would).
                client.wait_until_processed(
                    servers[name], api_key=seed["api_key"], file_id=answer["id"]
                )
                if index >= WARMUP:
                    samples[name].append(seconds * 1000)
                    stored = requests.get(
                        f"{servers[name]}/api/v1/files/{answer['id']}/metadata",
                        headers={"X-API-Key": seed["api_key"]},
                        timeout=30,
                    ).json()
                    described[name] += (answer["size"], answer["mimeType"]) == (
                        stored["size"],
                        stored["mimeType"],
                    )
                time.sleep(0.5)
    summary = {
        name: {
            "median_ms": statistics.median(values),
            "p90_ms": sorted(values)[int(0.9 * (len(values) - 1))],
            "max_ms": max(values),
            "described": described[name],
            "uploads": len(values),
        }
        for name, values in samples.items()
    }
    return {
        "status": "measured",
        "photo_bytes": len(photo),
        "targets": summary,
        "added_ms": summary["wait"]["median_ms"] - summary["immediate"]["median_ms"],
    }


def markdown(data: dict) -> list[str]:
    rows = [
        [
            label,
            f"{data['targets'][name]['median_ms']:.0f}",
            f"{data['targets'][name]['p90_ms']:.0f}",
            f"{data['targets'][name]['max_ms']:.0f}",
            f"{data['targets'][name]['described']} / {data['targets'][name]['uploads']}",
        ]
        for name, label in TARGETS.items()
    ]
    return [
        "",
        f"## {TITLE}",
        "",
        f"The {data['photo_bytes']:,}-byte 12 MP JPEG fixture, {UPLOADS} uploads per server "
        "after one warm-up each, one at a time, alternating between two gunicorns that differ "
        "only in `FILES_SYNC_WAIT_SECONDS`, one Celery worker (1 process) behind both; after "
        "each upload the benchmark waits for the photo to be processed (untimed) so each "
        "upload meets an idle queue. An answer describes the stored file when its `size` and "
        "`mimeType` are those of the cleaned file. `benchmarks/upload_answer.py`.",
        "",
        *table(
            [
                "server",
                "median ms",
                "p90 ms",
                "max ms",
                "answers describing the stored file (size, mimeType)",
            ],
            rows,
        ),
        "",
        f"Waiting for the worker adds **{data['added_ms']:.0f} ms** (median) to the answer, "
        "and the answer then describes the cleaned, stored file, not the upload.",
    ]


def goals(data: dict) -> list[Goal]:
    wait = data["targets"]["wait"]
    return [
        Goal(
            "upload to answer",
            "report the added wait; every answer within the bound describes the stored file",
            wait["described"] == wait["uploads"] and wait["max_ms"] < 5000 + 2000,
            f"median {wait['median_ms']:.0f} ms waiting against "
            f"{data['targets']['immediate']['median_ms']:.0f} ms immediate "
            f"(+{data['added_ms']:.0f} ms); {wait['described']}/{wait['uploads']} described",
        )
    ]


def run(stack: Stack, photo: bytes) -> Section:
    data = measure(stack, photo)
    return Section("upload_answer", data, markdown(data), goals(data))
