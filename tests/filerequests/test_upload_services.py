"""The upload services behind the request's doors, called without HTTP: X-on's upload, the
patient photo ticket and its confirmation. Each refusal is a typed error of one kind with
a sentence a person can act on; the doors only map kinds to statuses (tests/contract/
test_service_error_mapping.py)."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from filerequests import uploads
from filerequests.models import FileRequest
from files.models import File, UploadTicket
from portal.accounts.models import Account
from portal.audit.services import Actor
from portal.service_errors import (
    Conflict,
    Invalid,
    NotFound,
    QuotaExceeded,
    ServiceError,
    TooLarge,
    TooMany,
)
from tests.factories import FileFactory, FileRequestFactory, PatientFactory, UploadTicketFactory
from tests.files import samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def file_request(account, patient):
    return FileRequestFactory(account=account, patient=patient)


def trial_full(account, patient) -> None:
    """The trial's ten files are used."""
    account.plan = Account.Plan.TRIAL
    account.save()
    for _ in range(10):
        FileFactory(account=account, patient=patient, size=10, state=File.State.READY)


def refusal(call, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as refused:
        call(**kwargs)
    return refused.value


# --- The patient photo ticket ------------------------------------------------------------


def ask_ticket(file_request, **changes):
    arguments = {
        "file_request": file_request,
        "name": "IMG_1.JPG",
        "size": 1000,
        "photo_id": None,
        "actor": Actor.for_patient_link(file_request.id),
        **changes,
    }
    return uploads.patient_photo_ticket_issue(**arguments)


def test_photo_ticket_issued_bound_to_the_request(file_request):
    """GIVEN an open request WHEN a ticket is asked for THEN it is the request's, for the
    photo's size, issued by the patient link."""
    issued = ask_ticket(file_request)
    assert issued.held is None
    assert issued.ticket.file_request_id == file_request.id
    assert issued.ticket.max_size == 1000
    assert issued.ticket.actor_kind == Actor.for_patient_link(file_request.id).kind


def test_photo_ticket_for_a_held_photo_answers_the_file(file_request):
    """GIVEN the request holds the phone's photo already WHEN a ticket is asked for it
    again THEN no ticket: the file held, whatever size is sent."""
    photo_id = uuid.uuid4()
    held = FileFactory(
        account=file_request.account,
        patient=file_request.patient,
        file_request=file_request,
        client_photo_id=photo_id,
    )
    issued = ask_ticket(file_request, photo_id=photo_id, size=None)
    assert (issued.ticket, issued.held) == (None, held)


@pytest.mark.parametrize("size", [None, 0, -5])
def test_photo_ticket_without_a_size_is_invalid(file_request, size):
    refused = refusal(ask_ticket, file_request=file_request, size=size)
    assert isinstance(refused, Invalid) and refused.kind == "invalid"
    assert refused.message == "The photo is empty or its size is unknown. Choose it again."
    assert refused.field == "size"


def test_photo_ticket_past_the_limit_is_too_large(file_request, settings):
    settings.FILES_MAX_UPLOAD_BYTES = 2 * 1024 * 1024
    refused = refusal(ask_ticket, file_request=file_request, size=2 * 1024 * 1024 + 1)
    assert isinstance(refused, TooLarge) and refused.kind == "too_large"
    assert refused.message == (
        "This photo is larger than 2 MB. Choose a smaller one, or take the photo again."
    )


@pytest.mark.parametrize("how", ["no file left", "no room for this size"])
def test_photo_ticket_for_a_full_trial_is_quota_exceeded(file_request, account, patient, how):
    account.plan = Account.Plan.TRIAL
    account.save()
    if how == "no file left":
        trial_full(account, patient)
        size = 10
    else:
        FileFactory(account=account, patient=patient, size=1024 * 1024 - 100)
        size = 101
    refused = refusal(ask_ticket, file_request=file_request, size=size)
    assert isinstance(refused, QuotaExceeded) and refused.kind == "quota_exceeded"
    assert refused.message == uploads.CLINIC_FULL_MESSAGE


def test_photo_ticket_past_the_request_ticket_count_is_too_many(file_request):
    for _ in range(uploads.MAX_TICKETS_PER_REQUEST):
        UploadTicketFactory(
            account=file_request.account, patient=file_request.patient, file_request=file_request
        )
    refused = refusal(ask_ticket, file_request=file_request)
    assert isinstance(refused, TooMany) and refused.kind == "too_many"
    assert refused.message == "Too many uploads for this request. Please call the clinic."


def test_photo_ticket_with_too_much_unconfirmed_is_too_many(file_request, settings):
    settings.FILES_UNCONFIRMED_MAX_BYTES_PER_REQUEST = 1500
    ask_ticket(file_request, size=1000)
    refused = refusal(ask_ticket, file_request=file_request, size=1000)
    assert isinstance(refused, TooMany)
    assert refused.message == uploads.WAITING_MESSAGE


@pytest.mark.parametrize("status", [FileRequest.Status.CANCELLED, FileRequest.Status.EXPIRED])
def test_photo_ticket_for_an_ended_request_is_a_conflict(file_request, status):
    file_request.status = status
    file_request.save()
    refused = refusal(ask_ticket, file_request=file_request)
    assert isinstance(refused, Conflict) and refused.kind == "conflict"
    assert refused.message == "This request has ended. Please call the clinic."


# --- The patient photo confirmation -------------------------------------------------------


def confirm(file_request, ticket_id, **changes):
    arguments = {
        "file_request": file_request,
        "ticket_id": ticket_id,
        "photo_id": None,
        "note": "",
        "slot_id": None,
        "size_on_phone": None,
        "actor": Actor.for_patient_link(file_request.id),
        **changes,
    }
    return uploads.patient_photo_confirm(**arguments)


def uploaded_ticket(file_request, *, photo_id=None) -> UploadTicket:
    ticket = ask_ticket(file_request, photo_id=photo_id, size=100_000).ticket
    default_storage.save(ticket.key_prefix + "IMG_1.JPG", ContentFile(samples.jpeg((40, 30))))
    return ticket


def test_photo_confirmed_becomes_the_request_file_with_its_note(file_request):
    ticket = uploaded_ticket(file_request)
    confirmed = confirm(file_request, str(ticket.id), note="  left arm  ", size_on_phone=4321)
    assert not confirmed.already_received
    file = confirmed.file
    assert (file.file_request_id, file.description, file.source) == (
        file_request.id,
        "left arm",
        File.Source.REQUEST,
    )


def test_a_second_copy_of_a_held_photo_answers_the_held_file(file_request):
    """GIVEN a photo confirmed WHEN a second upload of it (same photo id) is confirmed
    THEN the held file is answered and the second ticket abandoned."""
    photo_id = uuid.uuid4()
    first = confirm(file_request, str(uploaded_ticket(file_request).id), photo_id=photo_id)
    again = uploaded_ticket(file_request)
    confirmed = confirm(file_request, str(again.id), photo_id=photo_id)
    assert confirmed.already_received and confirmed.file == first.file
    again.refresh_from_db()
    assert again.state == UploadTicket.State.ABANDONED


@pytest.mark.parametrize("which", ["unknown", "not a uuid", "none", "another request's"])
def test_confirming_a_ticket_not_of_this_request_is_not_found(file_request, which):
    other = FileRequestFactory(account=file_request.account, patient=file_request.patient)
    ticket_id = {
        "unknown": str(uuid.uuid4()),
        "not a uuid": "ticket",
        "none": None,
        "another request's": lambda: str(uploaded_ticket(other).id),
    }[which]
    ticket_id = ticket_id() if callable(ticket_id) else ticket_id
    refused = refusal(confirm, file_request=file_request, ticket_id=ticket_id)
    assert isinstance(refused, NotFound) and refused.kind == "not_found"
    assert refused.message == "This upload is not part of your request. Add the photo again."


def test_confirming_a_step_the_request_lacks_is_invalid(file_request):
    ticket = uploaded_ticket(file_request)
    refused = refusal(
        confirm, file_request=file_request, ticket_id=str(ticket.id), slot_id="no-such-step"
    )
    assert isinstance(refused, Invalid)
    assert refused.message == uploads.UNKNOWN_SLOT_MESSAGE
    assert not File.objects.exists()


def test_confirming_before_the_upload_is_a_conflict(file_request):
    ticket = ask_ticket(file_request).ticket
    refused = refusal(confirm, file_request=file_request, ticket_id=str(ticket.id))
    assert isinstance(refused, Conflict)
    assert refused.message == "No file has been uploaded for this upload ticket yet."


def test_confirming_when_the_trial_filled_meanwhile_is_quota_exceeded(
    file_request, account, patient
):
    """GIVEN a trial with room when the ticket was issued WHEN its tenth file arrives by
    another door before the photo is confirmed THEN the confirmation is refused, the
    clinic's sentence, and no file is made."""
    account.plan = Account.Plan.TRIAL
    account.save()
    ticket = uploaded_ticket(file_request)
    for _ in range(10):
        FileFactory(account=account, patient=patient, size=10, state=File.State.READY)
    refused = refusal(confirm, file_request=file_request, ticket_id=str(ticket.id))
    assert isinstance(refused, QuotaExceeded)
    assert refused.message == uploads.CLINIC_FULL_MESSAGE
    assert not File.objects.filter(upload_ticket=ticket).exists()


# --- X-on's upload ---------------------------------------------------------------------


def part(name="IMG_1.jpg", data=None, content_type="image/jpeg") -> uploads.UploadPart:
    data = data if data is not None else samples.jpeg((40, 30))
    return uploads.UploadPart(
        name=name, content_type=content_type, stream=io.BytesIO(data), size=len(data)
    )


def xon_upload(account, **changes):
    arguments = {
        "account": account,
        "actor": Actor.system(),
        "parts": [part()],
        "user_id": None,
        **changes,
    }
    return uploads.xon_upload_create(**arguments)


def test_xon_upload_stores_the_batch_for_the_patient(account, patient, settings):
    settings.FILES_SYNC_WAIT_SECONDS = 0
    files = xon_upload(account, user_id=str(patient.id), parts=[part("a.jpg"), part("b.jpg")])
    assert [(f.original_name, f.patient_id, f.source) for f in files] == [
        ("a.jpg", patient.id, File.Source.XON),
        ("b.jpg", patient.id, File.Source.XON),
    ]


@pytest.mark.parametrize(
    "user_id",
    ["nobody", str(uuid.uuid4()), "another clinic's patient"],
)
def test_xon_upload_for_no_one_in_the_account_is_invalid(account, other_account, user_id):
    if user_id == "another clinic's patient":
        user_id = str(PatientFactory(account=other_account).id)
    refused = refusal(xon_upload, account=account, user_id=user_id)
    assert isinstance(refused, Invalid)
    assert refused.field == "userId"
    assert refused.message == "No patient or staff member with this id exists in your account."
    assert not File.objects.exists()


@pytest.mark.parametrize("request_id", ["nonsense", str(uuid.uuid4()), "another clinic's"])
def test_xon_upload_for_an_unknown_request_is_invalid(account, other_account, patient, request_id):
    if request_id == "another clinic's":
        request_id = str(FileRequestFactory(account=other_account).id)
    refused = refusal(
        xon_upload, account=account, user_id=str(patient.id), file_request_id=request_id
    )
    assert isinstance(refused, Invalid)
    assert refused.field == "fileRequestId"
    assert refused.message == "No file request with this id exists in your account."


def test_xon_upload_for_a_request_by_someone_else_is_invalid(account, file_request):
    other_patient = PatientFactory(account=account)
    refused = refusal(
        xon_upload,
        account=account,
        user_id=str(other_patient.id),
        file_request_id=str(file_request.id),
    )
    assert isinstance(refused, Invalid)
    assert refused.message == "With a fileRequestId, userId must be that file request's patient."


@pytest.mark.parametrize("status", [FileRequest.Status.CANCELLED, FileRequest.Status.EXPIRED])
def test_xon_upload_for_an_ended_request_is_a_conflict(account, patient, file_request, status):
    file_request.status = status
    file_request.save()
    refused = refusal(
        xon_upload,
        account=account,
        user_id=str(patient.id),
        file_request_id=str(file_request.id),
    )
    assert isinstance(refused, Conflict)
    assert refused.message.startswith("This file request")
    assert not File.objects.exists()


def test_xon_upload_past_the_limit_is_too_large_and_keeps_nothing(account, patient, settings):
    settings.FILES_MAX_UPLOAD_BYTES = 1024
    refused = refusal(
        xon_upload,
        account=account,
        user_id=str(patient.id),
        parts=[part("small.jpg", b"x" * 10), part("big.jpg", b"x" * 2000)],
    )
    assert isinstance(refused, TooLarge)
    assert refused.message == "The file is larger than the 1 KB allowed. Send a smaller file."
    assert not File.objects.exists()


def test_xon_upload_to_a_full_trial_is_quota_exceeded(account, patient):
    trial_full(account, patient)
    refused = refusal(xon_upload, account=account, user_id=str(patient.id))
    assert isinstance(refused, QuotaExceeded)
    assert refused.code == "trial_quota_exceeded"
    assert refused.message.startswith("The free trial's limit of 10 files is reached.")
    assert File.objects.count() == 10
