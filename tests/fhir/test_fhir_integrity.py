"""What a record system needs so it cannot misfile or miss a document: searches that
never answer wider than asked, paging that loses and repeats nothing while documents come
and go, reads that tell a document's life as searches do, validators and formats,
identifiers that do not move with the portal's address, and codes a record reads."""

from __future__ import annotations

import datetime as dt
import email.utils
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.core import signing
from django.utils import timezone
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.patient import Patient as FhirPatient

from attachments.services import attachment_archive, attachment_record
from files.models import File
from portal.accounts.services import api_key_create
from portal.audit.services import Actor
from portal.webhooks.models import Event
from tests.factories import PatientFactory
from tests.fhir.conftest import stored_file
from tests.fhir.test_fhir_api import FHIR_JSON, bundle_of, ids_in, outcome_of
from tests.files import samples

pytestmark = pytest.mark.django_db


def link_of(body: dict, relation: str) -> str | None:
    return next((link["url"] for link in body["link"] if link["relation"] == relation), None)


def follow(fhir, url: str, **headers):
    parts = urlsplit(url)
    return fhir(parts.path.removeprefix("/fhir/R4/") + "?" + parts.query, **headers)


def stamp(moment: dt.datetime) -> str:
    return quote(moment.isoformat(), safe="")


# --- 1. a search never widens silently ---------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("family=Nobody&given=Nemo&birthdate=1980-06-17", []),
        ("family=Smith&given=John&birthdate=1980-06-17", ["john"]),
        ("family=Smith&given=Mary", []),
        ("family=Nobody", []),
        ("family=smi", ["john"]),
        ("family=JONES", ["mary"]),
        ("family:exact=Smith", ["john"]),
        ("family:exact=smith", []),
        ("family:contains=one", ["mary"]),
        ("family=smith,jones", ["john", "mary"]),
        ("given=Nemo", []),
        ("given=jo", ["john"]),
        ("given:exact=Mary", ["mary"]),
        ("given:contains=ar", ["mary"]),
        ("name=Nobody&birthdate=1980-06-17", []),
        ("gender=male", []),
        ("gender=female,male,other,unknown", []),
        ("gender=male&family=Smith", []),
        ("identifier=nobody", []),
        ("identifier=00000000-0000-0000-0000-000000000000", []),
        ("identifier=https://elsewhere.example/id|{john}", []),
        ("phone=07000000000", []),
        ("telecom=phone|07911123456", ["john"]),
        ("telecom=email|someone@example.org", []),
        ("birthdate=1999-01-01&family=Smith", []),
    ],
)
def test_a_patient_match_answers_exactly_the_patients_that_match(fhir, record, query, expected):
    """GIVEN John Smith and Mary Jones, both born 1980-06-17 WHEN a record system matches on
    the parameters it files by THEN only the patients matching every one are answered:
    ``family=Nobody&given=Nemo&birthdate=1980-06-17`` is an empty Bundle, never John."""
    names = {"john": record.patient, "mary": record.other_patient}
    body = bundle_of(fhir("Patient?" + query.format(john=record.patient.pk)))
    assert sorted(ids_in(body, "Patient")) == sorted(str(names[n].pk) for n in expected)
    assert body["total"] == len(expected)


@pytest.mark.parametrize("value", ["nonsense", "M", "http://hl7.org/fhir/administrative-gender|x"])
def test_a_gender_that_is_no_fhir_code_is_refused(fhir, record, value):
    diagnostics = outcome_of(fhir(f"Patient?gender={quote(value)}"), 400, "invalid")
    assert "male, female, other, unknown" in diagnostics


def test_document_identifier_finds_what_each_door_answered(fhir, record):
    """GIVEN documents that came through X-on (the file's id answered), Claros and Cliniko
    (the attachment's id answered) WHEN a record system searches DocumentReference by that
    id, bare or with its system THEN it finds exactly that document; an id it does not
    know answers nothing, never the clinic's every document."""
    xon, claros, cliniko = record.files[2], record.files[3], record.files[4]
    door_ids = {
        str(xon.pk): xon,
        str(claros.patient_attachment.pk): claros,
        str(cliniko.patient_attachment.pk): cliniko,
    }
    for door_id, file in door_ids.items():
        body = bundle_of(fhir(f"DocumentReference?identifier={door_id}"))
        assert ids_in(body) == [str(file.pk)], door_id
        document = body["entry"][0]["resource"]
        systems = {i["value"]: i["system"] for i in document["identifier"]}
        assert door_id in systems
        with_system = bundle_of(
            fhir(f"DocumentReference?identifier={quote(systems[door_id])}|{door_id}")
        )
        assert ids_in(with_system) == [str(file.pk)]
    for unknown in (
        "anything",
        "00000000-0000-0000-0000-000000000000",
        f"https://elsewhere.example/id|{xon.pk}",
        f"|{xon.pk}",
        str(record.patient.pk),
    ):
        body = bundle_of(fhir(f"DocumentReference?identifier={quote(unknown, safe='|')}"))
        assert body["total"] == 0 and "entry" not in body, unknown


def test_lenient_handling_says_in_the_self_link_what_was_used(fhir, record):
    body = bundle_of(fhir("Patient?family=Smith&x=1&_sort=family", HTTP_PREFER="handling=lenient"))
    query = parse_qs(urlsplit(link_of(body, "self")).query)
    assert query["family"] == ["Smith"] and query["_sort"] == ["family"]
    assert "x" not in query
    assert ids_in(body, "Patient") == [str(record.patient.pk)]


@pytest.mark.parametrize(
    "query",
    [
        "_sort=author",
        "_sort=date,_id",
        "_sort=-nothing",
        "_summary=everything",
        "_elements=nonsense",
        "_elements=subject.reference",
        "_revinclude=DocumentReference:subject",
        "_revinclude=Provenance:target",
    ],
)
def test_result_parameters_are_supported_or_refused_never_ignored(fhir, record, query):
    """GIVEN a result parameter the server cannot honour as asked WHEN sent, with or
    without ``Prefer: handling=lenient`` THEN 400 naming it: ignored, the answer would
    be ordered, shaped or filled otherwise than the client reads it."""
    name = query.split("=")[0]
    resource = "Patient" if name == "_revinclude" else "DocumentReference"
    for headers in ({}, {"HTTP_PREFER": "handling=lenient"}):
        response = fhir(f"{resource}?{query}", **headers)
        assert response.status_code == 400, (query, headers)
        assert name in response.json()["issue"][0]["diagnostics"]


def test_sort_orders_the_answer_as_asked(fhir, record):
    oldest_first = [str(f.pk) for f in record.files]
    for query, expected in (
        ("_sort=_lastUpdated", oldest_first),
        ("_sort=-_lastUpdated", oldest_first[::-1]),
        ("_sort=date", oldest_first),
        ("_sort=-date", oldest_first[::-1]),
    ):
        seen = []
        body = bundle_of(fhir(f"DocumentReference?{query}&_count=2"))
        while True:
            seen += ids_in(body)
            following = link_of(body, "next")
            if not following:
                break
            body = bundle_of(follow(fhir, following))
        assert seen == expected, query
    patients = bundle_of(fhir("Patient?_sort=-family"))
    assert ids_in(patients, "Patient") == [str(record.patient.pk), str(record.other_patient.pk)]


def test_summary_and_elements_shape_each_match_and_say_so(fhir, record):
    """GIVEN ``_summary=true`` or ``_elements`` WHEN searched THEN each match keeps only
    the summary (or named) elements and the mandatory ones, tagged SUBSETTED as FHIR asks,
    and still validates."""
    body = bundle_of(fhir(f"DocumentReference?patient={record.patient.pk}&_elements=subject"))
    for entry in body["entry"]:
        resource = entry["resource"]
        DocumentReference(**resource)
        assert set(resource) == {"resourceType", "id", "meta", "status", "content", "subject"}
        assert {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            "code": "SUBSETTED",
        }.items() <= resource["meta"]["tag"][-1].items()
    summary = bundle_of(fhir("Patient?_summary=true"))
    for entry in summary["entry"]:
        FhirPatient(**entry["resource"])
        assert entry["resource"]["meta"]["tag"][-1]["code"] == "SUBSETTED"
    full = bundle_of(fhir("DocumentReference?_summary=false"))
    assert "tag" not in full["entry"][0]["resource"]["meta"] or all(
        t["code"] != "SUBSETTED" for t in full["entry"][0]["resource"]["meta"]["tag"]
    )
    read = fhir(f"Patient/{record.patient.pk}?_elements=birthDate").json()
    assert set(read) == {"resourceType", "id", "meta", "birthDate"}


# --- 2. paging by a cursor ------------------------------------------------------------------


def four_documents(account, patient) -> list[File]:
    documents = []
    for index in range(4):
        file = stored_file(
            account,
            patient,
            samples.jpeg((60 + index, 60)),
            name=f"doc{index}.jpg",
            declared="image/jpeg",
            purpose="document",
            source=File.Source.CLINIKO,
        )
        attachment_record(
            account=account,
            patient=patient,
            file=file,
            description=None,
            actor=Actor.system(),
        )
        documents.append(file)
    return documents


@pytest.mark.parametrize("leaves", ["archived", "expired"])
def test_a_document_leaving_while_a_client_pages_costs_no_other(fhir, record, leaves):
    """GIVEN four documents paged one at a time WHEN the first leaves the record (archived
    or expired) after the first page THEN the pages still answer each of the four once."""
    account = record.account  # the clinic the record was built in
    patient = PatientFactory(account=account, first_name="Ann", last_name="Lee")
    documents = four_documents(account, patient)
    body = bundle_of(fhir(f"DocumentReference?patient={patient.pk}&_count=1"))
    seen = ids_in(body)
    if leaves == "archived":
        attachment_archive(attachment=documents[0].patient_attachment, actor=Actor.system())
    else:
        File.objects.filter(pk=documents[0].pk).update(expires_at=timezone.now())
    while following := link_of(body, "next"):
        body = bundle_of(follow(fhir, following))
        seen += ids_in(body)
    assert seen == [str(d.pk) for d in documents]


def test_a_document_arriving_while_a_client_pages_is_seen_once(fhir, record):
    account = record.account  # the clinic the record was built in
    body = bundle_of(fhir(f"DocumentReference?patient={record.patient.pk}&_count=2"))
    seen = ids_in(body)
    new = stored_file(
        account, record.patient, samples.jpeg((70, 70)), name="n.jpg", declared="image/jpeg"
    )
    while following := link_of(body, "next"):
        body = bundle_of(follow(fhir, following))
        seen += ids_in(body)
    assert seen == [str(f.pk) for f in record.files] + [str(new.pk)]


def test_the_next_link_carries_a_cursor_not_an_offset(fhir, record):
    body = bundle_of(fhir("DocumentReference?_count=2"))
    query = parse_qs(urlsplit(link_of(body, "next")).query)
    assert "_offset" not in query
    assert query["_cursor"]
    previous = bundle_of(
        follow(fhir, link_of(bundle_of(follow(fhir, link_of(body, "next"))), "previous"))
    )
    assert ids_in(previous) == ids_in(body)


@pytest.mark.parametrize(
    "forge",
    [
        "garbage",
        "flip-a-character",
        "unsigned-payload",
        "another-clinic",
        "another-resource",
        "another-sort",
        "too-long",
        "empty",
    ],
)
def test_a_cursor_cannot_be_forged_or_carried_elsewhere(fhir, client, record, other_account, forge):
    """GIVEN a next link's cursor WHEN it is altered, made without the server's key, or used
    by another clinic, on another resource or with another order THEN 400 (invalid), and
    nothing of anyone's is answered."""
    body = bundle_of(fhir("DocumentReference?_count=1"))
    cursor = parse_qs(urlsplit(link_of(body, "next")).query)["_cursor"][0]
    path, headers = "DocumentReference?_count=1&_cursor={}", {}
    if forge == "garbage":
        cursor = "not-a-cursor"
    elif forge == "flip-a-character":
        cursor = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    elif forge == "unsigned-payload":
        cursor = signing.dumps(
            {"k": ["2000-01-01T00:00:00+00:00", str(record.files[0].pk)]},
            key="not-the-server-key",
            salt="fhirapi.cursor",
        )
    elif forge == "another-clinic":
        other_key = api_key_create(account=other_account, name="theirs").plaintext
        headers = {"HTTP_AUTHORIZATION": f"Bearer {other_key}"}
    elif forge == "another-resource":
        path = "Patient?_count=1&_cursor={}"
    elif forge == "another-sort":
        path = "DocumentReference?_count=1&_sort=-date&_cursor={}"
    elif forge == "too-long":
        cursor = "A" * 5000
    elif forge == "empty":
        cursor = ""
    response = fhir(path.format(quote(cursor)), **headers)
    outcome_of(response, 400, "invalid")


def test_polling_from_the_newest_stamp_answers_nothing_new_twice(fhir, record):
    """GIVEN documents made ready within one millisecond WHEN a record system polls with
    ``_lastUpdated=gt<the newest meta.lastUpdated it saw>`` THEN each poll answers exactly
    what is new since: nothing twice, nothing missed (stamps and filter in microseconds)."""
    base = timezone.now().replace(microsecond=123_000)
    first, second = record.files[-2:]
    File.objects.filter(pk__in=[f.pk for f in record.files[:-2]]).update(
        processed_at=base - dt.timedelta(days=1)
    )
    File.objects.filter(pk=first.pk).update(processed_at=base + dt.timedelta(microseconds=456))
    File.objects.filter(pk=second.pk).update(processed_at=base + dt.timedelta(days=1))
    newest = bundle_of(fhir(f"DocumentReference?_id={first.pk}"))["entry"][0]["resource"]
    seen_until = newest["meta"]["lastUpdated"]
    assert dt.datetime.fromisoformat(seen_until) == base + dt.timedelta(microseconds=456)
    File.objects.filter(pk=second.pk).update(processed_at=base + dt.timedelta(microseconds=789))
    polled = bundle_of(fhir(f"DocumentReference?_lastUpdated=gt{quote(seen_until)}"))
    assert ids_in(polled) == [str(second.pk)]
    seen_until = polled["entry"][0]["resource"]["meta"]["lastUpdated"]
    again = bundle_of(fhir(f"DocumentReference?_lastUpdated=gt{quote(seen_until)}"))
    assert again["total"] == 0


# --- 3. reads tell the truth about a document's life -------------------------------------------


def test_an_archived_document_reads_gone_as_search_leaves_it_out(fhir, record):
    cliniko = record.files[4]
    attachment_archive(attachment=cliniko.patient_attachment, actor=Actor.system())
    assert str(cliniko.pk) not in ids_in(bundle_of(fhir("DocumentReference")))
    assert "archived" in outcome_of(fhir(f"DocumentReference/{cliniko.pk}"), 410, "deleted")
    assert "archived" in outcome_of(fhir(f"Binary/{cliniko.pk}"), 410, "deleted")
    outcome_of(fhir(f"Binary/{cliniko.pk}-thumbnail"), 410, "deleted")


def test_archiving_and_expiry_each_send_one_webhook_event(
    record, django_capture_on_commit_callbacks
):
    """GIVEN a Cliniko attachment archived and a file whose time ran out WHEN the change is
    made and the expiry sweep runs (twice) THEN one ``patient-attachment.archived`` and one
    ``file.expired`` event, each naming the file (the DocumentReference's id) and patient."""
    from files.pipeline.sweeps import expiry_announce_sweep

    cliniko, xon = record.files[4], record.files[2]
    with django_capture_on_commit_callbacks():
        attachment_archive(attachment=cliniko.patient_attachment, actor=Actor.system())
        attachment_archive(attachment=cliniko.patient_attachment, actor=Actor.system())
    (archived,) = Event.objects.filter(type="patient-attachment.archived")
    assert archived.payload["data"]["file_id"] == str(cliniko.pk)
    assert archived.payload["data"]["patient_id"] == str(record.patient.pk)
    assert archived.payload["data"]["patient_attachment_id"] == str(cliniko.patient_attachment.pk)
    File.objects.filter(pk=xon.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=5))
    with django_capture_on_commit_callbacks():
        assert expiry_announce_sweep() == 1
        assert expiry_announce_sweep() == 0
    (expired,) = Event.objects.filter(type="file.expired")
    assert expired.payload["data"]["fileId"] == str(xon.pk)
    assert expired.payload["data"]["patientId"] == str(record.patient.pk)


def test_a_subscriber_can_ask_for_the_new_events(api):
    answer = api.post(
        "/api/v1/webhooks",
        {
            "url": "https://hooks.example.org/in",
            "events": ["file.expired", "patient-attachment.archived"],
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content


# --- 4. validators and formats ------------------------------------------------------------------


def reads(record) -> list[str]:
    photo = record.request_photos[0]
    return [
        f"Patient/{record.patient.pk}",
        f"DocumentReference/{photo.pk}",
        f"Binary/{photo.pk}?_format=json",
    ]


@pytest.mark.parametrize("which", [0, 1, 2])
def test_every_read_carries_its_version_and_answers_304_when_unchanged(fhir, record, which):
    path = reads(record)[which]
    response = fhir(path)
    assert response.status_code == 200
    body = (
        response.json()
        if not response.streaming
        else __import__("json").loads(b"".join(response.streaming_content))
    )
    version = body["meta"]["versionId"]
    assert response["ETag"] == f'W/"{version}"'
    modified = email.utils.parsedate_to_datetime(response["Last-Modified"])
    updated = dt.datetime.fromisoformat(body["meta"]["lastUpdated"])
    assert modified == updated.replace(microsecond=0)
    for headers in (
        {"HTTP_IF_NONE_MATCH": f'W/"{version}"'},
        {"HTTP_IF_NONE_MATCH": f'"{version}"'},
        {"HTTP_IF_NONE_MATCH": f'W/"other", W/"{version}"'},
        {"HTTP_IF_NONE_MATCH": "*"},
        {"HTTP_IF_MODIFIED_SINCE": response["Last-Modified"]},
    ):
        unchanged = fhir(path, **headers)
        assert unchanged.status_code == 304, headers
        assert unchanged["ETag"] == response["ETag"]
        assert not unchanged.content
    for headers in (
        {"HTTP_IF_NONE_MATCH": 'W/"other"'},
        {
            "HTTP_IF_MODIFIED_SINCE": email.utils.format_datetime(
                modified - dt.timedelta(seconds=1), usegmt=True
            )
        },
    ):
        assert fhir(path, **headers).status_code == 200, headers


def test_a_change_gives_a_new_version(fhir, record):
    path = f"Patient/{record.patient.pk}"
    before = fhir(path)
    record.patient.first_name = "Jon"
    record.patient.save()
    after = fhir(path, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    assert after.json()["meta"]["lastUpdated"] > before.json()["meta"]["lastUpdated"]


def test_the_raw_binary_answers_304_to_its_etag(fhir, record):
    photo = record.request_photos[0]
    response = fhir(f"Binary/{photo.pk}", HTTP_ACCEPT="image/*")
    assert response.status_code == 200 and response["ETag"]
    b"".join(response.streaming_content)
    assert fhir(f"Binary/{photo.pk}", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


NOT_SPOKEN = [
    {"HTTP_ACCEPT": "application/fhir+xml"},
    {"HTTP_ACCEPT": "application/xml"},
    {"HTTP_ACCEPT": "text/xml"},
    {"HTTP_ACCEPT": "application/xml+fhir"},
    {"HTTP_ACCEPT": "application/fhir+turtle"},
    {"HTTP_ACCEPT": "application/fhir+xml;q=1, application/fhir+json;q=0"},
    {"QUERY": "_format=xml"},
    {"QUERY": "_format=application/fhir%2Bxml"},
    {"QUERY": "_format=text/xml"},
    {"QUERY": "_format=ttl"},
    {"QUERY": "_format=html"},
]
SPOKEN = [
    {},
    {"HTTP_ACCEPT": "application/fhir+json"},
    {"HTTP_ACCEPT": "application/json"},
    {"HTTP_ACCEPT": "application/json+fhir"},
    {"HTTP_ACCEPT": "*/*"},
    {"HTTP_ACCEPT": "application/*"},
    {"HTTP_ACCEPT": "application/fhir+json; fhirVersion=4.0"},
    {"HTTP_ACCEPT": "application/fhir+xml, application/fhir+json;q=0.5"},
    {"HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
    {"QUERY": "_format=json"},
    {"QUERY": "_format=application/fhir%2Bjson"},
    {"QUERY": "_format=application/json"},
]


def paths_for(record) -> list[str]:
    return [
        "metadata",
        "Patient",
        f"Patient/{record.patient.pk}",
        "DocumentReference",
        f"DocumentReference/{record.files[0].pk}",
    ]


def with_query(path: str, ask: dict) -> tuple[str, dict]:
    ask = dict(ask)
    if "QUERY" in ask:
        path += ("&" if "?" in path else "?") + ask.pop("QUERY")
    return path, ask


@pytest.mark.parametrize("ask", NOT_SPOKEN)
def test_a_format_the_server_does_not_speak_is_406(fhir, record, ask):
    for path in [*paths_for(record), f"Binary/{record.files[0].pk}"]:
        if path.startswith("Binary") and "QUERY" not in ask and "fhir" not in ask["HTTP_ACCEPT"]:
            continue  # a plain media type asks for the bytes, served as they are
        full, headers = with_query(path, ask)
        response = fhir(full, **headers)
        outcome_of(response, 406, "not-supported")


@pytest.mark.parametrize("ask", SPOKEN)
def test_json_is_answered_to_every_way_of_asking_for_it(fhir, record, ask):
    for path in paths_for(record):
        full, headers = with_query(path, ask)
        response = fhir(full, **headers)
        assert response.status_code == 200, (path, ask, response.content[:200])
        assert response["Content-Type"].startswith(FHIR_JSON)


# --- 5. identifiers that do not move -----------------------------------------------------------


def test_identifiers_and_code_systems_do_not_move_with_the_address(fhir, record, settings):
    """GIVEN a record system that stored a patient's and a document's identifiers WHEN the
    portal moves to another address THEN the same identifiers and code systems come back,
    none naming a host; and the systems of before still find them."""
    photo = record.request_photos[0]
    settings.PORTAL_PUBLIC_BASE_URL = "https://old.example.org"
    before = (
        fhir(f"Patient/{record.patient.pk}").json(),
        fhir(f"DocumentReference/{photo.pk}").json(),
    )
    settings.PORTAL_PUBLIC_BASE_URL = "https://portal.new-name.example"
    after = (
        fhir(f"Patient/{record.patient.pk}").json(),
        fhir(f"DocumentReference/{photo.pk}").json(),
    )
    for old, new in zip(before, after, strict=True):
        assert old["identifier"] == new["identifier"]
        for identifier in new["identifier"]:
            assert "example.org" not in identifier["system"]
            assert "new-name" not in identifier["system"]
    assert before[1]["type"] == after[1]["type"]
    assert before[1]["category"] == after[1]["category"]
    assert before[0]["identifier"][0]["system"] in (
        "https://clinic-file-portal.invalid/fhir/sid/patient-id",
    )
    legacy = "https://old.example.org/fhir/sid/patient-id"
    found = bundle_of(fhir(f"Patient?identifier={quote(legacy)}|{record.patient.pk}"))
    assert ids_in(found, "Patient") == [str(record.patient.pk)]
    legacy_file = f"https://old.example.org/fhir/sid/file-id|{photo.pk}"
    found = bundle_of(fhir(f"DocumentReference?identifier={quote(legacy_file, safe='|')}"))
    assert ids_in(found) == [str(photo.pk)]


# --- 6. codes a record system reads ----------------------------------------------------------


def test_a_photo_is_typed_with_loinc_and_classed_not_by_its_door(fhir, record):
    photo, pdf = record.request_photos[0], record.files[3]
    body = fhir(f"DocumentReference/{photo.pk}").json()
    codings = body["type"]["coding"]
    assert {
        "system": "http://loinc.org",
        "code": "72170-4",
        "display": "Photographic image",
    } in codings
    assert any(c["code"] == "photo" for c in codings)  # the local coding kept beside it
    category_codes = {c["code"] for cat in body["category"] for c in cat["coding"]}
    assert not category_codes & {"request", "xon", "cliniko", "claros", "medable", "dashboard"}
    assert "clinical-photograph" in category_codes
    doors = [t["code"] for t in body["meta"]["tag"] if t["system"].endswith("file-source")]
    assert doors == ["request"]
    letter = fhir(f"DocumentReference/{pdf.pk}").json()
    assert [c["code"] for c in letter["type"]["coding"]] == ["document"]
    tagged = bundle_of(fhir("DocumentReference?_tag=claros"))
    assert ids_in(tagged) == [str(pdf.pk)]
    classed = bundle_of(fhir("DocumentReference?category=clinical-photograph"))
    assert sorted(ids_in(classed)) == sorted(
        str(f.pk) for f in record.files if f.mime_type.startswith("image/")
    )


def test_the_thumbnail_is_no_second_content_entry(fhir, record):
    """GIVEN a photo with a thumbnail WHEN read THEN one content entry, the photo; the
    thumbnail is named by an extension on its attachment, and its Binary serves it."""
    photo = record.request_photos[0]
    body = fhir(f"DocumentReference/{photo.pk}").json()
    DocumentReference(**body)
    (content,) = body["content"]
    attachment = content["attachment"]
    (thumbnail,) = [
        e["valueAttachment"]
        for e in attachment.get("extension", [])
        if e["url"].endswith("/StructureDefinition/thumbnail")
    ]
    assert thumbnail["url"].endswith(f"Binary/{photo.pk}-thumbnail")
    served = fhir(f"Binary/{photo.pk}-thumbnail", HTTP_ACCEPT="image/*")
    assert served.status_code == 200
    assert len(b"".join(served.streaming_content)) == thumbnail["size"]
