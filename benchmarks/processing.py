"""Processing: 12 MP photos processed per second by real Celery workers, with one pool process
and with two, and how that scales; the portal's lossless cleaning against the same runs with
the re-encode path it replaced (the goal: at least 2.5x the photos per second).

Each run uploads N photos through ``POST /api/v1/files`` (multipart, the real door: spooled,
stored at a temporary key, a pending File, a task queued on Redis after commit) while no
worker runs, then starts ``celery -A config worker --concurrency=C`` and takes the time from
the worker's "ready" log line to the last "processed" line (both stamped by Celery's logger on
the same clock). Processing is the whole pipeline: verify, sniff, clean (metadata removed),
measure, thumbnail facet, promote, mark ready, events. Each pool process imports the rendering
code on its first task, which the figure includes (once per process).

The re-encode runs use ``benchmarks.reencode_worker``: the same worker with the lossless types
emptied in its own process, so ``clean`` falls back to ``rendering.clean_original`` for JPEGs
as it did before lossless cleaning. No setting of the product chooses it.
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
# Enough that the fastest run (two processes, lossless) lasts seconds, not one second.
PHOTOS = 60
# (processes, cleaning path) in A-B-B-A order over both, so a burst of load elsewhere on the
# machine is shared by every kind of run.
RUN_ORDER = (
    (1, "lossless"),
    (1, "reencode"),
    (2, "lossless"),
    (2, "reencode"),
    (2, "reencode"),
    (2, "lossless"),
    (1, "reencode"),
    (1, "lossless"),
)
PATHS = ("lossless", "reencode")
GOAL_SPEEDUP = 2.5
TIMEOUT_SECONDS = 300
PROCESSED = re.compile(r"file \S+ processed: (\w+) in (\d+) ms")


def _cpu_tree(pid: int) -> float:
    return proc.process_cpu_seconds(pid) + sum(
        proc.process_cpu_seconds(child) for child in proc.children(pid)
    )


def measure_one(
    stack: Stack, server_url: str, seed: dict, photo: bytes, concurrency: int, path: str
) -> dict:
    ids = [
        client.upload_photo(
            server_url,
            api_key=seed["api_key"],
            patient_id=seed["patient_id"],
            data=photo,
            name=f"IMG_{path}_{concurrency}_{index:03d}.jpg",
        )
        for index in range(PHOTOS)
    ]
    load_before = os.getloadavg()[0]
    with stack.celery_worker(concurrency=concurrency, reencode=path == "reencode") as worker:
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
        "path": path,
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
        for concurrency, path in RUN_ORDER:
            runs.append(measure_one(stack, server.url, seed, photo, concurrency, path))
            print(
                f"    processing {path:<8} concurrency {concurrency}: "
                f"{runs[-1]['per_second']:.2f} photos/s",
                flush=True,
            )
    rates = {
        path: {
            concurrency: statistics.median(
                run["per_second"]
                for run in runs
                if run["concurrency"] == concurrency and run["path"] == path
            )
            for concurrency in (1, 2)
        }
        for path in PATHS
    }
    cpu = {
        path: statistics.median(run["cpu_seconds_per_photo"] for run in runs if run["path"] == path)
        for path in PATHS
    }
    return {
        "status": "measured",
        "photo_bytes": len(photo),
        "runs": runs,
        "per_second": rates["lossless"],
        "reencode_per_second": rates["reencode"],
        "speedup": {n: rates["lossless"][n] / rates["reencode"][n] for n in (1, 2)},
        "cpu_seconds_per_photo": cpu,
        "scaling": rates["lossless"][2] / rates["lossless"][1],
    }


def markdown(data: dict) -> list[str]:
    rows = [
        [
            "**lossless**" if run["path"] == "lossless" else "re-encode (the former path)",
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
        "`celery -A config worker --concurrency=C` (prefork, Redis broker, PostgreSQL, "
        "filesystem storage) started; "
        "time from its ready line to the last photo processed. The re-encode runs use the same "
        "worker with the lossless types emptied in its own process "
        "(`benchmarks/reencode_worker.py`), so JPEGs are cleaned by `rendering.clean_original` "
        "as before lossless cleaning. Runs in the order "
        + ", ".join(f"{n} ({path})" for n, path in RUN_ORDER)
        + ", so load elsewhere touches every kind of run alike. "
        "Both this machine's cores are shared with other work (see the load average), so "
        "what 2 processes gain depends on what else ran at the same moment; worker CPU "
        "seconds per photo is the steadier figure.",
        "",
        *table(
            [
                "cleaning",
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
        f"Median of the runs, lossless: **{data['per_second'][1]:.2f} photos/s with 1 process, "
        f"{data['per_second'][2]:.2f} with 2**; re-encode: "
        f"{data['reencode_per_second'][1]:.2f} and {data['reencode_per_second'][2]:.2f}. "
        f"Lossless / re-encode: **{data['speedup'][1]:.2f}x with 1 process, "
        f"{data['speedup'][2]:.2f}x with 2**; worker CPU seconds per photo "
        f"{data['cpu_seconds_per_photo']['lossless']:.2f} against "
        f"{data['cpu_seconds_per_photo']['reencode']:.2f}. Scaling of the lossless path from "
        f"1 to 2 processes: **{data['scaling']:.2f}x** (2.00x would be perfect).",
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
        ),
        *(
            Goal(
                "processing",
                f">= 2.5x the re-encode path's photos/s, {n} process{'es' if n > 1 else ''}",
                data["speedup"][n] >= GOAL_SPEEDUP,
                f"{data['per_second'][n]:.2f} against {data['reencode_per_second'][n]:.2f} "
                f"photos/s: {data['speedup'][n]:.2f}x",
            )
            for n in (1, 2)
        ),
    ]


def run(stack: Stack, photo: bytes) -> Section:
    data = measure(stack, photo)
    return Section("processing", data, markdown(data), goals(data))
