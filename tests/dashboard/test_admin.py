"""The Django admin, as an operator signed in with a code uses it: every model is
registered, each list and change page shows real data, search finds rows, thumbnails
show, the audit log cannot be changed, and the actions go through the services (so
the audit log names the admin, as the API's and dashboard's changes name their actor)."""

from __future__ import annotations

import datetime
import io
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image

from filerequests.models import (
    AddressThrottle,
    FileRequest,
    Notification,
    RecordReport,
    ReplacedShortLink,
    ReplyText,
)
from files.models import Facet
from portal.accounts.models import PasswordResetThrottle, SignInThrottle, Staff
from portal.accounts.password_reset import address_digest
from portal.accounts.services import api_key_create, staff_invite
from portal.accounts.signin_throttle import key_digest
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.ops.models import BeatLease
from portal.patients.services import patient_create
from portal.webhooks.models import Delivery, DeliveryAttempt, Event
from tests.dashboard.showcase import answered_request, everything_for
from tests.factories import AccountFactory, StaffFactory, UserFactory
from tests.support.sessions import sign_in

pytestmark = pytest.mark.django_db

# The apps whose models are the portal's own: each must be in the admin.
OUR_APPS = {"accounts", "patients", "audit", "webhooks", "ops", "files", "filerequests"}
OUR_APPS |= {"attachments"}


@pytest.fixture
def operator():
    return UserFactory(email="ops@portal.example", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_site(operator) -> Client:
    """The operator's browser: signed in, and verified with an authenticator code."""
    return sign_in(Client(), operator)


def build_world() -> dict:
    """A clinic with data in every model, and a look-alike request in another clinic."""
    account = AccountFactory(name="Riverside Clinic")
    other_account = AccountFactory(name="Hillside Clinic")
    staff = StaffFactory(
        account=account, display_name="Dr Rachel Williams", role=Staff.Role.CLINICIAN
    )
    patient = patient_create(
        account=account,
        actor=Actor.for_staff(staff),
        first_name="Imogen",
        last_name="Thackeray",
        mobile="+447911123499",
        date_of_birth=datetime.date(1986, 5, 4),
    )
    made = everything_for(account=account, staff=staff, patient=patient)
    other_staff = StaffFactory(account=other_account, display_name="Dr Elsewhere")
    other_patient = patient_create(
        account=other_account,
        actor=Actor.for_staff(other_staff),
        first_name="Bartholomew",
        last_name="Quince",
        mobile="+447911123500",
        date_of_birth=datetime.date(1950, 1, 2),
    )
    made["other_request"] = answered_request(
        account=other_account, staff=other_staff, patient=other_patient
    )
    made.update(account=account, staff=staff, patient=patient)
    made["group"] = Group.objects.create(name="Support desk")
    made["invitation"] = staff_invite(
        account=account,
        email="new.nurse@riverside.example",
        display_name="Nurse New",
        role=Staff.Role.CLINICIAN,
        invited_by=staff,
    )
    Client(REMOTE_ADDR="198.51.100.44").post(
        "/login/", {"username": "guess@riverside.example", "password": "wrong"}
    )
    made["sign_in_throttle"] = SignInThrottle.objects.get(
        key_digest=key_digest("account", "guess@riverside.example")
    )
    Client(REMOTE_ADDR="198.51.100.44").post(
        reverse("dashboard:password-reset"), {"email": "guess@riverside.example"}
    )
    made["password_reset_throttle"] = PasswordResetThrottle.objects.get(
        key_digest=address_digest("guess@riverside.example")
    )
    return made


def file_of(world):
    return world["ready_attachment"].file


# For each registered model: a row of the world, and a search that finds it.
SAMPLES = {
    "auth.group": lambda w: (w["group"], "Support"),
    "otp_totp.totpdevice": lambda w: (TOTPDevice.objects.get(), "ops@portal"),
    "accounts.user": lambda w: (w["staff"].user, w["staff"].user.email),
    "accounts.account": lambda w: (w["account"], "Riverside"),
    "accounts.staff": lambda w: (w["staff"], "Rachel"),
    "accounts.apikey": lambda w: (w["api_key"], "management sync"),
    "accounts.staffinvitation": lambda w: (w["invitation"], "new.nurse@riverside"),
    "accounts.signinthrottle": lambda w: (w["sign_in_throttle"], "guess@riverside.example"),
    "accounts.passwordresetthrottle": lambda w: (
        w["password_reset_throttle"],
        "GUESS@riverside.example",
    ),
    "patients.patient": lambda w: (w["patient"], "Thackeray"),
    "audit.auditevent": lambda w: (
        AuditEvent.objects.get(action="file_request.create", target_id=w["file_request"].id),
        str(w["file_request"].id),
    ),
    "webhooks.event": lambda w: (
        Event.objects.get(type="file-request.created", account=w["account"]),
        "file-request.created",
    ),
    "webhooks.webhookendpoint": lambda w: (w["endpoints"][1], "old-sync"),
    "webhooks.delivery": lambda w: (
        Delivery.objects.filter(endpoint=w["endpoints"][0]).get(),
        "pms.riverside",
    ),
    "webhooks.deliveryattempt": lambda w: (
        DeliveryAttempt.objects.get(error__startswith="Read timed out"),
        "Read timed out",
    ),
    "webhooks.webhooksigningsecret": lambda w: (w["signing_secret"], "Riverside"),
    "ops.workerheartbeat": lambda w: (w["heartbeat"], "worker-1"),
    "ops.beatlease": lambda w: (
        BeatLease.objects.create(name="beat", holder="beat@app1.riverside"),
        "app1.riverside",
    ),
    "files.uploadticket": lambda w: (w["upload_ticket"], str(w["upload_ticket"].id)),
    "files.file": lambda w: (file_of(w), "left-forearm-rash"),
    "files.facet": lambda w: (
        file_of(w).facets.get(name=Facet.THUMBNAIL),
        str(file_of(w).id),
    ),
    "filerequests.filerequest": lambda w: (w["file_request"], "Thackeray"),
    "filerequests.notification": lambda w: (
        w["file_request"].notifications.get(),
        str(w["file_request"].id),
    ),
    "filerequests.addressthrottle": lambda w: (
        AddressThrottle.objects.get(address="203.0.113.9"),
        "203.0.113.9",
    ),
    "filerequests.requesttemplate": lambda w: (
        w["account"].request_templates.get(default_key="mole"),
        "Mole or skin",
    ),
    "filerequests.templateslot": lambda w: (
        w["account"].request_templates.get(default_key="mole").slots.get(label="With a coin"),
        "coin beside it",
    ),
    "filerequests.replytemplate": lambda w: (
        w["account"].reply_templates.get(name="Please book an appointment"),
        "book an appointment",
    ),
    "filerequests.replytext": lambda w: (
        ReplyText.objects.create(
            notification=Notification.objects.create(file_request=w["file_request"]),
            body="Please call us to book an appointment.",
            template_name="Please book an appointment",
            staff_name="Dr Rachel Williams",
        ),
        "Rachel Williams",
    ),
    "filerequests.replacedshortlink": lambda w: (
        ReplacedShortLink.objects.create(
            short_link_id="OldLinkSecret123", file_request=w["file_request"]
        ),
        str(w["file_request"].id),
    ),
    "filerequests.recordreport": lambda w: (
        RecordReport.objects.create(
            account=w["account"],
            patient=w["patient"],
            file_request=w["file_request"],
            fingerprint="0" * 64,
            saved_by_name="Dr Rachel Williams",
            saved_at=timezone.now(),
        ),
        str(w["file_request"].id),
    ),
    "attachments.patientattachment": lambda w: (w["rejected_attachment"], "discharge-letter"),
    "attachments.patientphoto": lambda w: (w["photo"], "Imogen"),
}


def change_url(obj) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


def changelist_url(label: str, **query) -> str:
    app_label, model_name = label.split(".")
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    return f"{url}?{urlencode(query)}" if query else url


def test_every_model_of_the_portal_is_in_the_admin():
    """GIVEN the portal's apps WHEN the admin starts
    THEN each of their models is registered, and this file has a sample of each
    registered model (so a new model is not left out of these tests)."""
    registered = {model._meta.label_lower for model in admin.site._registry}
    ours = {
        model._meta.label_lower for model in apps.get_models() if model._meta.app_label in OUR_APPS
    }
    assert ours - registered == set()
    assert registered == set(SAMPLES)


@pytest.mark.parametrize("label", sorted(SAMPLES))
def test_each_list_and_change_page_shows_the_data(admin_site, world, label):
    """GIVEN a clinic with data in every model
    WHEN the operator opens the model's list, then one row's page
    THEN both answer 200, the list links to the row, and the row's page names it."""
    obj, _term = SAMPLES[label](world)
    listing = admin_site.get(changelist_url(label))
    assert listing.status_code == 200
    assert change_url(obj) in listing.content.decode()

    page = admin_site.get(change_url(obj))
    assert page.status_code == 200
    assert str(obj) in page.content.decode()


@pytest.mark.parametrize("label", sorted(SAMPLES))
def test_search_finds_the_row_and_only_matching_rows(admin_site, world, label):
    """GIVEN a clinic with data in every model
    WHEN the operator searches a list for the row's name, id or address
    THEN the row is in the results; a search for nonsense lists nothing."""
    obj, term = SAMPLES[label](world)
    found = admin_site.get(changelist_url(label, q=term))
    assert found.status_code == 200
    assert change_url(obj) in found.content.decode()

    nothing = admin_site.get(changelist_url(label, q="zz-no-such-row-zz"))
    assert nothing.status_code == 200
    assert change_url(obj) not in nothing.content.decode()
    assert "0 results" in nothing.content.decode()


def thumbnail_url(file) -> str:
    return reverse("admin:files_file_thumbnail", args=[file.pk])


def test_files_show_thumbnails_in_the_list_and_on_their_page(admin_site, world, operator):
    """GIVEN ready photos, a PDF and a rejected upload
    WHEN the operator opens the files list and a photo's page
    THEN photos show as thumbnails served by the admin (a real JPEG, the download
    audited in the operator's name), the PDF and the rejected file say what they are."""
    photo = file_of(world)
    rejected = world["rejected_attachment"].file
    listing = admin_site.get(reverse("admin:files_file_changelist")).content.decode()
    assert f'<img class="admin-thumbnail" src="{thumbnail_url(photo)}"' in listing
    assert 'admin-file-state-rejected">Rejected<' in listing
    assert 'class="admin-file-state">PDF<' in listing
    assert "image/jpeg \N{MIDDLE DOT} 1600\N{MULTIPLICATION SIGN}1200 \N{MIDDLE DOT} " in listing
    assert thumbnail_url(rejected) not in listing

    page = admin_site.get(change_url(photo)).content.decode()
    assert f'<img class="admin-thumbnail-large" src="{thumbnail_url(photo)}"' in page

    thumbnail = admin_site.get(thumbnail_url(photo))
    assert thumbnail.status_code == 200
    assert thumbnail["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(b"".join(thumbnail.streaming_content)))
    assert image.format == "JPEG"
    assert max(image.size) <= 512
    download = AuditEvent.objects.get(action="file.download", target_id=str(photo.id))
    assert download.actor_label == f"admin {operator}"


def test_the_thumbnail_view_is_for_signed_in_admins_only(world):
    """GIVEN a photo WHEN someone without a verified admin session (no one, or a clinician
    of the photo's own clinic) asks for its admin thumbnail THEN they are sent to sign in,
    and no bytes are served."""
    photo = file_of(world)
    clinician = StaffFactory(account=world["account"], role=Staff.Role.CLINICIAN)
    anonymous = Client().get(thumbnail_url(photo))
    assert anonymous.status_code == 302
    staff_only = sign_in(Client(), clinician.user).get(thumbnail_url(photo))
    assert staff_only.status_code == 302
    assert not AuditEvent.objects.filter(action="file.download").exists()


def test_attachments_and_patient_photos_show_their_file_thumbnails(admin_site, world):
    """GIVEN a patient's attachments and their profile photo
    WHEN the operator opens the attachments list, an attachment, and the photos list
    THEN each shows its file's thumbnail (or why it has none)."""
    ready = world["ready_attachment"]
    listing = admin_site.get(reverse("admin:attachments_patientattachment_changelist"))
    assert f'<img class="admin-thumbnail" src="{thumbnail_url(ready.file)}"' in (
        listing.content.decode()
    )
    assert "Rejected" in listing.content.decode()
    page = admin_site.get(change_url(ready)).content.decode()
    assert f'<img class="admin-thumbnail-large" src="{thumbnail_url(ready.file)}"' in page

    photos = admin_site.get(reverse("admin:attachments_patientphoto_changelist"))
    assert f'src="{thumbnail_url(world["photo"].file)}"' in photos.content.decode()


def test_a_file_request_page_shows_its_photos_and_edits_nothing(admin_site, world):
    """GIVEN a request the patient answered with two photos
    WHEN the operator opens it
    THEN both photos show as thumbnails linking to their files, the short link (the
    patient's credential) is nowhere on the page, and nothing on it can be saved or
    deleted."""
    file_request = world["file_request"]
    page = admin_site.get(change_url(file_request)).content.decode()
    for file in file_request.files.all():
        assert f'src="{thumbnail_url(file)}"' in page
        assert change_url(file) in page
    assert file_request.short_link_id not in page
    assert 'name="_save"' not in page
    assert "deletelink" not in page  # cancel instead, through the action

    response = admin_site.post(change_url(file_request), {"status": "cancelled"})
    assert response.status_code == 403
    file_request.refresh_from_db()
    assert file_request.status == "answered"


def test_the_audit_log_cannot_be_changed_or_deleted(admin_site, world):
    """GIVEN audit events WHEN the operator opens one, or posts a change or a delete
    THEN the page is read-only and every change is refused."""
    event = AuditEvent.objects.filter(account=world["account"]).first()
    page = admin_site.get(change_url(event)).content.decode()
    assert 'name="_save"' not in page
    assert "Delete" not in page
    assert admin_site.post(change_url(event), {"action": "forged"}).status_code == 403
    delete_url = reverse("admin:audit_auditevent_delete", args=[event.pk])
    assert admin_site.post(delete_url, {"post": "yes"}).status_code == 403
    listing = admin_site.post(
        reverse("admin:audit_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert listing.status_code in (200, 302)
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    assert not AuditEvent.objects.filter(action="forged").exists()


def test_the_admin_never_shows_an_authenticator_key(admin_site, operator):
    """GIVEN the operator's own authenticator app
    WHEN its admin page is opened THEN neither its key nor a QR code link is there."""
    device = TOTPDevice.objects.get(user=operator)
    page = admin_site.get(change_url(device)).content.decode()
    assert device.key not in page
    assert "qrcode" not in page.lower()
    listing = admin_site.get(reverse("admin:otp_totp_totpdevice_changelist")).content.decode()
    assert "qrcode" not in listing.lower()


def run_action(client: Client, label: str, action: str, rows) -> str:
    response = client.post(
        changelist_url(label),
        {"action": action, "_selected_action": [str(row.pk) for row in rows]},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def test_revoke_key_action_stops_the_key_and_names_the_admin(admin_site, world, operator):
    """GIVEN an API key in use
    WHEN the operator revokes it from the keys list
    THEN it is revoked, the API refuses it at once, and the account's audit log says
    the admin did it."""
    api_key = world["api_key"]
    page = run_action(admin_site, "accounts.apikey", "revoke", [api_key])
    assert "1 key(s) revoked." in page
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    (event,) = AuditEvent.objects.filter(action="api_key.revoke", target_id=str(api_key.pk))
    assert (event.account, event.actor_label) == (world["account"], f"admin {operator}")


def test_redeliver_action_queues_the_delivery_again(admin_site, world, operator):
    """GIVEN a failed webhook delivery and one still being attempted
    WHEN the operator redelivers both
    THEN the failed one is pending again from the first retry step, audited in the
    operator's name; the other is refused with the reason."""
    failed = Delivery.objects.get(status=Delivery.Status.FAILED)
    pending = Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).first()
    pending.status = Delivery.Status.PENDING
    pending.save(update_fields=["status"])
    page = run_action(admin_site, "webhooks.delivery", "redeliver", [failed, pending])
    assert "1 delivery(ies) queued again." in page
    assert "still being attempted" in page
    failed.refresh_from_db()
    assert (failed.status, failed.retry_step, failed.completed_at) == ("pending", 0, None)
    (event,) = AuditEvent.objects.filter(action="webhook_delivery.redeliver")
    assert (event.target_id, event.actor_label) == (str(failed.pk), f"admin {operator}")


def test_cancel_action_closes_the_link_through_the_service(admin_site, world, operator):
    """GIVEN an answered request, an expired one and one already cancelled
    WHEN the operator cancels all three from the requests list
    THEN the answered one is cancelled and audited in the operator's name, as the
    API's cancel would; the expired one is left and the page says why; the cancelled
    one is untouched."""
    answered = world["file_request"]
    expired = answered_request(
        account=world["account"], staff=world["staff"], patient=world["patient"]
    )
    FileRequest.objects.filter(pk=expired.pk).update(status="expired")
    cancelled = answered_request(
        account=world["account"], staff=world["staff"], patient=world["patient"]
    )
    FileRequest.objects.filter(pk=cancelled.pk).update(status="cancelled")

    page = run_action(
        admin_site, "filerequests.filerequest", "cancel", [answered, expired, cancelled]
    )
    assert "1 request(s) cancelled." in page
    assert "The request has expired; there is nothing to cancel." in page
    answered.refresh_from_db()
    assert answered.status == "cancelled"
    assert answered.cancelled_at is not None
    assert not answered.accepts_answers()
    (event,) = AuditEvent.objects.filter(action="file_request.cancel")
    assert (event.target_id, event.actor_label) == (str(answered.pk), f"admin {operator}")
    assert FileRequest.objects.get(pk=expired.pk).status == "expired"


def test_a_view_only_admin_cannot_cancel_requests(world):
    """GIVEN a staff user of the admin who may only view file requests
    WHEN they try the cancel action THEN it is not offered and nothing changes."""
    from django.contrib.auth.models import Permission

    viewer = UserFactory(email="viewer@portal.example", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_filerequest"))
    client = sign_in(Client(), viewer)
    listing = client.get(changelist_url("filerequests.filerequest"))
    assert listing.status_code == 200
    assert 'value="cancel"' not in listing.content.decode()
    client.post(
        changelist_url("filerequests.filerequest"),
        {"action": "cancel", "_selected_action": [str(world["file_request"].pk)]},
    )
    world["file_request"].refresh_from_db()
    assert world["file_request"].status == "answered"


def test_archive_action_hides_attachments_and_keeps_their_files(admin_site, world, operator):
    """GIVEN a patient's attachment WHEN the operator archives it from the list
    THEN it is archived (its file kept), audited in the operator's name."""
    attachment = world["ready_attachment"]
    page = run_action(admin_site, "attachments.patientattachment", "archive", [attachment])
    assert "1 attachment(s) archived." in page
    attachment.refresh_from_db()
    assert attachment.archived_at is not None
    assert attachment.file.state == "ready"
    (event,) = AuditEvent.objects.filter(action="patient_attachment.archive")
    assert event.actor_label == f"admin {operator}"


def test_editing_a_patient_in_the_admin_is_audited(admin_site, world, operator):
    """GIVEN a patient WHEN the operator corrects their last name in the admin
    THEN the change is saved and the audit log records the field and the admin."""
    patient = world["patient"]
    response = admin_site.post(
        change_url(patient),
        {
            "first_name": "Imogen",
            "last_name": "Thackeray-Hall",
            "date_of_birth": "1986-05-04",
            "mobile": "+447911123499",
        },
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.last_name == "Thackeray-Hall"
    event = AuditEvent.objects.filter(action="patient.update", target_id=str(patient.pk)).get()
    assert (event.detail, event.actor_label) == ({"fields": ["last_name"]}, f"admin {operator}")


def test_filters_say_archived_and_revoked_in_the_portals_words(admin_site, world, operator):
    """GIVEN an archived attachment and a revoked key among current ones
    WHEN the operator filters the lists by "Archived" and by "Active"
    THEN only the archived attachment, and only the active keys, are listed."""
    archived = world["ready_attachment"]
    run_action(admin_site, "attachments.patientattachment", "archive", [archived])
    listing = admin_site.get(changelist_url("attachments.patientattachment", archived_at="yes"))
    page = listing.content.decode()
    assert "In the gallery" in page and "Archived" in page
    assert change_url(archived) in page
    assert change_url(world["rejected_attachment"]) not in page

    revoked = world["api_key"]
    run_action(admin_site, "accounts.apikey", "revoke", [revoked])
    active_key = api_key_create(account=world["account"], name="Lab import").api_key
    page = admin_site.get(changelist_url("accounts.apikey", revoked_at="no")).content.decode()
    assert change_url(active_key) in page
    assert change_url(revoked) not in page


def test_allow_again_lets_an_address_ask_for_a_reset_link_at_once(admin_site, world):
    """GIVEN an address that just asked for a reset link (so the next ask would wait)
    WHEN the operator selects its row and chooses "Allow again"
    THEN the row is gone, the change is audited, and the next ask is let through."""
    row = world["password_reset_throttle"]
    ask_again = {"email": "guess@riverside.example"}
    waiting = Client().post(reverse("dashboard:password-reset"), ask_again)
    assert waiting.status_code == 429
    answer = admin_site.post(
        changelist_url("accounts.passwordresetthrottle"),
        {"action": "allow_again", "_selected_action": [row.pk]},
    )
    assert answer.status_code == 302
    assert not PasswordResetThrottle.objects.filter(pk=row.pk).exists()
    assert AuditEvent.objects.filter(action="auth.password_reset_limit_ended").exists()
    again = Client().post(reverse("dashboard:password-reset"), ask_again)
    assert again.status_code == 302


def test_a_replaced_link_is_shown_by_its_first_characters_only(admin_site, world):
    """GIVEN a link a newer text replaced WHEN the operator lists and opens it THEN its
    first four characters identify it and the rest of the old credential is never shown."""
    replaced = ReplacedShortLink.objects.create(
        short_link_id="OldLinkSecret123", file_request=world["file_request"]
    )
    for page in (changelist_url("filerequests.replacedshortlink"), change_url(replaced)):
        shown = admin_site.get(page).content.decode()
        assert "OldL\N{HORIZONTAL ELLIPSIS}" in shown
        assert "OldLinkSecret123" not in shown and "LinkSecret" not in shown
