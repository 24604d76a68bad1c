"""Schemathesis against the generated OpenAPI schema: every operation, generated
inputs, and every answer must be a non-5xx that matches what the schema promises.

The WSGI app runs in-process on the test database. Django closes the database
connection when a request finishes, which would end the test's transaction, so
that signal is disconnected for the run (as Django's own test client does).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

from portal.accounts.services import api_key_create
from tests.factories import AccountFactory, PatientFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def api_key_header(db):
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    account = AccountFactory()
    PatientFactory(account=account)
    yield {"X-API-Key": api_key_create(account=account).plaintext}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_every_operation_answers_within_its_schema(case, api_key_header):
    """GIVEN any operation of the API WHEN called with generated input and a valid key
    THEN it never answers 5xx and its answer matches the documented status, type and shape."""
    case.call_and_validate(headers=api_key_header, checks=CHECKS)
