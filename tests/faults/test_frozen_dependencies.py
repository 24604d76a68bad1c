"""Each dependency frozen (SIGSTOP: its port still takes connections, nothing answers) and
then stopped, under gunicorn behind the shipped nginx configuration, every answer timed.

The dependency under test is a server of this test's own (tests/support/frozen.py), so
the suite's shared servers are never frozen; the others are the suite's. nginx lists the
one gunicorn twice with ``max_fails=1``, as production lists two, so an answer that made
nginx mark its upstreams down shows as nginx's own 502 on the next request.

The fault table (route x state: status, seconds, Retry-After) is printed by each test
and is in every failure message.
"""

from __future__ import annotations

import base64
import time
import uuid

import pytest
import requests

from tests.faults.conftest import photo
from tests.support import clients, nginx
from tests.support import worker as worker_support
from tests.support.frozen import DedicatedPostgres, DedicatedRedis, DedicatedSeaweed
from tests.support.stack import FRESH_PROBES, portal_server, wait_for_http
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Every answer within this while a dependency hangs: well inside nginx's proxy timeout.
ANSWER_BUDGET_SECONDS = 10
# /readyz checks each dependency within 2 s; the bound leaves room for a loaded machine.
READY_BUDGET_SECONDS = 3.5
CLIENT_TIMEOUT = 25
METRICS_TOKEN = "frozen-dependency-metrics-token"

# What each route needs; a route that needs none of the frozen dependency answers as usual.
NEEDS = {
    "livez": set(),
    "readyz": {"database", "broker", "storage"},
    "healthz": {"database", "broker", "storage"},
    "metrics": {"database"},
    "api list": {"database"},
    "api upload": {"database", "storage"},
    "api upload x4": {"database", "storage"},
    "api download": {"database", "storage"},
    "patient page": {"database"},
}


def probe(base: str, session: requests.Session, *, patient_id, file_id) -> dict[str, dict]:
    """Every route once, in turn, timed; no answer within CLIENT_TIMEOUT is status None."""
    calls = {
        "livez": lambda: requests.get(f"{base}/livez", timeout=CLIENT_TIMEOUT),
        "readyz": lambda: requests.get(f"{base}/readyz", timeout=CLIENT_TIMEOUT),
        "healthz": lambda: requests.get(f"{base}/healthz", timeout=CLIENT_TIMEOUT),
        "metrics": lambda: requests.get(
            f"{base}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=CLIENT_TIMEOUT,
        ),
        "api list": lambda: session.get(f"{base}/api/v1/patients", timeout=CLIENT_TIMEOUT),
        "api upload x4": lambda: session.post(
            f"{base}/api/v1/files",
            json=clients_xon_body(patient_id, files=4),
            timeout=CLIENT_TIMEOUT,
        ),
        "api upload": lambda: session.post(
            f"{base}/api/v1/files",
            json=clients_xon_body(patient_id),
            timeout=CLIENT_TIMEOUT,
        ),
        "api download": lambda: session.get(
            f"{base}/api/v1/files/{file_id}", timeout=CLIENT_TIMEOUT
        ),
        "patient page": lambda: requests.get(
            f"{base}/r/{uuid.uuid4().hex[:22]}", timeout=CLIENT_TIMEOUT
        ),
    }
    answers = {}
    for route, call in calls.items():
        started = time.monotonic()
        try:
            response = call()
        except requests.RequestException as exc:
            answers[route] = {
                "status": None,
                "seconds": time.monotonic() - started,
                "retry_after": None,
                "body": type(exc).__name__,
            }
            continue
        answers[route] = {
            "status": response.status_code,
            "seconds": time.monotonic() - started,
            "retry_after": response.headers.get("Retry-After"),
            "body": response.text[:300],
            "server": response.headers.get("Server", ""),
        }
    return answers


def clients_xon_body(patient_id, files: int = 1) -> dict:
    """X-on's upload of ``files`` photos in one request (each queues its own task)."""
    return {
        "files": [
            {
                "name": f"during-fault-{index}.jpg",
                "type": "image/jpeg",
                "contents": base64.b64encode(photo(7 + index)).decode(),
            }
            for index in range(files)
        ],
        "userId": str(patient_id),
    }


def table(rows: list[tuple[str, str, str, dict]]) -> str:
    lines = [
        f"{'dependency':<10} {'state':<8} {'route':<14} {'status':>6} {'seconds':>8}  retry-after",
        "-" * 62,
    ]
    for dependency, state, route, answer in rows:
        lines.append(
            f"{dependency:<10} {state:<8} {route:<14} {answer['status']!s:>6} "
            f"{answer['seconds']:>8.2f}  {answer['retry_after'] or '-'}"
        )
    return "\n".join(lines)


def problems_of(dependency: str, state: str, answers: dict, healthy: dict) -> list[str]:
    found = []
    for route, answer in answers.items():
        where = f"{dependency} {state}, {route}: {answer['status']} in {answer['seconds']:.1f}s"
        bound = READY_BUDGET_SECONDS if route == "readyz" else ANSWER_BUDGET_SECONDS
        if answer["seconds"] > bound:
            found.append(f"{where}: slower than {bound}s")
        if dependency in NEEDS[route]:
            if answer["status"] != 503:
                found.append(f"{where}: expected 503 ({answer['body'][:200]})")
            elif not answer["retry_after"] and route not in ("healthz",):
                found.append(f"{where}: 503 without Retry-After")
            elif route == "readyz" and dependency not in answer["body"]:
                found.append(f"{where}: does not name {dependency}: {answer['body']}")
        elif answer["status"] != healthy[route]["status"]:
            found.append(
                f"{where}: expected {healthy[route]['status']} as when all is well "
                f"({answer['body'][:200]})"
            )
    return found


@pytest.fixture
def dedicated(request, tmp_path, clinic):
    """The dependency under test, a server of this test's own, started after the clinic's
    rows are committed (the database copy holds them); the environment pointing the
    portal's processes at it."""
    name = request.param
    if name == "database":
        server = DedicatedPostgres(worker_support.test_database_url()).start()
        env = {"DATABASE_URL": server.url}
    elif name == "broker":
        server = DedicatedRedis(tmp_path / "redis").start()
        env = {"CELERY_BROKER_URL": server.url}
    else:
        server = DedicatedSeaweed(tmp_path / "s3").start()
        env = {"S3_ENDPOINT_URL": server.url, "S3_BUCKET": server.bucket}
    try:
        yield server, env
    finally:
        server.close()


@pytest.mark.parametrize("dedicated", ["database", "broker", "storage"], indirect=True)
def test_a_frozen_or_stopped_dependency_is_answered_in_words_within_seconds(
    tmp_path, request, clinic, dedicated
):
    """GIVEN gunicorn behind nginx, with one dependency (PostgreSQL, Redis or the S3
    store) a server of the test's own, and a file that was processed while all was well
    WHEN that dependency is frozen (SIGSTOP), then thawed, then stopped outright
    THEN every route answers within 10 s: 503 with Retry-After (the portal's own answer,
    passed through nginx, never nginx's 502) where the route needs it, as usual where
    it does not; /livez answers 200 throughout; /readyz answers 503 naming the
    dependency within about 2 s; and once thawed everything answers as before."""
    server, env = dedicated
    if server.name != "storage":
        request.getfixturevalue("s3_bucket")
    env = {**env, "METRICS_TOKEN": METRICS_TOKEN, **FRESH_PROBES}
    session = clients.keyed(clinic["key"])
    patient_id = clinic["patient"].id
    rows = []
    with (
        portal_server(tmp_path, workers=1, threads=4, extra_env=env) as gunicorn,
        nginx.running(
            tmp_path / "nginx",
            upstreams=[gunicorn.port, gunicorn.port],
            upstream_options=" max_fails=1 fail_timeout=10s",
        ) as proxy,
    ):
        base = proxy.url
        uploaded = clients.xon_upload(
            session, base, user_id=patient_id, name="ready.jpg", data=photo(1)
        )
        assert uploaded.status_code == 201, uploaded.text
        file_id = uploaded.json()[0]["id"]
        with celery_worker(tmp_path, extra_env=env):
            wait_for_http(
                lambda: session.get(f"{base}/api/v1/files/{file_id}", timeout=10).ok,
                timeout=90,
                message="the file never became ready",
            )

        healthy = probe(base, session, patient_id=patient_id, file_id=file_id)
        rows += [(server.name, "running", r, a) for r, a in healthy.items()]
        problems = [
            f"running, {route}: {answer['status']} {answer['body'][:200]}"
            for route, answer in healthy.items()
            if answer["status"] not in (200, 201, 404)
        ]

        server.freeze()
        try:
            frozen = probe(base, session, patient_id=patient_id, file_id=file_id)
        finally:
            server.thaw()
        rows += [(server.name, "frozen", r, a) for r, a in frozen.items()]
        problems += problems_of(server.name, "frozen", frozen, healthy)

        wait_for_http(
            lambda: requests.get(f"{base}/healthz", timeout=10).status_code == 200,
            timeout=60,
            message=f"the portal did not recover after {server.name} was thawed",
        )
        thawed = probe(base, session, patient_id=patient_id, file_id=file_id)
        rows += [(server.name, "thawed", r, a) for r, a in thawed.items()]
        problems += [
            f"thawed, {route}: {answer['status']}, not {healthy[route]['status']}"
            for route, answer in thawed.items()
            if answer["status"] != healthy[route]["status"]
        ]

        server.stop()
        stopped = probe(base, session, patient_id=patient_id, file_id=file_id)
        rows += [(server.name, "stopped", r, a) for r, a in stopped.items()]
        problems += problems_of(server.name, "stopped", stopped, healthy)

    report = table(rows)
    print(f"\n{report}")
    assert not problems, "\n".join(problems) + "\n\n" + report
