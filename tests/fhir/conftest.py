"""A clinic's record as a record system meets it over FHIR: patients, and files that
came through several doors, processed by the real pipeline."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest
from django.test import TestCase

from attachments.services import attachment_record
from files.models import File
from files.pipeline.processing import file_process
from files.services import file_create_from_stream
from portal.accounts.services import api_key_create
from portal.audit.services import Actor
from tests.attachments import samples as attachment_samples
from tests.factories import AccountFactory, FileRequestFactory, PatientFactory
from tests.files import samples


@dataclass
class Record:
    account: object
    api_key: str
    patient: object
    other_patient: object
    files: list = field(default_factory=list)
    request_photos: list = field(default_factory=list)
    file_request: object = None


def stored_file(account, patient, data, *, name, declared, purpose="photo", **extra) -> File:
    file = file_create_from_stream(
        account=account,
        patient=patient,
        purpose=purpose,
        original_name=name,
        declared_type=declared,
        stream=io.BytesIO(data),
        uploaded_by=extra.pop("uploaded_by", Actor.system()),
        **extra,
    )
    return file_process(file_id=file.pk)


def record_build(account) -> Record:
    """Two patients; the first with a request answered by two photos (with notes), an
    X-on upload, a Claros PDF and a Cliniko photo: four doors, five files."""
    patient = PatientFactory(
        account=account, first_name="John", last_name="Smith", mobile="+447911123456"
    )
    other = PatientFactory(
        account=account, first_name="Mary", last_name="Jones", mobile="+447911654321"
    )
    key = api_key_create(account=account, name="record system").plaintext
    file_request = FileRequestFactory(
        account=account,
        patient=patient,
        staff_name="Dr Rachel Williams",
        prompt="Please take a photo of the rash on your right hand.",
    )
    record = Record(account, key, patient, other, file_request=file_request)
    patient_link = Actor.for_patient_link(file_request.pk)
    for index, note in enumerate(["Worse in the morning.", "Here it is from the side."]):
        photo = stored_file(
            account,
            patient,
            samples.jpeg((640 + index, 480)),
            name=f"IMG_00{index}.JPG",
            declared="image/jpeg",
            file_request=file_request,
            description=note,
            uploaded_by=patient_link,
            source=File.Source.REQUEST,
        )
        record.request_photos.append(photo)
    api_actor = Actor("api_key", "k", "record system")
    record.files = [
        *record.request_photos,
        stored_file(
            account,
            patient,
            samples.png((300, 200)),
            name="wound.png",
            declared="image/png",
            purpose="document",
            description="Wound on day 3",
            uploaded_by=api_actor,
            source=File.Source.XON,
        ),
    ]
    pdf = stored_file(
        account,
        patient,
        attachment_samples.pdf(),
        name="letter.pdf",
        declared="application/pdf",
        purpose="document",
        uploaded_by=api_actor,
        source=File.Source.CLAROS,
    )
    attachment_record(
        account=account,
        patient=patient,
        file=pdf,
        description=None,
        actor=api_actor,
    )
    cliniko = stored_file(
        account,
        patient,
        samples.jpeg((200, 300)),
        name="referral photo.jpg",
        declared="image/jpeg",
        purpose="document",
        description="Referral",
        uploaded_by=api_actor,
        source=File.Source.CLINIKO,
    )
    attachment_record(
        account=account,
        patient=patient,
        file=cliniko,
        description="Referral",
        actor=api_actor,
    )
    record.files += [pdf, cliniko]
    assert all(f.state == File.State.READY for f in record.files), [
        f.rejection_reason for f in record.files
    ]
    return record


def build_world() -> Record:
    """The record in a clinic of its own, its on-commit work (events, webhooks) done."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return record_build(AccountFactory(name="Riverside Clinic"))


@pytest.fixture(scope="module")
def world_builder():
    """The record, built once for each module of FHIR tests that only read it
    (tests/support/module_world.py): five files through the real pipeline cost more than
    most of the tests that read them."""
    return build_world


@pytest.fixture
def record(world) -> Record:
    """What a test changes of it is rolled back when the test ends."""
    return world


@pytest.fixture
def fhir(client, record):
    """GET under /fhir/R4/ with the record system's key."""

    def get(path: str, **headers):
        headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {record.api_key}")
        return client.get(f"/fhir/R4/{path}", **headers)

    return get
