"""A property of the API's list filters, every dialect: whatever values a client puts in
them, the answer is a list or a 4xx, never a 5xx.

The filters are the query parameters the OpenAPI schema documents for each list
(``test_every_list_filter_is_fuzzed`` keeps this table complete); Hypothesis draws
their values (``tests.support.query_values``), a few at a time, bounded and derandomised
so every run is the same run."""

from __future__ import annotations

import pytest
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from filerequests.models import FileRequest
from portal.accounts.services import api_key_create
from portal.audit.services import Actor
from portal.webhooks import events
from portal.webhooks.models import Delivery
from portal.webhooks.services import webhook_endpoint_create
from tests.factories import FileRequestFactory, PatientFactory
from tests.support.examples import examples
from tests.support.query_values import any_text, dates, numbers, uuids, values

pytestmark = pytest.mark.django_db

PAGING = {"page": values(numbers), "per_page": values(numbers)}
CLINIKO_LIST = {
    "q[]": values(
        st.sampled_from(["archived_at:*", "archived_at:?", "archived_at:!?", "archived_at:"]),
        st.builds(lambda field, op: f"{field}:{op}", any_text, any_text),
    ),
    "sort": values(
        st.sampled_from(["created_at", "updated_at:desc", "created_at:asc", ":desc", "x:y:z"])
    ),
    **PAGING,
}
DELIVERY_STATUS = {
    "status": values(st.sampled_from([*Delivery.Status.values, "SUCCEEDED"])),
    **PAGING,
}

# Each list route of the API and the strategy for each of its filters.
FILTERS = {
    "/api/v1/patients": {
        "name": values(st.sampled_from(["John", "smi jo", "O'Brien", "%", "_", "\\", "a,b"])),
        "mobile": values(
            st.sampled_from(["+447911123456", "07911 123456", "+1", "+999999999999999999"]),
            st.integers(0, 10**16).map(lambda n: f"+{n}"),
        ),
        "date_of_birth": values(dates(prefixes=False)),
        "nhs_number": values(
            st.sampled_from(["9434765919", "943 476 5919", "943-476-5918", "1000000010", "+44"]),
            st.integers(0, 10**12).map(str),
        ),
        **PAGING,
    },
    "/api/v1/file-requests": {
        "status": values(st.sampled_from(FileRequest.Status.values)),
        "patientId": values(uuids(), numbers),
        "createdAfter": values(dates(prefixes=False)),
        "createdBefore": values(dates(prefixes=False)),
        **PAGING,
    },
    "/api/v1/patient_attachments": CLINIKO_LIST,
    "/api/v1/patients/{patient_id}/patient_attachments": CLINIKO_LIST,
    "/api/v1/webhooks": PAGING,
    "/api/v1/webhook-deliveries": DELIVERY_STATUS,
    "/api/v1/webhooks/{endpoint_id}/deliveries": DELIVERY_STATUS,
}
# Query parameters of routes that are not lists, each fuzzed beside its own feature.
NOT_LISTS = {("/api/v1/files/{file_id}", "imageSize")}  # tests/files/test_rendering.py


def test_every_list_filter_is_fuzzed():
    """GIVEN the OpenAPI schema generated from the views WHEN its GET operations' query
    parameters are listed THEN each is in the table above, so a new filter is fuzzed
    from the day it is documented."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = {
        (path, parameter["name"])
        for path, item in schema["paths"].items()
        for parameter in item.get("get", {}).get("parameters", [])
        if parameter["in"] == "query"
    }
    fuzzed = {(path, name) for path, filters in FILTERS.items() for name in filters}
    assert documented - NOT_LISTS == fuzzed


FILTER_CASES = [(path, name) for path, filters in FILTERS.items() for name in filters]


@pytest.mark.parametrize(("path", "name"), FILTER_CASES, ids=[f"{p} {n}" for p, n in FILTER_CASES])
def test_no_list_filter_value_gets_a_server_error(client, account, path, name):
    """GIVEN a clinic with a patient, a file request and a webhook endpoint WHEN a list of
    the API is asked for with any value of one of its filters (sometimes repeated) THEN
    never a 5xx: a list, or a 4xx in the dialect's error shape."""
    patient = PatientFactory(account=account, first_name="John", last_name="Smith")
    FileRequestFactory(account=account, patient=patient)
    endpoint = webhook_endpoint_create(
        account=account,
        actor=Actor.system(),
        url="https://hooks.example.org/a",
        events=[events.FILE_READY],
    )
    key = api_key_create(account=account, name="fuzz").plaintext
    url = path.format(patient_id=patient.pk, endpoint_id=endpoint.pk)

    @settings(
        max_examples=examples(8),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )
    @given(drawn=st.lists(FILTERS[path][name], min_size=1, max_size=2))
    def call(drawn):
        pairs = [(name, value) for value in drawn]
        # A savepoint per example, so one failure does not poison the next examples.
        with transaction.atomic():
            response = client.get(url, pairs, HTTP_X_API_KEY=key)
            assert response.status_code < 500, (pairs, response.content[:300])
        assert response["Content-Type"].startswith("application/json"), pairs

    call()
