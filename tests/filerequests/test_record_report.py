"""Save to record: the PDF of a request, made by the worker's function and stored as a file
of the patient through the pipeline; its contents read back with pypdf."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from pypdf import PdfReader

from filerequests import record_reports, staff_actions
from filerequests.models import Outcome, RecordReport
from files.models import File
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from tests.factories import FileRequestFactory, StaffFactory
from tests.filerequests.reports import (
    answered_request,
    make_report,
    pdf_bytes,
    pdf_text,
    photo_sent,
)

pytestmark = pytest.mark.django_db

# A note that wraps on the page, one of its lines holding only a few short words before a
# long one (where justified text would stretch the gaps between them).
LONG_NOTE = (
    "Asked her to keep it out of the sun, see: "
    "photograph-again-in-four-weeks-beside-the-same-ruler-for-comparison-at-the-visit"
)


@pytest.fixture
def answered(account, django_capture_on_commit_callbacks):
    return answered_request(account, django_capture_on_commit_callbacks)


def test_the_report_holds_the_banner_the_request_each_photo_and_the_outcome(
    answered, django_capture_on_commit_callbacks
):
    """GIVEN Margaret Thompson's request with two photos WHEN reviewed with the outcome
    "Appointment needed" and saved to record THEN the worker's PDF, stored as a ready
    file of the patient that passed the PDF check, names her family name first, her
    date of birth and age, NHS number, the clinic, who asked what and when, each photo
    with its note and the SHA-256 of its bytes, who reviewed and the outcome; each
    photo is drawn on its own page; "Saved to record by" is recorded and audited."""
    file_request, staff = answered["request"], answered["staff"]
    with django_capture_on_commit_callbacks(execute=False):
        staff_actions.file_request_review(
            file_request=file_request,
            staff=staff,
            actor=Actor.for_staff(staff),
            outcome=Outcome.APPOINTMENT,
            note="Dermatology review within two weeks. " + LONG_NOTE,
        )
        report = record_reports.file_request_save_to_record(
            file_request=file_request, staff=staff, actor=Actor.for_staff(staff)
        )
    assert record_reports.report_progress(report).state == record_reports.MAKING
    file = make_report(report, django_capture_on_commit_callbacks, Actor.for_staff(staff))

    assert file.state == File.State.READY, file.rejection_reason
    assert file.mime_type == "application/pdf"
    assert file.patient_id == answered["patient"].id and file.file_request_id is None
    report.refresh_from_db()
    assert record_reports.report_progress(report).state == record_reports.READY
    assert report.saved_by_name == "Dr Rachel Williams" and report.saved_at is not None

    data = pdf_bytes(file)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 3  # the summary, then one page for each photo
    text = pdf_text(data)
    age = record_reports.age_short(dt.date(1948, 3, 12))
    for expected in (
        "THOMPSON, Margaret",
        f"Born 12-Mar-1948 ({age})",
        "NHS No. 943 476 5919",
        file_request.account.name,
        "Dr Rachel Williams",
        "A close-up of the mole on your left shoulder, please.",
        "It has grown since June.",
        "From further away, with a ruler.",
        "Appointment needed",
        "Dermatology review within two weeks.",
        "Photo 1 of 2: shoulder.jpg",
        "Photo 2 of 2: shoulder-far.jpg",
    ):
        assert expected in text, expected
    for photo in answered["photos"]:
        stored = pdf_bytes(photo)
        assert photo.sha256 == hashlib.sha256(stored).hexdigest()
        assert photo.sha256 in text.replace("\n", "")
    # Ragged right: a wrapped line never opens doubled spaces between words.
    first_page = reader.pages[0].extract_text().splitlines()
    assert not [line for line in first_page if "  " in line and not line.startswith("Born")]
    # The banner is on every page: a loose page still says whose it is.
    for page in reader.pages:
        assert "THOMPSON, Margaret" in page.extract_text()
        assert "943 476 5919" in page.extract_text()
    # Each photo page holds one image, fitted inside the page.
    for page in reader.pages[1:]:
        images = list(page.images)
        assert len(images) == 1
    actions = set(
        AuditEvent.objects.filter(target_id=str(file_request.id)).values_list("action", flat=True)
    )
    assert {
        "file_request.review",
        "file_request.save_to_record",
        "record_report.request",
        "record_report.made",
    } <= actions
    assert AuditEvent.objects.filter(action="file.upload", target_id=str(file.id)).exists()


def test_saving_again_reuses_the_report_until_the_request_changes(
    answered, django_capture_on_commit_callbacks
):
    """GIVEN a saved report WHEN saved again with nothing changed THEN the same report
    (no second copy in the record), the first saver kept; WHEN a photo is reviewed
    since THEN a new report is made."""
    file_request, staff = answered["request"], answered["staff"]
    actor = Actor.for_staff(staff)
    with django_capture_on_commit_callbacks(execute=False):
        first = record_reports.file_request_save_to_record(
            file_request=file_request, staff=staff, actor=actor
        )
    make_report(first, django_capture_on_commit_callbacks, actor)
    other = StaffFactory(account=file_request.account, display_name="Nurse Ama Owusu")
    with django_capture_on_commit_callbacks(execute=False):
        again = record_reports.file_request_save_to_record(
            file_request=file_request, staff=other, actor=Actor.for_staff(other)
        )
    assert again.pk == first.pk
    again.refresh_from_db()
    assert again.saved_by_name == "Dr Rachel Williams"
    assert AuditEvent.objects.filter(action="file_request.save_to_record").count() == 2

    with django_capture_on_commit_callbacks(execute=False):
        staff_actions.file_request_review(
            file_request=file_request,
            staff=other,
            actor=Actor.for_staff(other),
            outcome=Outcome.NO_ACTION,
            note="",
        )
        newer = record_reports.file_request_save_to_record(
            file_request=file_request, staff=other, actor=Actor.for_staff(other)
        )
    assert newer.pk != first.pk and newer.saved_by_name == "Nurse Ama Owusu"


def test_a_request_with_nothing_arrived_cannot_be_saved(account, staff):
    """GIVEN a request no photo has answered WHEN saved to record THEN refused in words."""
    file_request = FileRequestFactory(account=account)
    with pytest.raises(record_reports.ReportRefused, match="no photos have arrived"):
        record_reports.file_request_save_to_record(
            file_request=file_request, staff=staff, actor=Actor.for_staff(staff)
        )
    assert not RecordReport.objects.exists()


def test_a_set_of_one_patients_files_makes_one_report(answered, django_capture_on_commit_callbacks):
    """GIVEN two files of one patient WHEN a report of them is asked THEN one PDF with
    both SHA-256s; files of two patients, or of another clinic, are refused."""
    photos = answered["photos"]
    actor = Actor.for_staff(answered["staff"])
    account = answered["request"].account
    with django_capture_on_commit_callbacks(execute=False):
        report = record_reports.record_report_request(account=account, actor=actor, files=photos)
    file = make_report(report, django_capture_on_commit_callbacks, actor)
    text = pdf_text(pdf_bytes(file)).replace("\n", "")
    assert all(photo.sha256 in text for photo in photos)
    assert "Files from the patient's record" in text

    someone_else = FileRequestFactory(account=account)
    stranger = photo_sent(someone_else, django_capture_on_commit_callbacks, name="x.jpg", note="")
    with pytest.raises(record_reports.ReportRefused, match="one patient"):
        record_reports.record_report_request(
            account=account, actor=actor, files=[photos[0], stranger]
        )
    foreign = FileRequestFactory()
    foreign_photo = photo_sent(foreign, django_capture_on_commit_callbacks, name="f.jpg", note="")
    with pytest.raises(record_reports.ReportRefused, match="one patient"):
        record_reports.record_report_request(account=account, actor=actor, files=[foreign_photo])


def test_names_in_any_script_and_refused_files_read_back(
    account, django_capture_on_commit_callbacks
):
    """GIVEN a patient named in Polish and Greek letters whose request got one photo and
    one file the portal refused WHEN saved to record THEN the PDF reads back the name as
    written (family name first) and the refused file with its reason, and no image for it."""
    from files.models import File as FileModel
    from tests.factories import PatientFactory

    patient = PatientFactory(
        account=account, first_name="Zoë", last_name="Łukasiewicz-Παπαδοπούλου"
    )
    staff = StaffFactory(account=account, display_name="Dr Øyvind Ångström")
    file_request = FileRequestFactory(account=account, patient=patient, staff=staff)
    photo_sent(file_request, django_capture_on_commit_callbacks, name="knee.jpg", note="Kolano")
    refused = photo_sent(
        file_request, django_capture_on_commit_callbacks, name="clip.gif", note="", colour="red"
    )
    FileModel.objects.filter(pk=refused.pk).update(
        state=FileModel.State.REJECTED, rejection_reason="GIF files are not accepted."
    )
    with django_capture_on_commit_callbacks(execute=False):
        report = record_reports.file_request_save_to_record(
            file_request=file_request, staff=staff, actor=Actor.for_staff(staff)
        )
    file = make_report(report, django_capture_on_commit_callbacks, Actor.for_staff(staff))
    data = pdf_bytes(file)
    text = pdf_text(data)
    assert "ŁUKASIEWICZ-ΠΑΠΑΔΟΠΟΎΛΟΥ, Zoë" in text
    assert "GIF files are not accepted." in text and "Kolano" in text
    pages = PdfReader(io.BytesIO(data)).pages
    assert [len(list(page.images)) for page in pages] == [0, 1, 0]
