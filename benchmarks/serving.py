"""Serving: a cached thumbnail through ``GET /api/v1/files/{id}?imageSize=200x140`` under
gunicorn, in requests per second and latency, against two references serving the same bytes
from the same storage: a bare Django view with no authentication and no database (the limit),
and the conventional peer, the download as a Django developer would write it (DRF
``RetrieveAPIView``, DRF ``TokenAuthentication``, ``FileResponse``, an audit insert; both in
``benchmarks.serving_urls``). Goals: at least 2x the peer's requests per second and
at least 35% of the bare view's.

One gunicorn (same workers, threads and settings for both targets; the bare route lives in
``benchmarks.serving_urls``, outside the product's URLconf) on the stack's PostgreSQL and
filesystem storage. The photo is uploaded through the API and processed by a real worker; the
first ``imageSize`` request makes the rendition, so every measured request serves the kept
facet: API key check, file and facet look-ups, the audit event, the bytes. A warm-up per
target, then rounds that alternate which target goes first, each a fixed number of requests
from a bounded keep-alive client (`loadclient`); a burst of load elsewhere on the machine
then touches both targets alike.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from urllib.parse import quote

import requests

from benchmarks import client, proc
from benchmarks.loadclient import LoadResult, run_load
from benchmarks.report import Goal, Section, table
from benchmarks.stack import Stack

TITLE = "Serving: a cached thumbnail, portal API against the DRF peer and a bare Django view"
WORKERS = 2  # gunicorn workers: one per core
THREADS = 4  # per worker (gthread: keep-alive)
CONCURRENCY = 8  # client connections: one per server thread
WARMUP_REQUESTS = 300
REQUESTS_PER_ROUND = 2000
ROUNDS = 3
IMAGE_SIZE = (200, 140)
GOAL_BARE_RATIO = 0.35
GOAL_PEER_RATIO = 2.0
TARGETS = ("bare", "drf", "portal")


def _cpu(pids: list[int]) -> float:
    return sum(proc.process_cpu_seconds(pid) for pid in pids)


def _summary(results: list[LoadResult]) -> dict:
    pooled = LoadResult(
        sum(r.requests for r in results),
        sum(r.seconds for r in results),
        sorted(latency for r in results for latency in r.latencies),
        sum((r.statuses for r in results), start=Counter()),
        sum(r.wrong_bodies for r in results),
    )
    return {
        "per_second": statistics.median(r.per_second for r in results),
        "rounds_per_second": [round(r.per_second, 1) for r in results],
        "p50_ms": pooled.percentile_ms(0.50),
        "p99_ms": pooled.percentile_ms(0.99),
        "mean_ms": pooled.mean_ms,
        "requests": pooled.requests,
        "statuses": {str(code): count for code, count in pooled.statuses.items()},
        "wrong_bodies": pooled.wrong_bodies,
    }


def measure(stack: Stack, photo: bytes) -> dict:
    seed = stack.seed("account")
    key = seed["api_key"]
    serving_settings = {"DJANGO_SETTINGS_MODULE": "benchmarks.serving_settings"}
    stack.python("manage.py", "migrate", "authtoken", "--noinput", "-v0", **serving_settings)
    token = json.loads(
        stack.python("-m", "benchmarks.seed", "token", seed["account_id"], **serving_settings)
        .strip()
        .splitlines()[-1]
    )["token"]
    with stack.gunicorn(
        workers=WORKERS, threads=THREADS, settings_module="benchmarks.serving_settings"
    ) as server:
        file_id = client.upload_photo(
            server.url, api_key=key, patient_id=seed["patient_id"], data=photo, name="IMG.jpg"
        )
        width, height = IMAGE_SIZE
        portal_path = f"/api/v1/files/{file_id}?imageSize={width}x{height}"
        with stack.celery_worker(concurrency=1):
            state = client.wait_until_processed(server.url, api_key=key, file_id=file_id)
            if state != "ready":
                raise RuntimeError(f"the photo to serve ended {state}")
            # This one has the worker make the rendition; every later one serves it.
            first = requests.get(server.url + portal_path, headers={"X-API-Key": key}, timeout=60)
            first.raise_for_status()
        facet = stack.seed("rendition", file_id, str(width), str(height))
        targets = {
            "bare": (f"/bench/bare/{quote(facet['storage_key'])}", {}),
            "drf": (
                f"/bench/drf/{file_id}?facet={quote(facet['name'])}",
                {"Authorization": f"Token {token}"},
            ),
            "portal": (portal_path, {"X-API-Key": key}),
        }
        for name, (path, headers) in targets.items():
            answer = requests.get(server.url + path, headers=headers, timeout=60)
            if answer.status_code != 200 or answer.content != first.content:
                raise RuntimeError(f"the {name} target and the portal serve different bytes")

        def load(name: str, total: int) -> LoadResult:
            path, headers = targets[name]
            return run_load(
                server.port,
                path,
                headers=headers,
                total=total,
                concurrency=CONCURRENCY,
                expected_body=first.content,
            )

        for name in targets:
            load(name, WARMUP_REQUESTS)
        rounds: dict[str, list[LoadResult]] = {name: [] for name in targets}
        cpu = {name: {"gunicorn": 0.0, "postgres": 0.0, "client": 0.0} for name in targets}
        processes = {"gunicorn": server.children(), "postgres": stack.postgres_pids()}
        for number in range(ROUNDS):
            # Each target first once per three rounds, so load elsewhere touches all alike.
            order = [*TARGETS[number % 3 :], *TARGETS[: number % 3]]
            for name in order:
                before = {kind: _cpu(pids) for kind, pids in processes.items()}
                client_before = time.process_time()
                rounds[name].append(load(name, REQUESTS_PER_ROUND))
                cpu[name]["client"] += time.process_time() - client_before
                for kind, pids in processes.items():
                    cpu[name][kind] += _cpu(pids) - before[kind]
                print(
                    f"    serving {name:<7} round {number + 1}: "
                    f"{rounds[name][-1].per_second:.0f} req/s",
                    flush=True,
                )
    audited = stack.seed("downloads", file_id)["audited"]
    breakdown = json.loads(
        stack.python(
            "-m",
            "benchmarks.serving_breakdown",
            file_id,
            key,
            facet["storage_key"],
            DJANGO_SETTINGS_MODULE="benchmarks.serving_settings",
        )
        .strip()
        .splitlines()[-1]
    )
    # The portal's requests plus the peer's (both write a file.download row for the file):
    # the first (which has the rendition made), one check of each, warm-ups and rounds.
    portal_requests = 1 + 2 + 2 * (WARMUP_REQUESTS + ROUNDS * REQUESTS_PER_ROUND)
    summary = {name: _summary(results) for name, results in rounds.items()}
    for name, seconds in cpu.items():
        summary[name]["cpu_ms_per_request"] = {
            kind: value * 1000 / summary[name]["requests"] for kind, value in seconds.items()
        }
    return {
        "status": "measured",
        "bytes": len(first.content),
        "facet": facet["name"],
        "targets": summary,
        "ratio": summary["portal"]["per_second"] / summary["bare"]["per_second"],
        "peer_ratio": summary["portal"]["per_second"] / summary["drf"]["per_second"],
        "round_ratios": [
            p.per_second / b.per_second
            for p, b in zip(rounds["portal"], rounds["bare"], strict=True)
        ],
        "round_peer_ratios": [
            p.per_second / d.per_second
            for p, d in zip(rounds["portal"], rounds["drf"], strict=True)
        ],
        "audited": audited,
        "breakdown_cpu_ms": breakdown,
        "portal_requests": portal_requests,
    }


def markdown(data: dict) -> list[str]:
    portal_cpu = data["targets"]["portal"]["cpu_ms_per_request"]["gunicorn"]
    postgres_cpu = data["targets"]["portal"]["cpu_ms_per_request"]["postgres"]
    bare_cpu = data["targets"]["bare"]["cpu_ms_per_request"]["gunicorn"]
    peer_cpu = data["targets"]["drf"]["cpu_ms_per_request"]["gunicorn"]
    labels = {
        "bare": "bare Django view (no auth, no database): the limit",
        "drf": "DRF peer: `RetrieveAPIView`, `TokenAuthentication`, `FileResponse`, audit insert",
        "portal": "**portal** `GET /api/v1/files/{id}?imageSize=200x140` (X-API-Key)",
    }
    rows = []
    for name, label in labels.items():
        found = data["targets"][name]
        errors = sum(n for code, n in found["statuses"].items() if code != "200")
        rows.append(
            [
                label,
                f"{found['per_second']:.0f}",
                ", ".join(f"{value:.0f}" for value in found["rounds_per_second"]),
                f"{found['p50_ms']:.1f}",
                f"{found['p99_ms']:.1f}",
                f"{found['mean_ms']:.1f}",
                f"{found['cpu_ms_per_request']['gunicorn']:.2f}",
                f"{found['cpu_ms_per_request']['postgres']:.2f}",
                f"{errors} / {found['wrong_bodies']}",
            ]
        )
    return [
        "",
        f"## {TITLE}",
        "",
        f"gunicorn, {WORKERS} workers x {THREADS} threads (gthread, keep-alive), PostgreSQL, "
        f"filesystem storage; both targets on the same server. The {data['bytes']:,}-byte "
        f"`{data['facet']}` facet of a 12 MP JPEG uploaded through the API and processed by a "
        f"worker. {WARMUP_REQUESTS} warm-up requests per target, then {ROUNDS} rounds of "
        f"{REQUESTS_PER_ROUND} requests per target from {CONCURRENCY} keep-alive connections "
        "(a threaded `http.client` client on the same machine), the order alternating between "
        "rounds. req/s: median of the rounds; latencies: all rounds pooled.",
        "",
        *table(
            [
                "target",
                "req/s",
                "rounds req/s",
                "p50 ms",
                "p99 ms",
                "mean ms",
                "gunicorn CPU ms/request",
                "PostgreSQL CPU ms/request",
                "non-200 / wrong bytes",
            ],
            rows,
        ),
        "",
        f"Portal / DRF peer: **{data['peer_ratio']:.2f}x** the peer's requests per second "
        "(rounds: "
        + ", ".join(f"{ratio:.2f}x" for ratio in data["round_peer_ratios"])
        + f"). Portal / bare: **{data['ratio']:.0%}** of the bare view's (rounds: "
        + ", ".join(f"{ratio:.0%}" for ratio in data["round_ratios"])
        + f"). Every download was audited: {data['audited']:,} `file.download` events "
        f"for {data['portal_requests']:,} portal and peer requests.",
        "",
        f"Per request the portal spends {portal_cpu:.2f} ms of gunicorn CPU, the DRF peer "
        f"{peer_cpu:.2f} ms and the bare view {bare_cpu:.2f} ms; the portal adds "
        f"{postgres_cpu:.2f} ms in PostgreSQL. The portal's download no longer goes through "
        "DRF's dispatch when it is the common case (an API key, a ready file, its kept facet; "
        "the fast door, `files/serving/lean_download.py`): one prepared SQL statement checks "
        "the key "
        "(known, not revoked; its digest compared in constant time in Python) and finds the "
        "file in the key's account with its ready facets, then it calls the serving function "
        "every door calls (`files/serving/respond.py`: state checks, headers, the audit row "
        "inserted "
        "in autocommit by one prepared statement before a byte is sent, the stream): two "
        "round trips, against four ORM statements and DRF's negotiation, authenticator and "
        "permission classes before. The key's revocation and the audit write stay on every "
        "request; any other case (a session, Basic, a bad key, a file not ready, a size not "
        "made yet, Range or conditional headers) is handed to the DRF view, which calls the "
        "same serving function.",
        "",
        "### Where the portal's request spends its CPU (one process, one call at a time)",
        "",
        "`benchmarks/serving_breakdown.py`: each step called on its own, CPU time per call "
        "(waiting for PostgreSQL not counted; median of 5 rounds of 100 calls, round-robin "
        "over the steps), whole requests through Django's test client (the portal's on the lean "
        "path). "
        "A bare `SELECT 1` costs next to nothing: the ORM's building and reading of each "
        "query is what costs. The steps add up to less than the whole request: the rest is "
        "DRF's dispatch (negotiation, authentication, permissions), the response's headers, "
        "Django's connection health check, and each step running colder inside a request "
        "than in a loop of its own.",
        "",
        *table(
            ["step", "CPU ms per call"],
            [[step, f"{ms:.2f}"] for step, ms in data["breakdown_cpu_ms"].items()],
        ),
    ]


def goals(data: dict) -> list[Goal]:
    portal, bare, peer = (data["targets"][name] for name in ("portal", "bare", "drf"))
    figures = (
        f"portal {portal['per_second']:.0f} req/s, p99 {portal['p99_ms']:.1f} ms; DRF peer "
        f"{peer['per_second']:.0f} req/s, p99 {peer['p99_ms']:.1f} ms; bare "
        f"{bare['per_second']:.0f} req/s, p99 {bare['p99_ms']:.1f} ms"
    )
    return [
        Goal(
            "serving",
            "cached thumbnail: >= 2x the DRF peer's req/s",
            data["peer_ratio"] >= GOAL_PEER_RATIO,
            f"{figures}: {data['peer_ratio']:.2f}x the peer",
        ),
        Goal(
            "serving",
            "cached thumbnail: >= 35% of the bare view's req/s",
            data["ratio"] >= GOAL_BARE_RATIO,
            f"{figures}: {data['ratio']:.0%} of the bare view",
        ),
    ]


def run(stack: Stack, photo: bytes) -> Section:
    data = measure(stack, photo)
    return Section("serving", data, markdown(data), goals(data))
