"""The one attachment ticket service behind Cliniko's presigned post and the dashboard's
drag-and-drop, called without HTTP: each refusal a typed error of one kind."""

from __future__ import annotations

import pytest

from attachments.services import attachment_upload_ticket_issue
from files.models import File, Purpose
from portal.accounts.models import Account
from portal.audit.services import Actor
from portal.service_errors import QuotaExceeded, ServiceError, TooLarge, TooMany
from tests.factories import FileFactory

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def issue(account, patient, size=None):
    return attachment_upload_ticket_issue(
        account=account, patient=patient, actor=Actor.system(), size=size
    )


def refusal(account, patient, size=None) -> ServiceError:
    with pytest.raises(ServiceError) as refused:
        issue(account, patient, size)
    return refused.value


@pytest.fixture
def trial(account):
    account.plan = Account.Plan.TRIAL
    account.save()
    return account


@pytest.mark.parametrize("size", [None, 1, 5 * MB])
def test_ticket_for_a_document_of_the_patient(account, patient, size, settings):
    """GIVEN a full account WHEN a ticket is asked for (with or without a size) THEN a
    document ticket under the patient, its range the largest upload."""
    ticket = issue(account, patient, size)
    assert (ticket.patient_id, ticket.purpose) == (patient.id, Purpose.DOCUMENT)
    assert ticket.max_size == settings.FILES_MAX_UPLOAD_BYTES


def test_ticket_range_is_what_the_trial_has_left(trial, patient):
    FileFactory(account=trial, patient=patient, size=MB - 1000, state=File.State.READY)
    assert issue(trial, patient).max_size == 1000
    assert issue(trial, patient, size=1000).max_size == 1000


def test_a_size_past_any_upload_is_too_large(account, patient, settings):
    settings.FILES_MAX_UPLOAD_BYTES = 2 * MB
    refused = refusal(account, patient, size=2 * MB + 1)
    assert isinstance(refused, TooLarge) and refused.kind == "too_large"
    assert refused.message == "The file is larger than the 2 MB allowed."


def test_a_size_the_trial_has_no_room_for_is_quota_exceeded(trial, patient):
    FileFactory(account=trial, patient=patient, size=MB - 1000, state=File.State.READY)
    refused = refusal(trial, patient, size=1001)
    assert isinstance(refused, QuotaExceeded) and refused.kind == "quota_exceeded"
    assert refused.message == "The file does not fit in what is left of the free trial's space."


@pytest.mark.parametrize("size", [None, 10])
def test_a_full_trial_is_quota_exceeded_with_or_without_a_size(trial, patient, size):
    for _ in range(10):
        FileFactory(account=trial, patient=patient, size=10, state=File.State.READY)
    refused = refusal(trial, patient, size=size)
    assert isinstance(refused, QuotaExceeded)
    assert refused.code == "trial_quota_exceeded"
    assert refused.message.startswith("The free trial's limit of 10 files is reached.")


def test_too_many_bytes_waiting_for_the_patient_is_too_many(account, patient, settings):
    settings.FILES_UNCONFIRMED_MAX_BYTES_PER_PATIENT = settings.FILES_MAX_UPLOAD_BYTES + 1
    issue(account, patient)
    refused = refusal(account, patient)
    assert isinstance(refused, TooMany) and refused.kind == "too_many"
    assert refused.message.startswith("Uploads of ")
    assert "bytes for this patient are waiting to be confirmed" in refused.message
