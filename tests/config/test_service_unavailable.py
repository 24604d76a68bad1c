"""The portal's 500 handler tells an outage (database or storage unreachable) from a bug.

Django calls ``handler500`` while it handles the exception, so these tests call it the
same way, inside ``except``. The whole path, with a real database cut, is proven in
tests/faults/test_database_outage.py.
"""

from __future__ import annotations

import psycopg
import pytest
import redis.exceptions
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory
from kombu.exceptions import OperationalError as KombuOperationalError

from config.broker_pause import BrokerPaused
from config.views import server_error

OUTAGES = {
    "database down": OperationalError("connection refused"),
    "database connection closed": InterfaceError("connection already closed"),
    "database statement timeout (psycopg)": psycopg.errors.QueryCanceled("statement timeout"),
    "database silent (psycopg)": psycopg.OperationalError("no answer within 6 s"),
    "database connect timeout (psycopg)": psycopg.errors.ConnectionTimeout("timeout expired"),
    "broker timeout (redis)": redis.exceptions.TimeoutError("Timeout reading from socket"),
    "broker refused (redis)": redis.exceptions.ConnectionError("Connection refused"),
    "broker away (kombu)": KombuOperationalError("Error 111 connecting"),
    "broker paused": BrokerPaused("not queued"),
    "storage read timeout": ReadTimeoutError(endpoint_url="http://127.0.0.1:9"),
    "storage connect timeout": ConnectTimeoutError(endpoint_url="http://127.0.0.1:9"),
    "storage unreachable": EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
    "storage 500": ClientError(
        {"Error": {"Code": "InternalError"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
        "HeadObject",
    ),
}


def answer_for(path: str, exc: Exception):
    try:
        raise exc
    except Exception:
        return server_error(RequestFactory().get(path))


@pytest.mark.parametrize("outage", sorted(OUTAGES))
def test_outages_answer_503_with_retry_after(outage):
    """GIVEN the database or storage unreachable WHEN a request fails on it
    THEN the API answers the JSON error shape, the storage endpoint S3's XML and pages a
    friendly page, each 503 with Retry-After."""
    api = answer_for("/api/v1/patients", OUTAGES[outage])
    assert api.status_code == 503 and api["Retry-After"] == "5"
    assert api["Content-Type"] == "application/json"
    assert b'"code": "service_unavailable"' in api.content
    storage = answer_for("/storage/upload", OUTAGES[outage])
    assert storage.status_code == 503 and b"<Code>ServiceUnavailable</Code>" in storage.content
    page = answer_for("/patients/", OUTAGES[outage])
    assert page.status_code == 503 and b"briefly unavailable" in page.content


def test_a_bug_is_still_a_500():
    """GIVEN an ordinary exception (or a storage 404) WHEN it escapes a view THEN 500."""
    assert answer_for("/api/v1/patients", RuntimeError("bug")).status_code == 500
    missing = ClientError(
        {"Error": {"Code": "NoSuchKey"}, "ResponseMetadata": {"HTTPStatusCode": 404}}, "GetObject"
    )
    assert answer_for("/api/v1/files/x", missing).status_code == 500
    assert answer_for("/patients/", RuntimeError("bug")).status_code == 500
