"""``/api/v1/webhooks`` and ``/api/v1/webhook-deliveries``: endpoints, ping, deliveries
with attempts, redelivery, and the account signing secret."""

from __future__ import annotations

import base64

import pytest
from rest_framework.test import APIClient

from portal.accounts.models import Staff
from portal.audit.models import AuditEvent
from portal.webhooks import events
from portal.webhooks.models import Delivery, WebhookEndpoint
from portal.webhooks.services import delivery_attempt, event_dispatch, event_record
from tests.factories import StaffFactory
from tests.support.receiver import Answer
from tests.support.sessions import sign_in

pytestmark = pytest.mark.django_db


def create_endpoint(api, url, types=(events.FILE_READY,)):
    response = api.post("/api/v1/webhooks", {"url": url, "events": list(types)}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_answers_the_endpoint_with_its_secret_once(api, account, webhook_receiver):
    """GIVEN an account's API key WHEN it creates an endpoint THEN the answer holds the id
    and a whsec_ secret of 32 random bytes; list and retrieve never show the secret again;
    the creation is audited."""
    created = create_endpoint(
        api, webhook_receiver.url(), [events.FILE_READY, events.FILE_REJECTED]
    )

    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    assert created["events"] == [events.FILE_READY, events.FILE_REJECTED]
    assert created["active"] is True
    listed = api.get("/api/v1/webhooks").json()["results"]
    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in api.get(f"/api/v1/webhooks/{created['id']}").json()
    assert AuditEvent.objects.filter(
        action="webhook_endpoint.create", target_id=created["id"]
    ).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://example.org/hook", "events": ["patient.updated"]}, "events.0"),
        ({"url": "https://example.org/hook", "events": []}, "events"),
        ({"url": "ftp://example.org/hook", "events": [events.FILE_READY]}, "url"),
        ({"url": "https://u:p@example.org/hook", "events": [events.FILE_READY]}, "url"),
        ({"url": "https://example.org/hook", "events": [events.FILE_READY], "x": 1}, "x"),
        ({"events": [events.FILE_READY]}, "url"),
    ],
)
def test_create_rejects_invalid_input(api, body, field):
    """GIVEN an invalid endpoint WHEN it is created THEN 400 names the field."""
    response = api.post("/api/v1/webhooks", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]


def test_update_and_delete(api, webhook_receiver):
    """GIVEN an endpoint WHEN it is disabled, changed, enabled and deleted THEN each answer
    shows the change and the deleted endpoint is gone."""
    created = create_endpoint(api, webhook_receiver.url())
    url = f"/api/v1/webhooks/{created['id']}"

    disabled = api.patch(url, {"active": False}, format="json").json()
    assert (disabled["active"], disabled["disabled_reason"]) == (False, "manual")
    changed = api.patch(
        url, {"url": webhook_receiver.url("/v2"), "events": [events.FILE_REJECTED]}, format="json"
    ).json()
    assert changed["url"].endswith("/v2") and changed["events"] == [events.FILE_REJECTED]
    enabled = api.patch(url, {"active": True}, format="json").json()
    assert (enabled["active"], enabled["disabled_reason"]) == (True, "")

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_ping_delivers_a_test_event_listed_with_its_attempts(
    api, webhook_receiver, django_capture_on_commit_callbacks
):
    """GIVEN an endpoint WHEN it is pinged THEN a webhook.ping delivery is queued after
    commit (202), and once attempted the endpoint's deliveries show it with its attempt."""
    created = create_endpoint(api, webhook_receiver.url())
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api.post(f"/api/v1/webhooks/{created['id']}/ping")
    assert response.status_code == 202
    assert response.json()["event_type"] == "webhook.ping"
    assert len(queued) == 1

    delivery_attempt(delivery_id=response.json()["id"])

    [listed] = api.get(f"/api/v1/webhooks/{created['id']}/deliveries").json()["results"]
    assert listed["status"] == "succeeded"
    assert listed["payload"]["data"] == {"endpoint_id": created["id"]}
    [attempt] = listed["attempts"]
    assert (attempt["number"], attempt["status_code"], attempt["succeeded"]) == (1, 200, True)
    assert webhook_receiver.requests[0].headers["webhook-id"] == listed["event_id"]


def test_redeliver_sends_a_finished_delivery_again(api, account, webhook_receiver, settings):
    """GIVEN a delivery that failed for good WHEN it is redelivered THEN it is pending from
    the start of the schedule (202), is audited, and the new attempt is accepted; a
    redelivery while it is still pending answers 409."""
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [0]
    create_endpoint(api, webhook_receiver.url())
    webhook_receiver.script(Answer(500), Answer(200))
    event = event_record(account=account, type=events.FILE_READY, data={"file_id": "f"})
    [delivery] = event_dispatch(event_id=event.id)
    delivery_attempt(delivery_id=delivery.id)
    assert Delivery.objects.get(pk=delivery.pk).status == "failed"

    response = api.post(f"/api/v1/webhook-deliveries/{delivery.id}/redeliver")

    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    assert api.post(f"/api/v1/webhook-deliveries/{delivery.id}/redeliver").status_code == 409
    delivery_attempt(delivery_id=delivery.id)
    detail = api.get(f"/api/v1/webhook-deliveries/{delivery.id}").json()
    assert detail["status"] == "succeeded"
    assert [a["status_code"] for a in detail["attempts"]] == [500, 200]
    assert AuditEvent.objects.filter(
        action="webhook_delivery.redeliver", target_id=str(delivery.id)
    ).exists()


def test_redeliver_to_a_disabled_endpoint_is_refused(api, account, webhook_receiver):
    """GIVEN a finished delivery whose endpoint is now disabled WHEN it is redelivered
    THEN 409 says to enable the endpoint first."""
    created = create_endpoint(api, webhook_receiver.url())
    event = event_record(account=account, type=events.FILE_READY, data={})
    [delivery] = event_dispatch(event_id=event.id)
    delivery_attempt(delivery_id=delivery.id)
    api.patch(f"/api/v1/webhooks/{created['id']}", {"active": False}, format="json")

    response = api.post(f"/api/v1/webhook-deliveries/{delivery.id}/redeliver")

    assert response.status_code == 409
    assert "enable" in response.json()["error"]


def test_delivery_list_includes_one_off_receivers_and_filters_by_status(
    api, account, webhook_receiver
):
    """GIVEN deliveries to an endpoint and to a one-off URL WHEN the account lists its
    deliveries THEN both appear, and ?status= filters them."""
    create_endpoint(api, webhook_receiver.url())
    event = event_record(
        account=account, type=events.FILE_READY, data={}, extra_urls=[webhook_receiver.url("/x")]
    )
    endpoint_delivery, one_off = event_dispatch(event_id=event.id)
    delivery_attempt(delivery_id=one_off.id)

    listed = api.get("/api/v1/webhook-deliveries").json()["results"]
    assert {d["id"] for d in listed} == {str(endpoint_delivery.id), str(one_off.id)}
    pending = api.get("/api/v1/webhook-deliveries?status=pending").json()["results"]
    assert [d["id"] for d in pending] == [str(endpoint_delivery.id)]


def test_signing_secret_is_shown_once_when_issued(api, account):
    """GIVEN an account WHEN it asks for its signing secret THEN GET shows only when it was
    issued, and POST issues a new one, shown in that answer."""
    assert api.get("/api/v1/webhook-signing-secret").json() == {"created_at": None}

    issued = api.post("/api/v1/webhook-signing-secret")

    assert issued.status_code == 201 and issued.json()["secret"].startswith("whsec_")
    shown = api.get("/api/v1/webhook-signing-secret").json()
    assert shown["created_at"] and "secret" not in shown
    assert account.webhook_signing_secret.secret == issued.json()["secret"]


def test_only_account_admins_manage_webhooks(account, webhook_receiver):
    """GIVEN a clinician and an admin of the account WHEN they call the webhooks API
    THEN the clinician gets 403 and the admin may create endpoints."""
    clinician = sign_in(APIClient(), StaffFactory(account=account, role=Staff.Role.CLINICIAN).user)
    admin = APIClient()
    sign_in(admin, StaffFactory(account=account, role=Staff.Role.ADMIN).user)

    assert clinician.get("/api/v1/webhooks").status_code == 403
    assert clinician.get("/api/v1/webhook-deliveries").status_code == 403
    create_endpoint(admin, webhook_receiver.url())


def test_other_accounts_see_no_endpoints_or_deliveries(api, other_api, account, webhook_receiver):
    """GIVEN account A's endpoint and delivery WHEN account B lists and fetches THEN its
    lists are empty and A's ids answer 404."""
    created = create_endpoint(api, webhook_receiver.url())
    event = event_record(account=account, type=events.FILE_READY, data={})
    [delivery] = event_dispatch(event_id=event.id)

    assert other_api.get("/api/v1/webhooks").json()["results"] == []
    assert other_api.get("/api/v1/webhook-deliveries").json()["results"] == []
    assert other_api.get(f"/api/v1/webhooks/{created['id']}").status_code == 404
    assert other_api.get(f"/api/v1/webhook-deliveries/{delivery.id}").status_code == 404
    assert WebhookEndpoint.objects.count() == 1


def test_malformed_ids_answer_404(api):
    """GIVEN ids that are not UUIDs WHEN they are used THEN 404, never 500."""
    assert api.get("/api/v1/webhooks/not-a-uuid").status_code == 404
    assert api.post("/api/v1/webhook-deliveries/123/redeliver").status_code == 404
