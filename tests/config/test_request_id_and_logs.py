"""Logs an operator can ship: a request id from the proxy through Django into the tasks and
webhook deliveries it causes, JSON lines (LOG_FORMAT=json) from gunicorn, Django and the
worker, and Sentry reports that carry no patient data."""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import subprocess
import sys
import uuid
import zlib
from pathlib import Path

import pytest
import requests
import sentry_sdk
from django.conf import settings

from deploy.services import free_port, wait_until
from portal.webhooks.models import Event
from portal.webhooks.services import delivery_attempt
from tests.support.sentry_urls import PATIENT_MOBILE, PATIENT_NAME
from tests.support.worker import celery_worker, wait_for, worker_env

BASE_DIR = Path(settings.BASE_DIR)
HEX32 = re.compile(r"[0-9a-f]{32}")


# --- the id on the way in and out -------------------------------------------------------


@pytest.mark.django_db
def test_a_request_without_an_id_is_given_one_and_told_it(client):
    """GIVEN requests without X-Request-ID WHEN answered THEN each answer carries a fresh
    32-hex id (nginx's $request_id form), a page, a redirect and a 404 alike."""
    seen = set()
    for path in ("/healthz", "/", "/no-such-page/"):
        answer = client.get(path)
        assert HEX32.fullmatch(answer["X-Request-ID"]), (path, answer["X-Request-ID"])
        seen.add(answer["X-Request-ID"])
    assert len(seen) == 3


@pytest.mark.parametrize(
    "given",
    ["0123456789abcdef0123456789abcdef", "lb-7f3a9c21", "req:2026-11-23T10:00:00.123", "a" * 128],
)
@pytest.mark.django_db
def test_a_well_formed_id_from_the_proxy_is_kept(client, given):
    """GIVEN nginx's (or a load balancer's) X-Request-ID WHEN answered THEN the same id."""
    assert client.get("/healthz", HTTP_X_REQUEST_ID=given)["X-Request-ID"] == given


MALFORMED = {
    "empty": "",
    "too short": "abc1234",
    "too long": "a" * 129,
    "a newline (forged log line)": "abcdefgh\nERROR forged",
    "a carriage return and header": "abcdefgh\r\nSet-Cookie: x=1",
    "a space": "abcd efgh",
    "a quote (breaks JSON and log formats)": 'abcdefgh"}',
    "a percent-encoded newline": "abcdefgh%0aERROR",
    "non-ASCII": "abcdéfghij",
    "a short link (a credential) as id": "/r/AbCdEfGhIjKl",
    "NUL": "abcdefgh\x00",
    "a slash": "abcd/efgh",
}


@pytest.mark.parametrize("case", MALFORMED)
@pytest.mark.django_db
def test_a_malformed_id_is_replaced(client, case):
    """GIVEN an X-Request-ID that could break a log line or an outgoing header WHEN
    answered THEN a fresh id is used and echoed instead."""
    answered = client.get("/healthz", HTTP_X_REQUEST_ID=MALFORMED[case])["X-Request-ID"]
    assert HEX32.fullmatch(answered), answered


@pytest.mark.django_db
def test_an_event_keeps_the_request_id_and_its_delivery_sends_it(api, webhook_receiver):
    """GIVEN a webhook ping asked with X-Request-ID WHEN its delivery is attempted (later,
    by whichever worker) THEN the receiver gets the same X-Request-ID."""
    created = api.post(
        "/api/v1/webhooks", {"url": webhook_receiver.url(), "events": ["file.ready"]}, format="json"
    ).json()
    answer = api.post(f"/api/v1/webhooks/{created['id']}/ping", HTTP_X_REQUEST_ID="ping-1234abcd")
    assert answer.status_code == 202 and answer["X-Request-ID"] == "ping-1234abcd"
    assert Event.objects.get().request_id == "ping-1234abcd"
    delivery_attempt(delivery_id=answer.json()["id"])
    assert webhook_receiver.requests[0].headers["x-request-id"] == "ping-1234abcd"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_id_reaches_the_task_and_its_delivery_through_a_real_worker(
    api, webhook_receiver, tmp_path
):
    """GIVEN a real worker writing JSON logs WHEN a request with X-Request-ID queues a
    webhook delivery THEN the task's message carries the id, the worker's lines about the
    task say it, and the delivery's POST sends it."""
    created = api.post(
        "/api/v1/webhooks", {"url": webhook_receiver.url(), "events": ["file.ready"]}, format="json"
    ).json()
    request_id = f"it-{uuid.uuid4().hex[:12]}"
    with celery_worker(tmp_path, extra_env={"LOG_FORMAT": "json"}) as worker:
        answer = api.post(f"/api/v1/webhooks/{created['id']}/ping", HTTP_X_REQUEST_ID=request_id)
        assert answer.status_code == 202
        wait_for(lambda: webhook_receiver.requests, timeout=30, message=worker.log())
        wait_for(lambda: "succeeded" in worker.log(), timeout=10)
        lines = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    assert webhook_receiver.requests[0].headers["x-request-id"] == request_id
    # The consumer's "received" line is written before the message's headers are read.
    about_the_task = [
        line
        for line in lines
        if "webhooks.attempt_delivery" in line["message"] and "received" not in line["message"]
    ]
    assert about_the_task, lines
    assert {line["request_id"] for line in about_the_task} == {request_id}


# --- JSON lines from a real gunicorn ---------------------------------------------------


@contextlib.contextmanager
def gunicorn(tmp_path: Path, **variables: str):
    """gunicorn as deployed (deploy/gunicorn.conf.py: the redacting logger), serving the
    portal with the failing views of tests/support/sentry_urls.py."""
    port = free_port()
    log = tmp_path / f"gunicorn-{port}.log"
    env = worker_env(
        {
            "PORTAL_BIND": f"127.0.0.1:{port}",
            "PORTAL_RUN_DIR": str(tmp_path / f"run-{port}"),
            "WEB_CONCURRENCY": "1",
            "DJANGO_SETTINGS_MODULE": "tests.support.failing_settings",
            **variables,
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(BASE_DIR / "deploy" / "gunicorn.conf.py")],
        cwd=BASE_DIR,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{url}/healthz", timeout=2), what="gunicorn", timeout=60)
        yield url, log
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_json_lines_carry_time_level_logger_message_request_id_and_exception(tmp_path):
    """GIVEN LOG_FORMAT=json WHEN a request fails with an exception, another is a 404 on a
    patient's short link THEN every line gunicorn and Django write is one JSON object with
    time, level, logger, message and request_id; the failure's line holds the exception's
    traceback; the short link and the mobile number are redacted as in plain lines."""
    with gunicorn(tmp_path, LOG_FORMAT="json") as (url, log):
        failed = requests.post(
            f"{url}/r/SeCrEtLiNk123/sentry-failure?dob=1984-02-29",
            data={"name": PATIENT_NAME},
            headers={"X-Request-ID": "json-test-0001"},
            timeout=30,
        )
        missing = requests.get(
            f"{url}/r/SeCrEtLiNk123/no-such-page",
            headers={"X-Request-ID": "json-test-0002"},
            timeout=30,
        )
    assert failed.status_code == 500 and failed.headers["X-Request-ID"] == "json-test-0001"
    assert missing.status_code == 404
    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # all JSON
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id"} <= set(line), line
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]), line
    # The failing request is one ERROR line, Django's, with its traceback (gunicorn may add
    # lines of its own about its workers on a loaded machine, never about this request).
    [error] = [line for line in lines if line["request_id"] == "json-test-0001"
               and line["level"] in ("ERROR", "CRITICAL")]  # fmt: skip
    assert error["logger"] == "django.request"
    assert "ValueError" in error["exception"] and "Traceback" in error["exception"]
    assert {"gunicorn.error", "gunicorn.access"} <= {line["logger"] for line in lines}
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert {line["request_id"] for line in access} >= {"json-test-0001", "json-test-0002"}
    missing_line = next(line for line in lines if line["message"].startswith("Not Found"))
    assert missing_line["request_id"] == "json-test-0002"
    for secret in ("SeCrEtLiNk123", PATIENT_MOBILE, "?dob="):
        assert secret not in text


# --- Sentry ----------------------------------------------------------------------------


def test_sentry_is_off_without_a_dsn():
    """GIVEN no SENTRY_DSN (the suite's settings) THEN no Sentry client is active."""
    assert not settings.SENTRY_DSN
    assert not sentry_sdk.get_client().is_active()


def envelopes(receiver) -> list[bytes]:
    bodies = []
    for received in receiver.requests:
        body = received.body
        encoding = received.headers.get("content-encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        bodies.append(body)
    return bodies


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sentry_gets_the_error_and_no_patient_data(tmp_path, webhook_receiver):
    """GIVEN SENTRY_DSN pointing at a real HTTP receiver WHEN a patient's page fails with
    their name in the body, date of birth in the query, a session cookie, the short link in
    the path, the mobile number in the exception and the name in a local variable THEN
    Sentry receives the error (its type, the request id) and none of those."""
    dsn = f"http://publickey@127.0.0.1:{webhook_receiver.port}/42"
    with gunicorn(tmp_path, SENTRY_DSN=dsn) as (url, _):
        failed = requests.post(
            f"{url}/r/SeCrEtLiNk123/sentry-failure?dob=1984-02-29&q=Quarrington",
            data={"name": PATIENT_NAME, "note": "the rash on my left arm"},
            cookies={"sessionid": "s3ss10n-c00k1e-value", "csrftoken": "csrf-c00k1e-value"},
            headers={
                "X-Request-ID": "sentry-test-01",
                "Authorization": "Bearer cfp_abcdefgh_SeCrEtKeYpArT",
                "Referer": f"{url}/r/SeCrEtLiNk123?dob=1984-02-29",
            },
            timeout=30,
        )
        assert failed.status_code == 500
        wait_for(
            lambda: any(b"ValueError" in body for body in envelopes(webhook_receiver)),
            timeout=30,
            message="Sentry received no error",
        )
    sent = b"\n".join(envelopes(webhook_receiver)).decode(errors="replace")
    assert "sentry-test-01" in sent  # the request id, as a tag
    assert "/r/[redacted]/sentry-failure" in sent
    for patient_data in (
        PATIENT_NAME,
        "Quarrington",
        "1984-02-29",
        "the rash on my left arm",
        PATIENT_MOBILE,
        "7700900462",
        "SeCrEtLiNk123",
        "s3ss10n-c00k1e-value",
        "csrf-c00k1e-value",
        "SeCrEtKeYpArT",
    ):
        assert patient_data not in sent, patient_data
