"""Processing: 12 MP photos processed per second by real Celery workers, with one pool process
and with two, and how that scales.

Each run uploads N photos through ``POST /api/v1/files`` (multipart, the real door: spooled,
stored at a temporary key, a pending File, a task queued on Redis after commit) while no
worker runs, then starts ``celery -A portal worker --concurrency=C`` and takes the time from
the worker's "ready" log line to the last "processed" line (both stamped by Celery's logger on
the same clock). Processing is the whole pipeline: verify, sniff, clean (upright, metadata
removed, re-encoded), measure, thumbnail facet, promote, mark ready, events. Each pool process
imports the rendering code on its first task, which the figure includes (once per process).
"""

from __future__ import annotations

import os
import re
import statistics
import time

from benchmarks import client, proc
from benchmarks.report import Goal, Section, table
from benchmarks.stack import Stack, log_time

TITLE = "Processing: 12 MP photos per second, 1 and 2 worker processes"
PHOTOS = 40
# Runs in A-B-B-A order, so a burst of load elsewhere on the machine is shared by both.
RUN_ORDER = (1, 2, 2, 1)
TIMEOUT_SECONDS = 300
PROCESSED = re.compile(r"file \S+ processed: (\w+) in (\d+) ms")


def _cpu_tree(pid: int) -> float:
    return proc.process_cpu_seconds(pid) + sum(
        proc.process_cpu_seconds(child) for child in proc.children(pid)
    )


def measure_one(stack: Stack, server_url: str, seed: dict, photo: bytes, concurrency: int) -> dict:
    ids = [
        client.upload_photo(
            server_url,
            api_key=seed["api_key"],
            patient_id=seed["patient_id"],
            data=photo,
            name=f"IMG_{concurrency}_{index:03d}.jpg",
        )
        for index in range(PHOTOS)
    ]
    load_before = os.getloadavg()[0]
    with stack.celery_worker(concurrency=concurrency) as worker:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while len(PROCESSED.findall(worker.log())) < PHOTOS:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{PHOTOS} photos not processed in {TIMEOUT_SECONDS} s")
            time.sleep(0.2)
        cpu_seconds = _cpu_tree(worker.process.pid)
        log = worker.log().splitlines()
    ready_at = next(log_time(line) for line in log if line.rstrip().endswith(" ready."))
    processed = [(log_time(line), PROCESSED.search(line)) for line in log if PROCESSED.search(line)]
    finished = sorted(stamp for stamp, _ in processed)
    states = stack.seed("states", *ids)
    seconds = finished[-1] - ready_at
    # Steady state: after as many photos as there are processes (each process's first task
    # also imports the rendering code), to the last.
    steady = (len(finished) - concurrency) / (finished[-1] - finished[concurrency - 1])
    return {
        "concurrency": concurrency,
        "photos": PHOTOS,
        "ready": states.get("ready", 0),
        "seconds": seconds,
        "per_second": PHOTOS / seconds,
        "steady_per_second": steady,
        "median_ms": statistics.median(int(match[2]) for _, match in processed),
        "cpu_seconds_per_photo": cpu_seconds / PHOTOS,
        "load_1min": (load_before, os.getloadavg()[0]),
    }


def measure(stack: Stack, photo: bytes) -> dict:
    seed = stack.seed("account")
    runs = []
    with stack.gunicorn(workers=2, threads=4) as server:
        for concurrency in RUN_ORDER:
            runs.append(measure_one(stack, server.url, seed, photo, concurrency))
            print(
                f"    processing concurrency {concurrency}: {runs[-1]['per_second']:.2f} photos/s",
                flush=True,
            )
    rates = {
        concurrency: statistics.median(
            run["per_second"] for run in runs if run["concurrency"] == concurrency
        )
        for concurrency in sorted(set(RUN_ORDER))
    }
    return {
        "status": "measured",
        "photo_bytes": len(photo),
        "runs": runs,
        "per_second": rates,
        "scaling": rates[2] / rates[1],
    }


def markdown(data: dict) -> list[str]:
    rows = [
        [
            str(run["concurrency"]),
            f"{run['ready']} / {run['photos']}",
            f"{run['seconds']:.1f}",
            f"{run['per_second']:.2f}",
            f"{run['per_second'] / run['concurrency']:.2f}",
            f"{run['steady_per_second']:.2f}",
            f"{run['median_ms']:.0f}",
            f"{run['cpu_seconds_per_photo']:.2f}",
            f"{run['load_1min'][0]:.1f} / {run['load_1min'][1]:.1f}",
        ]
        for run in data["runs"]
    ]
    return [
        "",
        f"## {TITLE}",
        "",
        f"Each run: {PHOTOS} photos (the {data['photo_bytes']:,}-byte 12 MP JPEG fixture) "
        "uploaded through `POST /api/v1/files` with no worker running, then one "
        "`celery -A portal worker --concurrency=C` (prefork, Redis broker, PostgreSQL, "
        "filesystem storage) started; "
        "time from its ready line to the last photo processed. Runs in the order "
        f"{', '.join(map(str, RUN_ORDER))} processes, so load elsewhere touches both alike. "
        "Both this machine's cores are shared with other work (see the load average), so "
        "what 2 processes gain depends on what else ran at the same moment; worker CPU "
        "seconds per photo is the steadier figure.",
        "",
        *table(
            [
                "pool processes",
                "ready",
                "wall s",
                "photos/s",
                "photos/s per process",
                "steady photos/s (after each process's first)",
                "median ms per photo (task log)",
                "worker CPU s per photo",
                "load average (1 min) before / after (after includes the run itself)",
            ],
            rows,
        ),
        "",
        f"Median of the runs: **{data['per_second'][1]:.2f} photos/s with 1 process, "
        f"{data['per_second'][2]:.2f} with 2**; scaling from 1 to 2 processes: "
        f"**{data['scaling']:.2f}x** (2.00x would be perfect).",
    ]


def goals(data: dict) -> list[Goal]:
    all_ready = all(run["ready"] == run["photos"] for run in data["runs"])
    return [
        Goal(
            "processing",
            "report photos/s per worker and the 1 -> 2 scaling (no target set; all ready)",
            all_ready,
            f"{data['per_second'][1]:.2f} photos/s with 1 process, "
            f"{data['per_second'][2]:.2f} with 2: {data['scaling']:.2f}x",
        )
    ]


def run(stack: Stack, photo: bytes) -> Section:
    data = measure(stack, photo)
    return Section("processing", data, markdown(data), goals(data))
