"""The FHIR R4 door, as a record system meets it: every answer validates as
a FHIR resource, searches select what they say, paging is complete, Binary serves the
bytes, and every refusal is an OperationOutcome."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from fhir.resources.R4B.binary import Binary
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhirclient.models.bundle import Bundle as R4Bundle
from fhirclient.models.capabilitystatement import CapabilityStatement as R4CapabilityStatement

from fhirapi import registry
from files.models import File
from portal.accounts.services import api_key_create, api_key_revoke
from portal.audit.models import AuditEvent
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"


def bundle_of(response) -> dict:
    """A searchset answer, checked by both model libraries (R4B's and fhirclient's R4)."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    Bundle(**body)
    R4Bundle(body)
    assert body["type"] == "searchset"
    return body


def ids_in(body: dict, resource_type: str = "DocumentReference") -> list[str]:
    return [
        entry["resource"]["id"]
        for entry in body.get("entry", [])
        if entry["resource"]["resourceType"] == resource_type
    ]


def outcome_of(response, status: int, code: str) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    OperationOutcome(**body)
    (issue,) = body["issue"]
    assert issue["severity"] == "error"
    assert issue["code"] == code
    assert issue["diagnostics"]
    return issue["diagnostics"]


def page_through(fhir, first_path: str) -> list[str]:
    """Follow ``next`` links from the first page, as a client does."""
    seen, body = [], bundle_of(fhir(first_path))
    while True:
        seen += ids_in(body)
        following = [link["url"] for link in body["link"] if link["relation"] == "next"]
        if not following:
            return seen
        parts = urlsplit(following[0])
        body = bundle_of(fhir(parts.path.removeprefix("/fhir/R4/") + "?" + parts.query))


# --- metadata ---------------------------------------------------------------------


def test_capability_statement_lists_exactly_what_is_served(fhir):
    """GIVEN the FHIR door WHEN a client reads /metadata THEN a valid CapabilityStatement
    (R4B model and fhirclient's R4 model) lists Patient, DocumentReference and Binary with
    exactly the interactions, search parameters and includes the door accepts."""
    response = fhir("metadata")
    assert response.status_code == 200
    body = response.json()
    CapabilityStatement(**body)
    R4CapabilityStatement(body)
    assert body["fhirVersion"] == "4.0.1"
    (rest,) = body["rest"]
    listed = {resource["type"]: resource for resource in rest["resource"]}
    assert set(listed) == {"Patient", "DocumentReference", "Binary"}
    for type_name, definition in registry.RESOURCES.items():
        resource = listed[type_name]
        assert [i["code"] for i in resource["interaction"]] == list(definition.interactions)
        assert {p["name"] for p in resource.get("searchParam", [])} == set(definition.parameters)
        assert resource.get("searchInclude", []) == list(definition.includes)
    assert {p["name"] for p in listed["Patient"]["searchParam"]} >= {
        "_id",
        "_lastUpdated",
        "identifier",
        "phone",
        "telecom",
        "birthdate",
        "name",
        "family",
        "given",
        "gender",
    }
    assert {p["name"] for p in listed["DocumentReference"]["searchParam"]} == {
        "_id",
        "_lastUpdated",
        "identifier",
        "patient",
        "subject",
        "date",
        "type",
        "category",
        "_tag",
    }


# --- authentication and tenancy ----------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["Patient", "DocumentReference", "Patient/{patient}", "Binary/{file}", "Observation"],
)
@pytest.mark.parametrize("credentials", ["none", "wrong", "revoked", "basic-garbage"])
def test_every_route_needs_a_live_key(client, record, path, credentials):
    """GIVEN no key, a wrong key, a revoked key or undecodable Basic credentials WHEN any
    FHIR route but /metadata is read THEN 401 with an OperationOutcome (code login),
    nothing served (test_fhir_refusals: /metadata answers everyone alike)."""
    headers = {}
    if credentials == "wrong":
        headers["HTTP_AUTHORIZATION"] = "Bearer cfp_live_notakey"
    elif credentials == "revoked":
        key = api_key_create(account=record.account, name="old")
        api_key_revoke(api_key=key.api_key)
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key.plaintext}"
    elif credentials == "basic-garbage":
        headers["HTTP_AUTHORIZATION"] = "Basic %%%"
    url = "/fhir/R4/" + path.format(patient=record.patient.pk, file=record.files[0].pk)
    outcome_of(client.get(url, **headers), 401, "login")


def test_another_clinics_resources_answer_404_and_never_appear(client, record, other_account):
    """GIVEN another clinic's key WHEN it reads our patient, document and binary by id, or
    searches by our patient THEN 404 OperationOutcomes and empty searches."""
    other_key = api_key_create(account=other_account, name="theirs").plaintext
    auth = {"HTTP_AUTHORIZATION": f"Bearer {other_key}"}
    file = record.files[0]
    for path in (
        f"Patient/{record.patient.pk}",
        f"DocumentReference/{file.pk}",
        f"Binary/{file.pk}",
        f"Binary/{file.pk}-thumbnail",
    ):
        outcome_of(client.get(f"/fhir/R4/{path}", **auth), 404, "not-found")
    for path in (
        f"DocumentReference?patient={record.patient.pk}",
        f"DocumentReference?subject=Patient/{record.patient.pk}",
        f"DocumentReference?_id={file.pk}",
        f"Patient?_id={record.patient.pk}",
        f"Patient?identifier={record.patient.pk}",
        "Patient?phone=%2B447911123456",
        "DocumentReference",
        "Patient",
    ):
        body = bundle_of(client.get(f"/fhir/R4/{path}", **auth))
        assert body["total"] == 0 and "entry" not in body, path


# --- Patient ---------------------------------------------------------------------------


def test_patient_read_is_a_valid_patient(fhir, record):
    body = fhir(f"Patient/{record.patient.pk}").json()
    FhirPatient(**body)
    assert body["name"][0]["family"] == "Smith"
    assert body["name"][0]["given"] == ["John"]
    assert body["birthDate"] == record.patient.date_of_birth.isoformat()
    assert body["telecom"] == [{"system": "phone", "value": "+447911123456", "use": "mobile"}]
    assert body["identifier"][0]["value"] == str(record.patient.pk)
    assert "tag" not in body["meta"]


def test_a_shell_patient_is_a_patient_with_a_tag(fhir, record):
    shell = PatientFactory(
        account=record.account, first_name="", last_name="", is_shell=True, mobile="+447700900999"
    )
    body = fhir(f"Patient/{shell.pk}").json()
    FhirPatient(**body)
    assert "name" not in body
    assert body["meta"]["tag"][0]["code"] == "shell"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("identifier={john}", ["john"]),
        ("identifier={system}|{john}", ["john"]),
        ("identifier=https://elsewhere.example/id|{john}", []),
        ("identifier=|{john}", []),
        ("identifier={john_number}", ["john"]),
        ("identifier={number_system}|{mary_number}", ["mary"]),
        ("identifier={system}|{mary_number}", []),
        ("identifier={number_system}|{john}", []),
        ("_id={mary}", ["mary"]),
        ("_id=not-a-uuid", []),
        ("phone=%2B447911123456", ["john"]),
        ("phone=07911%20123456", ["john"]),
        ("phone=07911123456,07911654321", ["john", "mary"]),
        ("phone=not-a-number", []),
        ("telecom=phone|%2B447911654321", ["mary"]),
        ("telecom=email|%2B447911654321", []),
        ("birthdate=1980-06-17", ["john", "mary"]),
        ("birthdate=1980", ["john", "mary"]),
        ("birthdate=1980-06", ["john", "mary"]),
        ("birthdate=ge1980-06-18", []),
        ("birthdate=lt1980-06-17", []),
        ("birthdate=le1980-06-17", ["john", "mary"]),
        ("birthdate=ne1980-06-17", []),
        ("name=smi", ["john"]),
        ("name=JOHN", ["john"]),
        ("name:exact=Smith", ["john"]),
        ("name:exact=smith", []),
        ("name:contains=one", ["mary"]),
        ("name=jo&birthdate=1980-06-17", ["john", "mary"]),
        ("name=joh&birthdate=1980-06-17", ["john"]),
        ("name=smith,jones", ["john", "mary"]),
        ("_lastUpdated=gt2000-01-01", ["john", "mary"]),
        ("_lastUpdated=lt2000-01-01", []),
    ],
)
def test_patient_search(fhir, record, settings, query, expected):
    """GIVEN John Smith (+447911123456) and Mary Jones (+447911654321), both born
    1980-06-17 WHEN a client searches THEN exactly the expected patients match."""
    from fhirapi.codes import PATIENT_ID_SYSTEM, PATIENT_NUMBER_SYSTEM

    names = {"john": record.patient, "mary": record.other_patient}
    path = "Patient?" + query.format(
        john=record.patient.pk,
        mary=record.other_patient.pk,
        john_number=record.patient.number,
        mary_number=record.other_patient.number,
        system=PATIENT_ID_SYSTEM,
        number_system=PATIENT_NUMBER_SYSTEM,
    )
    body = bundle_of(fhir(path))
    assert sorted(ids_in(body, "Patient")) == sorted(str(names[n].pk) for n in expected)
    assert body["total"] == len(expected)


# --- DocumentReference ---------------------------------------------------------------------


def test_document_reference_carries_what_a_record_needs(fhir, record):
    """GIVEN a photo a patient sent in answer to a request, with a note WHEN it is read THEN
    subject, status, date, author (who asked), description (the note in full), type photo,
    the door (request) as a tag, context.related the request, and content with type, size,
    SHA-1 hash (checked against the Binary's bytes), title, creation and url; its
    thumbnail in an extension of that attachment."""
    photo = record.request_photos[0]
    body = fhir(f"DocumentReference/{photo.pk}").json()
    DocumentReference(**body)
    assert body["subject"] == {"reference": f"Patient/{record.patient.pk}"}
    assert body["status"] == "current"
    assert body["author"] == [{"display": "Dr Rachel Williams"}]
    assert body["description"] == "Worse in the morning."
    assert body["type"]["coding"][-1]["code"] == "photo"
    assert body["meta"]["tag"][0]["code"] == "request"
    related = body["context"]["related"][0]
    assert related["identifier"]["value"] == str(record.file_request.pk)
    assert "rash on your right hand" in related["display"]
    (content,) = (entry["attachment"] for entry in body["content"])
    thumbnail = content["extension"][0]["valueAttachment"]
    assert content["contentType"] == "image/jpeg"
    assert content["title"] == "IMG_000.JPG"
    assert content["creation"]
    served = fhir(urlsplit(content["url"]).path.removeprefix("/fhir/R4/"))
    data = b"".join(served.streaming_content)
    assert len(data) == content["size"]
    assert base64.b64decode(content["hash"]) == hashlib.sha1(data).digest()
    assert thumbnail["url"].endswith(f"Binary/{photo.pk}-thumbnail")
    thumb_bytes = b"".join(fhir(f"Binary/{photo.pk}-thumbnail").streaming_content)
    assert base64.b64decode(thumbnail["hash"]) == hashlib.sha1(thumb_bytes).digest()


@pytest.mark.parametrize(
    ("query", "expected_sources"),
    [
        ("patient={patient}", ["request", "request", "xon", "claros", "cliniko"]),
        ("patient=Patient/{patient}", ["request", "request", "xon", "claros", "cliniko"]),
        ("subject=Patient/{patient}", ["request", "request", "xon", "claros", "cliniko"]),
        ("subject:Patient={patient}", ["request", "request", "xon", "claros", "cliniko"]),
        ("subject=Group/{patient}", []),
        ("_id={claros_file}", ["claros"]),
        ("_id={claros_file},not-a-uuid", ["claros"]),
        ("patient={other}", []),
        ("type=photo", ["request", "request", "xon", "cliniko"]),
        ("type={kind_system}|document", ["claros"]),
        ("type=elsewhere|photo", []),
        ("category=request", ["request", "request"]),
        ("category=claros,cliniko", ["claros", "cliniko"]),
        ("category={source_system}|xon", ["xon"]),
        ("category=medable", []),
        ("date=ge2000-01-01", ["request", "request", "xon", "claros", "cliniko"]),
        ("date=lt2000-01-01", []),
        ("_lastUpdated=gt2000-01-01&type=document", ["claros"]),
    ],
)
def test_document_reference_search(fhir, record, query, expected_sources):
    from fhirapi.codes import KIND_SYSTEM, SOURCE_SYSTEM

    path = "DocumentReference?" + query.format(
        patient=record.patient.pk,
        other=record.other_patient.pk,
        kind_system=KIND_SYSTEM,
        source_system=SOURCE_SYSTEM,
        claros_file=record.files[3].pk,
    )
    body = bundle_of(fhir(path))
    sources = [entry["resource"]["meta"]["tag"][0]["code"] for entry in body.get("entry", [])]
    assert sorted(sources) == sorted(expected_sources)
    for entry in body.get("entry", []):
        DocumentReference(**entry["resource"])


def test_paging_follows_next_links_to_every_document_once(fhir, record):
    """GIVEN five ready files WHEN a client pages with _count=2 THEN three pages, total 5 on
    each, ``next`` links until the last, every file exactly once, oldest first."""
    first = bundle_of(fhir(f"DocumentReference?patient={record.patient.pk}&_count=2"))
    assert first["total"] == 5
    assert len(first["entry"]) == 2
    seen = page_through(fhir, f"DocumentReference?patient={record.patient.pk}&_count=2")
    assert seen == [str(f.pk) for f in record.files]


def test_summary_count_and_count_zero_answer_the_total_alone(fhir, record):
    for query in ("_summary=count", "_count=0"):
        body = bundle_of(fhir(f"DocumentReference?patient={record.patient.pk}&{query}"))
        assert body["total"] == 5
        assert "entry" not in body


def test_polling_with_last_updated_sees_only_what_is_new(fhir, record):
    """GIVEN a record system that saw everything up to now WHEN a new file becomes ready
    and it polls with _lastUpdated=gt<then> THEN only the new file is answered."""
    from tests.fhir.conftest import stored_file
    from tests.files import samples

    account = record.account  # the clinic the record was built in
    seen_until = File.objects.order_by("-processed_at").first().processed_at
    before = bundle_of(
        fhir(f"DocumentReference?_lastUpdated=gt{seen_until.isoformat().replace('+', '%2B')}")
    )
    assert before["total"] == 0
    new = stored_file(
        account, record.patient, samples.jpeg((90, 90)), name="new.jpg", declared="image/jpeg"
    )
    after = bundle_of(
        fhir(f"DocumentReference?_lastUpdated=gt{seen_until.isoformat().replace('+', '%2B')}")
    )
    assert ids_in(after) == [str(new.pk)]


def test_include_subject_adds_each_patient_once(fhir, record):
    body = bundle_of(
        fhir(f"DocumentReference?patient={record.patient.pk}&_include=DocumentReference:subject")
    )
    included = [e for e in body["entry"] if e["search"]["mode"] == "include"]
    assert [e["resource"]["id"] for e in included] == [str(record.patient.pk)]
    assert included[0]["resource"]["resourceType"] == "Patient"


def test_files_not_ready_expired_or_archived_are_not_listed(fhir, record):
    """GIVEN a file still processing, one rejected, one expired and one archived WHEN
    searched THEN none is listed; reading the expired one answers 410 (deleted), the
    processing one 404 saying it is being checked."""
    from attachments.services import attachment_archive
    from files.services import file_create_from_stream
    from portal.audit.services import Actor
    from tests.files import samples

    account = record.account  # the clinic the record was built in
    pending = file_create_from_stream(
        account=account,
        patient=record.patient,
        purpose="photo",
        original_name="p.jpg",
        declared_type="image/jpeg",
        stream=io.BytesIO(samples.jpeg()),
        uploaded_by=Actor.system(),
    )
    expired = record.files[2]
    File.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    attachment_archive(attachment=record.files[3].patient_attachment, actor=Actor.system())
    body = bundle_of(fhir(f"DocumentReference?patient={record.patient.pk}"))
    listed = set(ids_in(body))
    assert str(pending.pk) not in listed
    assert str(expired.pk) not in listed
    assert str(record.files[3].pk) not in listed
    assert body["total"] == 3
    assert "expired" in outcome_of(fhir(f"DocumentReference/{expired.pk}"), 410, "deleted")
    assert "expired" in outcome_of(fhir(f"Binary/{expired.pk}"), 410, "deleted")
    assert "being checked" in outcome_of(fhir(f"DocumentReference/{pending.pk}"), 404, "not-found")


# --- Binary ----------------------------------------------------------------------------------


def test_binary_serves_bytes_as_every_download_does(fhir, record):
    """GIVEN a ready photo WHEN its Binary is read without asking for FHIR JSON THEN the
    bytes, with the inert headers of every download, an audit event, and Range support."""
    photo = record.request_photos[0]
    before = AuditEvent.objects.filter(action="file.download", target_id=str(photo.pk)).count()
    response = fhir(f"Binary/{photo.pk}", HTTP_ACCEPT="image/*")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["Content-Disposition"].startswith("attachment;")
    whole = b"".join(response.streaming_content)
    assert whole[:3] == b"\xff\xd8\xff"
    ranged = fhir(f"Binary/{photo.pk}", HTTP_RANGE="bytes=0-9")
    assert ranged.status_code == 206
    assert b"".join(ranged.streaming_content) == whole[:10]
    after = AuditEvent.objects.filter(action="file.download", target_id=str(photo.pk)).count()
    assert after == before + 2


@pytest.mark.parametrize("ask", [{"HTTP_ACCEPT": FHIR_JSON}, {"QUERY": "_format=json"}])
def test_binary_as_fhir_json_carries_the_bytes_in_base64(fhir, record, ask):
    photo = record.request_photos[1]
    raw = b"".join(fhir(f"Binary/{photo.pk}", HTTP_ACCEPT="*/*").streaming_content)
    path = f"Binary/{photo.pk}"
    if "QUERY" in ask:
        path += "?" + ask["QUERY"]
        ask = {}
    response = fhir(path, **ask)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = json.loads(b"".join(response.streaming_content))
    Binary(**body)
    assert body["contentType"] == "image/jpeg"
    assert base64.b64decode(body["data"]) == raw
    assert AuditEvent.objects.filter(
        action="file.download", target_id=str(photo.pk), detail__format="fhir+json"
    ).exists()


def test_binary_of_a_document_without_a_thumbnail_is_404(fhir, record):
    pdf = record.files[3]
    outcome_of(fhir(f"Binary/{pdf.pk}-thumbnail"), 404, "not-found")


# --- refusals ------------------------------------------------------------------------------------


def test_unknown_parameters_are_refused_unless_the_client_asks_for_lenient_handling(fhir, record):
    lenient = bundle_of(
        fhir(
            f"DocumentReference?patient={record.patient.pk}&_pretty=true&x=1",
            HTTP_PREFER="handling=lenient",
        )
    )
    assert lenient["total"] == 5
    self_link = next(link["url"] for link in lenient["link"] if link["relation"] == "self")
    assert "_pretty" not in self_link and "x=1" not in self_link
    for prefer in ({}, {"HTTP_PREFER": "handling=strict"}):
        diagnostics = outcome_of(
            fhir("DocumentReference?_pretty=true", **prefer), 400, "not-supported"
        )
        assert "_pretty" in diagnostics


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("DocumentReference?date=yesterday", 400, "invalid"),
        ("DocumentReference?date=2024-13-01", 400, "invalid"),
        ("DocumentReference?date=ap2024", 400, "not-supported"),
        ("DocumentReference?_count=many", 400, "invalid"),
        ("DocumentReference?_count=-1", 400, "invalid"),
        ("DocumentReference?_offset=-5", 400, "invalid"),
        ("DocumentReference?_offset=99999999", 400, "invalid"),
        ("DocumentReference?_include=DocumentReference:author", 400, "not-supported"),
        ("DocumentReference?patient:missing=true", 400, "not-supported"),
        ("DocumentReference?patient=", 400, "invalid"),
        ("Patient?birthdate=17/06/1980", 400, "invalid"),
        ("Patient?name=a%00b", 400, "invalid"),
        ("Patient?identifier=%00", 400, "invalid"),
        ("DocumentReference?patient=Patient/%0A", 400, "invalid"),
        ("DocumentReference?category%00=x", 400, "invalid"),
        ("Observation", 404, "not-supported"),
        ("Patient/x/_history", 404, "not-supported"),
        ("Patient/" + "a" * 65, 404, "not-supported"),
        ("DocumentReference/not-a-uuid", 404, "not-found"),
    ],
)
def test_bad_requests_answer_operation_outcomes(fhir, record, path, status, code):
    outcome_of(fhir(path), status, code)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_are_not_supported(client, record, method):
    response = getattr(client, method)(
        f"/fhir/R4/Patient/{record.patient.pk}",
        data="{}",
        content_type=FHIR_JSON,
        HTTP_AUTHORIZATION=f"Bearer {record.api_key}",
    )
    outcome_of(response, 405, "not-supported")
    assert response["Allow"] == "GET, HEAD"


def test_count_is_capped_at_one_hundred(fhir, record):
    body = bundle_of(fhir("DocumentReference?_count=5000"))
    self_link = next(link["url"] for link in body["link"] if link["relation"] == "self")
    assert "_count=100" in self_link


def test_a_search_costs_the_same_queries_however_many_files(fhir, record):
    """GIVEN 5 files, then 15 WHEN the same search runs THEN the same number of queries
    (no query per file)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.fhir.conftest import stored_file
    from tests.files import samples

    account = record.account  # the clinic the record was built in
    path = f"DocumentReference?patient={record.patient.pk}&_include=DocumentReference:subject"
    fhir(path)  # warm: a facet stored before processing recorded SHA-1 gets it here
    with CaptureQueriesContext(connection) as few:
        bundle_of(fhir(path))
    for index in range(10):
        stored_file(
            account,
            record.patient,
            samples.png((20 + index, 20)),
            name="x.png",
            declared="image/png",
        )
    fhir(path)
    with CaptureQueriesContext(connection) as many:
        bundle_of(fhir(path))
    assert len(many.captured_queries) == len(few.captured_queries)


def test_processing_records_the_sha1_fhir_answers(fhir, record):
    """GIVEN files processed by the pipeline WHEN they are listed THEN every served facet
    already carries its SHA-1 (computed in the same read as SHA-256), so no search has to
    read a file's bytes to answer its hash."""
    from files.models import Facet

    facets = Facet.objects.filter(file__in=record.files, name__in=["content", "thumbnail"])
    assert facets.exists()
    assert not facets.filter(sha1="").exists()
