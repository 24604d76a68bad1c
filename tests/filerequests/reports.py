"""Helpers of the record report's tests: a patient's answered request with real photos
through the pipeline, the worker's function run in the test, the PDF read back."""

from __future__ import annotations

import datetime as dt
import io

from django.core.files.storage import default_storage
from django.utils import timezone
from pypdf import PdfReader

from filerequests import record_reports
from filerequests.models import FileRequest, RecordReport
from files.models import Facet, File
from files.pipeline.processing import file_process
from files.services import file_create_from_stream
from portal.audit.services import Actor
from tests.factories import FileRequestFactory, PatientFactory, StaffFactory
from tests.files import samples


def processed(file: File, capture) -> File:
    with capture(execute=True):
        file_process(file_id=file.pk)
    return File.objects.get(pk=file.pk)


def photo_sent(file_request, capture, *, name, note, colour="red", size=(900, 600)) -> File:
    file = file_create_from_stream(
        account=file_request.account,
        patient=file_request.patient,
        purpose="photo",
        original_name=name,
        declared_type="image/jpeg",
        stream=io.BytesIO(samples.jpeg(size, colour=colour)),
        uploaded_by=Actor.for_patient_link(file_request.id),
        source=File.Source.REQUEST,
        file_request=file_request,
        description=note,
    )
    return processed(file, capture)


def answered_request(account, django_capture_on_commit_callbacks):
    """Margaret Thompson's answered request: two photos with notes, one reviewed."""
    patient = PatientFactory(
        account=account,
        first_name="Margaret",
        last_name="Thompson",
        date_of_birth=dt.date(1948, 3, 12),
        nhs_number="9434765919",
    )
    staff = StaffFactory(account=account, display_name="Dr Rachel Williams")
    file_request = FileRequestFactory(
        account=account,
        patient=patient,
        staff=staff,
        staff_name="Dr Rachel Williams",
        prompt="A close-up of the mole on your left shoulder, please.",
    )
    photos = [
        photo_sent(
            file_request,
            django_capture_on_commit_callbacks,
            name="shoulder.jpg",
            note="It has grown since June.",
        ),
        photo_sent(
            file_request,
            django_capture_on_commit_callbacks,
            name="shoulder-far.jpg",
            note="From further away, with a ruler.",
            colour="blue",
            size=(600, 900),
        ),
    ]
    file_request.status = FileRequest.Status.ANSWERED
    file_request.answered_at = timezone.now()
    file_request.save()
    return {"request": file_request, "photos": photos, "staff": staff, "patient": patient}


def make_report(report: RecordReport, capture, actor: Actor) -> File:
    """Run the worker's function, then the pipeline on the PDF it stored."""
    with capture(execute=False):
        record_reports.record_report_make(report_id=report.pk, actor=actor)
    report.refresh_from_db()
    return processed(report.file, capture)


def pdf_bytes(file: File) -> bytes:
    facet = file.facets.get(name=Facet.CONTENT)
    with default_storage.open(facet.storage_key, "rb") as stored:
        return stored.read()


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
