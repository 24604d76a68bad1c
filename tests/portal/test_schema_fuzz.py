"""Schemathesis against the generated OpenAPI schema: every operation, generated
inputs, and every answer must be a non-5xx that matches what the schema promises.

The WSGI app runs in-process on the test database. Django closes the database
connection when a request finishes, which would end the test's transaction, so
that signal is disconnected for the run (as Django's own test client does).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import resolve
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from portal.accounts.services import api_key_create
from tests.access.routes import ROUTES
from tests.factories import AccountFactory, PatientFactory
from tests.support.examples import examples

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
EXAMPLES: Counter = Counter()

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


# One test per operation, named by it: schemathesis's own ``schema.parametrize()`` gives
# every operation the same node id, and xdist (``make test``) would then run only one.
OPERATIONS = sorted(
    (operation.path, operation.method.upper())
    for operation in (result.ok() for result in schema.get_all_operations())
)


@pytest.mark.parametrize(
    ("path", "method"), OPERATIONS, ids=[f"{method} {path}" for path, method in OPERATIONS]
)
def test_every_operation_answers_within_its_schema(path, method, api_key_header):
    """GIVEN any operation of the API WHEN called with generated input and a valid key
    THEN it never answers 5xx and its answer matches the documented status, type and shape."""
    operation = schema[path][method]

    # Valid inputs and invalid ones (wrong types, missing fields, out-of-range values).
    cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )

    @given(case=cases)
    @settings(
        max_examples=examples(50),
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def call(case):
        EXAMPLES[f"{method} {path}"] += 1
        case.call_and_validate(headers=api_key_header, checks=CHECKS)

    call()
    assert EXAMPLES[f"{method} {path}"] > 0


def schema_operations() -> set[tuple[str, str]]:
    """(method, URL name) of every operation in the schema, resolved through the URLconf."""
    raw = schema.raw_schema["paths"]
    operations = set()
    for path, item in raw.items():
        match = resolve(re.sub(r"\{[^}]+\}", "x", path))
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                operations.add((method.upper(), match.url_name))
    return operations


def test_the_schema_documents_every_api_route_and_method():
    """GIVEN the access table of every API route (which the route walker keeps complete)
    WHEN compared with the OpenAPI schema THEN each route and method is an operation there,
    so the fuzzing above reaches every one, dialect routes included."""
    documented = schema_operations()
    expected = {(method, name) for name, rule in ROUTES.items() for method in rule.methods}
    assert not expected - documented, f"not in the schema: {sorted(expected - documented)}"
    assert not documented - expected, f"no access rule: {sorted(documented - expected)}"


def test_zz_examples_were_run_for_every_operation():
    """The figure for the report, when this process ran every operation (``-p no:xdist``;
    under xdist each operation's own test asserts it ran examples)."""
    if len(EXAMPLES) < len(OPERATIONS):
        pytest.skip("the operations ran in several processes; each asserted its own examples")
    print(f"\nschemathesis: {len(EXAMPLES)} operations, {sum(EXAMPLES.values())} examples")
