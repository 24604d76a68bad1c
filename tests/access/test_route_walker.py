"""Every URL pattern in the URLconf x every kind of caller that must not get in.

The walker takes the URLconf itself, so a new route without a rule fails here: API
routes take their rule from tests/access/routes.py ``ROUTES``, dashboard pages from
tests/dashboard/routes.py ``PAGES``, everything else from ``OTHER_ROUTES`` (same file
as ROUTES). Left out, and why: ``admin/`` (Django's admin, the operator's staff only,
its own login and permission checks) and static files (no URL pattern; WhiteNoise
serves them as middleware; no patient data).

Callers: anonymous; another account's API key; another account's admin with a
verified session; account A's own revoked key; a patient session that passed the
date-of-birth check for request X, trying request Y's pages and uploads (X and Y in
the same clinic: tenancy does not separate them, only the session does).

For each route, caller and method: never a 5xx; the answer is the one the route's
kind allows; nothing of account A's (names, prompt, file names, ids in lists) is in
the body; and account A's data is unchanged afterwards.
"""

from __future__ import annotations

import datetime
import json
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from attachments.models import PatientAttachment, PatientPhoto
from filerequests.models import FileRequest, RecordReport
from files.models import File, UploadTicket
from files.services import upload_ticket_issue
from portal.accounts.models import ApiKey, Staff
from portal.accounts.services import api_key_create, api_key_revoke
from portal.audit.services import Actor
from portal.patients.models import Patient
from portal.webhooks import events
from portal.webhooks.models import Delivery, WebhookEndpoint
from portal.webhooks.services import event_dispatch, event_record, webhook_endpoint_create
from tests.access.routes import OTHER_ROUTES, ROUTES
from tests.access.test_access_matrix import attachment_objects
from tests.dashboard.objects import stored_file
from tests.dashboard.routes import PAGES, object_pages
from tests.factories import AccountFactory, FileRequestFactory, PatientFactory, StaffFactory
from tests.support.sessions import sign_in

pytestmark = pytest.mark.django_db

DOB_X = datetime.date(1975, 3, 9)
CALLERS = (
    "anonymous",
    "other account's key",
    "other account's staff",
    "revoked key",
    "another request's patient",
)
EXCLUDED_PREFIXES = ("admin/",)


def walk(patterns=None, prefix: str = "", namespace: str = "") -> dict[str, str]:
    """``{qualified name: route}`` for every URL pattern, admin excluded."""
    found: dict[str, str] = {}
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(EXCLUDED_PREFIXES):
            continue
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            found.update(walk(pattern.url_patterns, route, inner))
        elif isinstance(pattern, URLPattern):
            found[f"{namespace}{pattern.name or f'<unnamed {route}>'}"] = route
    return found


def kind_of(name: str, route: str) -> str:
    if name.startswith("dashboard:"):
        return "page"
    if route.startswith("api/v1/"):
        return "api"
    return OTHER_ROUTES[name].kind if name in OTHER_ROUTES else "unknown"


def rule_names() -> set[str]:
    return {*ROUTES, *(f"dashboard:{name}" for name in PAGES), *OTHER_ROUTES}


def test_every_route_in_the_urlconf_has_a_rule():
    """GIVEN the URLconf WHEN walked THEN each route has an access rule, and no rule
    names a route that no longer exists."""
    routes = walk()
    missing = sorted(name for name in routes if name not in rule_names())
    assert not missing, f"Routes without an access rule: {missing}"
    stale = sorted(rule_names() - set(routes))
    assert not stale, f"Rules for routes that do not exist: {stale}"


def matrix() -> list[tuple[str, str]]:
    return sorted(walk().items())


def build_world() -> SimpleNamespace:
    account = AccountFactory(name="Alpha Clinic")
    other = AccountFactory(name="Beta Clinic")
    patient = PatientFactory(
        account=account, first_name="Zebedee", last_name="Quartermaine", mobile="+447700900123"
    )
    file_request = FileRequestFactory(
        account=account, patient=patient, prompt="A photo of the left elbow, please XYZZY"
    )
    patient_x = PatientFactory(account=account, date_of_birth=DOB_X)
    request_x = FileRequestFactory(account=account, patient=patient_x, prompt="Request X")
    ticket = upload_ticket_issue(
        account=account,
        patient=patient,
        purpose="photo",
        issued_by=Actor.system(),
        file_request=file_request,
    )
    endpoint = webhook_endpoint_create(
        account=account,
        actor=Actor.system(),
        url="https://hooks.example.org/a",
        events=[events.FILE_READY],
    )
    [delivery] = event_dispatch(
        event_id=event_record(account=account, type=events.FILE_READY, data={}).id
    )
    objects = attachment_objects(account, patient)
    revoked = api_key_create(account=account)
    api_key_revoke(api_key=revoked.api_key)
    return SimpleNamespace(
        account=account,
        patient=patient,
        file_request=file_request,
        request_x=request_x,
        ticket=ticket,
        file=objects["attachment"].file,
        # The names both rule tables (tests/access/routes.py, tests/dashboard/routes.py) read.
        endpoint=endpoint,
        delivery=delivery,
        request_file=stored_file(account=account, patient=patient, file_request=file_request),
        api_key=api_key_create(account=account, name="A's key").api_key,
        staff=StaffFactory(account=account, role=Staff.Role.ADMIN),
        other_key=api_key_create(account=other).plaintext,
        other_staff=StaffFactory(account=other, role=Staff.Role.ADMIN),
        revoked_key=revoked.plaintext,
        reply_template=account.reply_templates.first(),
        record_report=RecordReport.objects.create(
            account=account, patient=patient, fingerprint="0" * 64
        ),
        **objects,
    )


def caller_client(world, caller: str) -> Client:
    client = Client()
    if caller == "other account's key":
        client.defaults["HTTP_X_API_KEY"] = world.other_key
    elif caller == "revoked key":
        client.defaults["HTTP_X_API_KEY"] = world.revoked_key
    elif caller == "other account's staff":
        sign_in(client, world.other_staff.user)
    elif caller == "another request's patient":
        link = f"/r/{world.request_x.short_link_id}"
        client.get(link)
        verified = client.post(link, {"day": DOB_X.day, "month": DOB_X.month, "year": DOB_X.year})
        assert verified.status_code == 302 and verified["Location"] == "/r/upload"
    return client


def fingerprint(world) -> dict:
    """Everything of account A a caller could see or change, as plain values; request X
    and its tickets are left out (its own patient opens it and may upload to it)."""
    account = world.account
    x = world.request_x
    return {
        "patients": list(Patient.objects.filter(account=account).order_by("pk").values()),
        "files": list(File.objects.filter(account=account).order_by("pk").values()),
        "file_requests": list(
            FileRequest.objects.filter(account=account)
            .exclude(pk=x.pk)
            .order_by("pk")
            .values("pk", "status", "failed_attempts", "locked_until", "announced_file_ids")
        ),
        "tickets": list(
            UploadTicket.objects.filter(account=account)
            .exclude(file_request=x)
            .order_by("pk")
            .values("pk", "state")
        ),
        "attachments": list(PatientAttachment.objects.filter(account=account).values()),
        "photos": list(PatientPhoto.objects.filter(account=account).values()),
        "endpoints": list(WebhookEndpoint.objects.filter(account=account).values()),
        "deliveries": Delivery.objects.filter(endpoint__account=account).count(),
        "keys": list(ApiKey.objects.filter(account=account).values("pk", "revoked_at")),
        "staff": list(Staff.objects.filter(account=account).values("pk", "role", "user_id")),
    }


def secrets_of(world) -> list[str]:
    """What of A's must never show to these callers."""
    return [
        "Zebedee",
        "Quartermaine",
        "7700900123",
        "XYZZY",
        world.file.original_name,
        world.photo.file.original_name,
    ]


def body_for(kind: str, world) -> tuple[str, str]:
    if kind == "patient":
        return json.dumps({"ticketId": str(world.ticket.pk), "size": 100}), "application/json"
    if kind == "page":
        return "role=clinician&first_name=X", "application/x-www-form-urlencoded"
    return "{}", "application/json"


def allowed(kind: str, name: str, caller: str, method: str) -> set[int] | None:
    """The statuses this caller may get here; None: any non-5xx (checked for leaks)."""
    patient = caller == "another request's patient"
    if kind == "api":
        rule = ROUTES[name]
        if caller in ("anonymous", "revoked key") or patient:
            return {401}
        if rule.collection:
            return None
        return {rule.foreign_status}
    if kind == "page":
        rule = PAGES[name.removeprefix("dashboard:")]
        if rule.public:
            return None
        if caller == "other account's staff":
            return {404} if name.removeprefix("dashboard:") in object_pages() else None
        return {302}
    if kind == "storage":
        return {400, 403, 411, 412}
    if kind in ("metrics", "sms-receipt"):
        return {401, 403, 404}
    if kind.startswith("fhir"):
        if caller != "other account's key":
            return {401}  # FHIR takes an API key only: no session, no patient link
        if kind == "fhir":
            return {404, 405}
        return None
    if kind == "patient":
        short = name.removeprefix("filerequests-patient:")
        if short == "short-link":
            return {200}  # the date-of-birth form: the link is public, the check is not
        if not patient:
            return {403}  # no verified session: "open your link again"
        return {
            "upload-confirm": {404},
            "upload-ticket": {200},
            "upload-thumbnail": {404},
            "upload-known": {400},  # the walker's body names no photo ids
        }.get(short, {200})
    return None  # public


@pytest.mark.parametrize(("name", "route"), matrix())
def test_no_caller_sees_or_changes_what_it_should_not(world, name, route):
    """GIVEN account A with one of everything, and request Y of A's patient
    WHEN each kind of outside caller calls this route with each of its methods
    THEN the answer is never a 5xx, is what the route allows that caller, shows
    nothing of A's, and A's data is unchanged."""
    kind = kind_of(name, route)
    rule = ROUTES.get(name) or PAGES.get(name.removeprefix("dashboard:")) or OTHER_ROUTES.get(name)
    url = reverse(name, kwargs=rule.kwargs(world))
    before = fingerprint(world)
    body, content_type = body_for(kind, world)
    for caller in CALLERS:
        client = caller_client(world, caller)
        for method in rule.methods:
            response = client.generic(method, url, body, content_type=content_type)
            where = (caller, method, url, response.status_code)
            assert response.status_code < 500, where
            expected = allowed(kind, name, caller, method)
            if expected is not None:
                assert response.status_code in expected, where
            if response.status_code == 302 and kind == "page" and expected == {302}:
                assert response["Location"].startswith("/login/"), where
            content = b"" if response.streaming else response.content
            text = content.decode("utf-8", "replace")
            for secret in secrets_of(world):
                assert secret not in text, (*where, secret)
            if (kind == "api" and ROUTES[name].collection) or kind == "fhir-collection":
                assert str(world.patient.id) not in text, where
    assert fingerprint(world) == before, name


def test_a_verified_patient_session_is_bound_to_its_own_request(world):
    """GIVEN a browser that passed the date-of-birth check for request X
    WHEN it asks for an upload ticket, confirms request Y's ticket, and opens Y's link
    THEN the ticket is X's, Y's ticket is refused (404), and Y's link shows only the
    date-of-birth form, not Y's prompt or patient."""
    client = caller_client(world, "another request's patient")
    ticket = client.post("/r/upload/ticket", {"size": 100}, content_type="application/json")
    assert ticket.status_code == 200
    assert UploadTicket.objects.get(pk=ticket.json()["ticketId"]).file_request == world.request_x
    confirm = client.post(
        "/r/upload/confirm", {"ticketId": str(world.ticket.pk)}, content_type="application/json"
    )
    assert confirm.status_code == 404
    page = client.get(f"/r/{world.file_request.short_link_id}")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="day"' in html and "XYZZY" not in html and "Zebedee" not in html
    upload_page = client.get("/r/upload").content.decode()
    assert "Request X" in upload_page and "XYZZY" not in upload_page


def test_matrix_size():
    """The figure for the report: routes walked x callers."""
    routes = walk()
    assert len(routes) >= 60
    methods = sum(
        len((ROUTES.get(n) or PAGES.get(n.removeprefix("dashboard:")) or OTHER_ROUTES[n]).methods)
        for n in routes
    )
    print(
        f"\naccess matrix: {len(routes)} routes x {len(CALLERS)} callers = "
        f"{len(routes) * len(CALLERS)} pairs, {methods * len(CALLERS)} requests"
    )
