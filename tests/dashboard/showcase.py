"""A clinic's worth of files, requests and webhooks for the screenshots of the new pages."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from attachments.services import attachment_upload_ticket_issue, photo_copy_from_facet
from filerequests.models import Notification
from filerequests.services import (
    address_record_failure,
    file_request_create,
    file_request_publish_files_update,
)
from files.models import Facet
from files.pipeline.processing import file_process
from portal.accounts.services import api_key_create
from portal.audit.services import Actor
from portal.ops.services import heartbeat_record
from portal.webhooks.models import Delivery, DeliveryAttempt, Event
from portal.webhooks.services import signing_secret_for, webhook_endpoint_create
from tests.dashboard.objects import attachment_with_file, photo_bytes, stored_file
from tests.files.samples import pdf

COLOURS = [(46, 110, 140), (150, 96, 60), (70, 130, 90), (120, 80, 140)]


def gallery_for(*, account, patient) -> list:
    """Ready photos, a PDF, one still processing, one rejected."""
    made = [
        attachment_with_file(
            account=account,
            patient=patient,
            name=name,
            data=photo_bytes(size=size, colour=colour),
        )
        for name, size, colour in [
            ("left-forearm-rash.jpg", (1600, 1200), COLOURS[0]),
            ("rash-close-up.jpg", (1200, 1600), COLOURS[1]),
            ("wound-day-3.jpg", (1600, 1200), COLOURS[2]),
        ]
    ]
    made.append(
        attachment_with_file(account=account, patient=patient, name="referral.pdf", data=pdf())
    )
    made.append(
        attachment_with_file(
            account=account, patient=patient, name="discharge-letter.jpg", data=b"not an image"
        )
    )
    made.append(
        attachment_with_file(account=account, patient=patient, name="IMG_2041.jpg", process=False)
    )
    return made


def answered_request(*, account, staff, patient):
    """A request the patient answered with two photos (one with a note), its text sent."""
    actor = Actor.for_staff(staff)
    file_request = file_request_create(
        account=account,
        actor=actor,
        type="photo",
        staff_id=staff.id,
        staff_name=staff.display_name,
        patient_mobile=patient.mobile,
        patient_date_of_birth=patient.date_of_birth,
        patient_first_name=patient.first_name,
        prompt="Please send a clear photo of the rash on your left forearm, "
        "and one close-up with a coin beside it for scale.",
    )
    Notification.objects.filter(file_request=file_request).update(
        status=Notification.Status.SENT, attempts=1, sent_at=timezone.now() - timedelta(minutes=6)
    )
    for name, colour, note in [
        ("IMG_0292.JPG", COLOURS[0], None),
        ("IMG_0293.JPG", COLOURS[1], "It is itchier in the evening."),
    ]:
        stored_file(
            account=account,
            patient=patient,
            name=name,
            data=photo_bytes(colour=colour),
            file_request=file_request,
            description=note,
        )
    file_request.created_at = timezone.now() - timedelta(minutes=6)
    file_request.opened_at = timezone.now() - timedelta(minutes=4)
    file_request.save(update_fields=["created_at", "opened_at"])
    file_request_publish_files_update(file_request=file_request, actor=Actor.system())
    file_request.refresh_from_db()
    return file_request


def webhooks_for(*, account, staff):
    """One healthy endpoint, and one failing whose latest deliveries show their attempts."""
    actor = Actor.for_staff(staff)
    healthy = webhook_endpoint_create(
        account=account,
        actor=actor,
        url="https://pms.riverside.example/hooks/portal",
        events=["file-request.files.update", "patient-attachment.processed"],
    )
    failing = webhook_endpoint_create(
        account=account,
        actor=actor,
        url="https://old-sync.riverside.example/webhooks",
        events=["file.ready", "file.rejected"],
    )
    now = timezone.now()
    failing.failing_since = now - timedelta(hours=2)
    failing.save(update_fields=["failing_since"])
    for index, (endpoint, status, codes) in enumerate(
        [
            (healthy, Delivery.Status.SUCCEEDED, [200]),
            (failing, Delivery.Status.FAILED, [503, 503, None, 502]),
            (failing, Delivery.Status.SUCCEEDED, [500, 200]),
        ]
    ):
        event = Event.objects.create(
            account=account,
            type=endpoint.events[0],
            payload={},
            created_at=now - timedelta(minutes=30 - index),
            dispatched_at=now,
        )
        delivery = Delivery.objects.create(
            account=account,
            event=event,
            endpoint=endpoint,
            url=endpoint.url,
            status=status,
            attempt_count=len(codes),
            last_status_code=codes[-1],
            created_at=event.created_at,
            completed_at=now,
        )
        for number, code in enumerate(codes, start=1):
            DeliveryAttempt.objects.create(
                delivery=delivery,
                number=number,
                url=endpoint.url,
                started_at=event.created_at + timedelta(minutes=number * number),
                finished_at=event.created_at + timedelta(minutes=number * number, seconds=1),
                duration_ms=180 + 40 * number if code else 15000,
                status_code=code,
                succeeded=code == 200,
                error="" if code else "Read timed out after 15 seconds.",
                response_excerpt='{"ok": true}'
                if code == 200
                else ("Service Unavailable" if code else ""),
            )
    return healthy, failing


def everything_for(*, account, staff, patient) -> dict:
    """Rows of every model an operator sees in the Django admin, made through the
    services as the portal makes them, in ``account``."""
    actor = Actor.for_staff(staff)
    attachments = gallery_for(account=account, patient=patient)
    file_request = answered_request(account=account, staff=staff, patient=patient)
    photo = photo_copy_from_facet(
        account=account,
        patient=patient,
        source=attachments[0].file,
        facet_name=Facet.CONTENT,
        filename="profile.jpg",
        actor=actor,
    )
    file_process(file_id=photo.file_id)
    photo.refresh_from_db()
    healthy, failing = webhooks_for(account=account, staff=staff)
    address_record_failure("203.0.113.9", timezone.now())
    return {
        "attachments": attachments,
        "ready_attachment": attachments[0],
        "rejected_attachment": attachments[4],
        "file_request": file_request,
        "photo": photo,
        "api_key": api_key_create(account=account, name="Practice management sync").api_key,
        "upload_ticket": attachment_upload_ticket_issue(
            account=account, patient=patient, actor=actor
        ),
        "endpoints": (healthy, failing),
        "signing_secret": signing_secret_for(account=account),
        "heartbeat": heartbeat_record(worker="celery@worker-1.riverside"),
    }
