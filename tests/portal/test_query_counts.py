"""Database queries per API read, for every list and detail route: the same count for
2 items as for 6. A route that starts querying once per item (an N+1) fails here.

Counts, not timings: deterministic on any machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from attachments.models import PatientAttachment
from files.models import File
from portal.audit.services import Actor
from portal.webhooks import events
from portal.webhooks.models import DeliveryAttempt
from portal.webhooks.services import event_dispatch, event_record, webhook_endpoint_create
from tests.access.routes import ROUTES
from tests.factories import FileFactory, FileRequestFactory, PatientFactory

pytestmark = pytest.mark.django_db

SIZES = (2, 6)


def ready_file(account, patient, *, file_request=None, name="IMG.JPG") -> File:
    return FileFactory(
        account=account, patient=patient, file_request=file_request, original_name=name, ready=True
    )


@dataclass
class Scene:
    """What one route reads, and how to add one more of the items it lists."""

    kwargs: Callable[[], dict]
    grow: Callable[[], None]


def scenes(account, patient) -> dict[str, Scene]:
    file_request = FileRequestFactory(account=account, patient=patient)
    endpoint = webhook_endpoint_create(
        account=account,
        actor=Actor.system(),
        url="https://hooks.example.org/q",
        events=[events.FILE_READY],
    )
    deliveries = []

    def add_delivery():
        event = event_record(account=account, type=events.FILE_READY, data={})
        [delivery] = event_dispatch(event_id=event.id)
        DeliveryAttempt.objects.create(delivery=delivery, number=1, url=endpoint.url)
        deliveries.append(delivery)

    add_delivery()
    first_delivery = deliveries[0]
    attempt_numbers = iter(range(2, 100))

    def add_attachment():
        PatientAttachment.objects.create(
            account=account,
            patient=patient,
            file=ready_file(account, patient, name="a.pdf"),
        )

    add_attachment()
    first_attachment = PatientAttachment.objects.filter(account=account).first()
    no_kwargs = dict

    return {
        "patient-list": Scene(no_kwargs, lambda: PatientFactory(account=account)),
        "patient-detail": Scene(lambda: {"patient_id": patient.id}, add_attachment),
        "patient-attachment-list": Scene(no_kwargs, add_attachment),
        "patient-attachment-patient-list": Scene(
            lambda: {"patient_id": patient.id}, add_attachment
        ),
        "patient-attachment-detail": Scene(
            lambda: {"attachment_id": first_attachment.id}, add_attachment
        ),
        "file-metadata": Scene(
            lambda: {"file_id": ready_file(account, patient).id}, add_attachment
        ),
        "file-request-list": Scene(
            no_kwargs,
            lambda: ready_file(
                account,
                patient,
                file_request=FileRequestFactory(account=account, patient=patient),
            ),
        ),
        "file-request-detail": Scene(
            lambda: {"file_request_id": file_request.id},
            lambda: ready_file(account, patient, file_request=file_request),
        ),
        "webhook-endpoint-list": Scene(
            no_kwargs,
            lambda: webhook_endpoint_create(
                account=account,
                actor=Actor.system(),
                url="https://hooks.example.org/x",
                events=[events.FILE_READY],
            ),
        ),
        "webhook-endpoint-detail": Scene(lambda: {"endpoint_id": endpoint.id}, add_delivery),
        "webhook-endpoint-deliveries": Scene(lambda: {"endpoint_id": endpoint.id}, add_delivery),
        "webhook-delivery-list": Scene(no_kwargs, add_delivery),
        "webhook-delivery-detail": Scene(
            lambda: {"delivery_id": first_delivery.id},
            lambda: DeliveryAttempt.objects.create(
                delivery=first_delivery, number=next(attempt_numbers), url=endpoint.url
            ),
        ),
    }


READ_ROUTES = [
    "patient-list",
    "patient-detail",
    "patient-attachment-list",
    "patient-attachment-patient-list",
    "patient-attachment-detail",
    "file-metadata",
    "file-request-list",
    "file-request-detail",
    "webhook-endpoint-list",
    "webhook-endpoint-detail",
    "webhook-endpoint-deliveries",
    "webhook-delivery-list",
    "webhook-delivery-detail",
]


def test_every_list_and_detail_route_is_counted():
    """A new GET route that lists or shows objects must be added here too."""
    get_routes = {
        name
        for name, rule in ROUTES.items()
        if "GET" in rule.methods and not name.endswith(("-content", "-facet", "-detail-bytes"))
    }
    exempt = {
        "file-detail",  # streams bytes: one file, no list
        "file-request-report",  # streams one request's PDF: no list
        "record-report-detail",  # streams one report's PDF: no list
        "patient-attachment-presigned-post",  # issues a ticket: no list
        "patient-photo",  # one property, its two facets
        "webhook-signing-secret",  # one row
    }
    assert get_routes - exempt - set(READ_ROUTES) == set()


@pytest.mark.parametrize("route_name", READ_ROUTES)
def test_query_count_does_not_grow_with_the_items(route_name, api, account, patient):
    """GIVEN a list or detail route WHEN it answers for 2 and then 6 items
    THEN it runs the same number of queries both times."""
    scene = scenes(account, patient)[route_name]
    url = reverse(route_name, kwargs=scene.kwargs())
    api.get(url)  # the first call of a minute also records the key's last use
    counts = []
    grown = 1  # each scene starts with one item
    for size in SIZES:
        for _ in range(size - grown):
            scene.grow()
        grown = size
        with CaptureQueriesContext(connection) as queries:
            response = api.get(url, HTTP_ACCEPT="application/json")
        assert response.status_code == 200, (route_name, response.content[:300])
        counts.append(len(queries))
    assert counts[0] == counts[1], (
        f"{route_name}: {counts[0]} queries for {SIZES[0]} items, {counts[1]} for {SIZES[1]}"
    )
