"""The patient page after sending: the status of the photos this session sent, their
thumbnails through the verified session only, the confirmation that never calls a
rejected photo sent, and the clinic's phone number and safety line on every page."""

from __future__ import annotations

import datetime
import io

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from filerequests.patient_status import GENERIC_REASON, patient_reason
from files.models import File
from files.pipeline.processing import file_process
from portal.accounts.models import Account
from portal.audit.models import AuditEvent
from tests.factories import FileRequestFactory, PatientFactory
from tests.support.patient_phone import jpeg_bytes

DOB = datetime.date(1980, 6, 17)
RIGHT = {"day": "17", "month": "6", "year": "1980"}
GB_SAFETY_LINE = "This is not for emergencies. If you are very unwell call 999 or 111."


@pytest.fixture
def file_request(account):
    patient = PatientFactory(account=account, date_of_birth=DOB)
    return FileRequestFactory(account=account, patient=patient)


def verified_client(file_request) -> Client:
    client = Client()
    response = client.post(f"/r/{file_request.short_link_id}", RIGHT)
    assert response.status_code == 302
    return client


def send(client: Client, name: str, data: bytes) -> str:
    """Ticket, storage post and confirm, as the page does; the new file's id."""
    csrf = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}
    ticket = client.post(
        "/r/upload/ticket",
        {"size": len(data), "name": name, "type": "image/jpeg"},
        content_type="application/json",
        **csrf,
    ).json()
    fields = dict(ticket["fields"])
    fields["file"] = io.BytesIO(data)
    fields["file"].name = name
    stored = client.post(ticket["url"], fields)
    assert stored.status_code in (200, 201, 204), stored.content
    confirmed = client.post(
        "/r/upload/confirm",
        {"ticketId": ticket["ticketId"]},
        content_type="application/json",
        **csrf,
    )
    assert confirmed.status_code == 200, confirmed.content
    return confirmed.json()["fileId"]


CORRUPT_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00garbage" * 200


@pytest.mark.django_db
def test_status_follows_each_photo_from_processing_to_ready_or_rejected(file_request):
    """GIVEN a patient who sent a good photo and a corrupt one that starts like a JPEG
    WHEN the page polls the status before and after the clinic's processing
    THEN both are 'processing' at first; then the good one is 'ready' with a thumbnail URL
    and the corrupt one 'rejected' with a reason in a patient's words."""
    client = verified_client(file_request)
    good = send(client, "hand.jpg", jpeg_bytes(800, 600, (40, 60, 90)))
    bad = send(client, "broken.jpg", CORRUPT_JPEG)

    before = client.get("/r/upload/status")
    assert before.status_code == 200
    assert before["Cache-Control"] == "no-store, private"
    assert [(f["id"], f["state"]) for f in before.json()["files"]] == [
        (good, "processing"),
        (bad, "processing"),
    ]

    file_process(file_id=good)
    file_process(file_id=bad)

    after = {f["id"]: f for f in client.get("/r/upload/status").json()["files"]}
    assert after[good]["state"] == "ready"
    assert after[good]["name"] == "hand.jpg"
    assert after[good]["thumbnailUrl"] == f"/r/upload/thumbnail/{good}"
    assert after[bad]["state"] == "rejected"
    assert "damaged or incomplete" in after[bad]["reason"]
    assert after[bad]["thumbnailUrl"] == ""
    assert File.objects.get(pk=bad).state == "rejected"


@pytest.mark.django_db
def test_thumbnail_is_served_only_to_the_session_that_sent_it(file_request, account):
    """GIVEN a photo sent and processed in one patient session
    WHEN that session, another session verified on the same link, a session of another
    request, and a browser with no session ask for its thumbnail
    THEN only the sending session gets the JPEG (audited as the patient link); the others
    get 404 or 403 and no bytes."""
    client = verified_client(file_request)
    file_id = send(client, "hand.jpg", jpeg_bytes(800, 600, (40, 60, 90)))
    file_process(file_id=file_id)
    url = f"/r/upload/thumbnail/{file_id}"

    own = client.get(url)
    assert own.status_code == 200
    thumbnail = Image.open(io.BytesIO(b"".join(own.streaming_content)))
    assert thumbnail.format == "JPEG"
    assert max(thumbnail.size) <= 512
    assert AuditEvent.objects.filter(
        action="file.download", target_id=str(file_id), actor_kind="patient_link"
    ).exists()

    same_link_other_phone = verified_client(file_request)
    assert same_link_other_phone.get(url).status_code == 404
    assert same_link_other_phone.get("/r/upload/status").json() == {"files": []}

    other_patient = PatientFactory(account=account, date_of_birth=DOB)
    other_request = FileRequestFactory(account=account, patient=other_patient)
    other = verified_client(other_request)
    assert other.get(url).status_code == 404
    assert other.get("/r/upload/status").json() == {"files": []}

    assert Client().get(url).status_code == 403
    assert Client().get("/r/upload/status").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/r/upload/thumbnail/00000000-0000-0000-0000-000000000000",
        "/r/upload/thumbnail/not-a-uuid",
        "/r/upload/thumbnail/../status",
        "/r/upload/thumbnail/%2e%2e",
    ],
)
def test_thumbnail_of_anything_else_is_not_found(file_request, path):
    """GIVEN a verified patient session
    WHEN it asks for a thumbnail by an id it never sent, or a malformed one
    THEN the answer is 404 and no bytes."""
    client = verified_client(file_request)
    response = client.get(path)
    assert response.status_code in (404, 403)
    assert b"\xff\xd8" not in response.content


@pytest.mark.django_db
def test_a_request_file_sent_from_elsewhere_is_not_listed(file_request):
    """GIVEN a file of the same request uploaded by another door (not this session)
    WHEN the patient's session polls the status
    THEN the file is not listed and its thumbnail is refused."""
    from files.services import file_create_from_stream

    elsewhere = file_create_from_stream(
        account=file_request.account,
        patient=file_request.patient,
        purpose="photo",
        original_name="from-staff.jpg",
        declared_type="image/jpeg",
        stream=[jpeg_bytes(400, 300, (1, 2, 3))],
        uploaded_by=None,
        file_request=file_request,
    )
    client = verified_client(file_request)
    assert client.get("/r/upload/status").json() == {"files": []}
    assert client.get(f"/r/upload/thumbnail/{elsewhere.id}").status_code == 404


@pytest.mark.django_db
def test_confirmation_shows_count_thumbnails_and_time_and_never_calls_a_rejected_photo_sent(
    file_request,
):
    """GIVEN a patient who sent two good photos and one corrupt one, all processed
    WHEN the confirmation page opens
    THEN it counts 2 sent, shows their two thumbnails through the session, gives the
    time, and lists the corrupt one under 'could not be used' with its reason and a way
    to send another; the page never says all photos were sent."""
    client = verified_client(file_request)
    ids = [
        send(client, "one.jpg", jpeg_bytes(800, 600, (40, 60, 90))),
        send(client, "two.jpg", jpeg_bytes(600, 800, (90, 60, 40))),
        send(client, "broken.jpg", CORRUPT_JPEG),
    ]
    for file_id in ids:
        file_process(file_id=file_id)

    page = client.get("/r/done")
    html = page.content.decode()
    assert page.status_code == 200
    assert "What the clinic has received" in html
    assert "have been sent" not in html
    assert "2 photos, sent at" in html
    assert html.count('class="sent__thumb"') == 2
    for file_id in ids[:2]:
        assert f'src="/r/upload/thumbnail/{file_id}"' in html
    assert f"/r/upload/thumbnail/{ids[2]}" not in html
    assert "Not sent: 1 photo could not be used" in html
    assert "broken.jpg" in html and "damaged or incomplete" in html
    assert "Send another photo" in html


@pytest.mark.django_db
def test_confirmation_when_every_photo_was_received(file_request):
    """GIVEN a patient whose one photo was received
    WHEN the confirmation opens
    THEN it thanks them for 1 photo, shows it, and says nothing else is needed."""
    client = verified_client(file_request)
    file_id = send(client, "one.jpg", jpeg_bytes(800, 600, (40, 60, 90)))
    file_process(file_id=file_id)

    html = client.get("/r/done").content.decode()
    assert "Thank you, your 1 photo has been sent" in html
    assert html.count('class="sent__thumb"') == 1
    assert "You do not need to do anything else" in html


@pytest.mark.django_db
def test_confirmation_while_photos_are_still_checked_does_not_say_sent(file_request):
    """GIVEN a patient whose photo has not been processed yet
    WHEN the confirmation opens
    THEN it says the photo is still being checked, and does not say it was sent."""
    client = verified_client(file_request)
    send(client, "one.jpg", jpeg_bytes(800, 600, (40, 60, 90)))

    html = client.get("/r/done").content.decode()
    assert "still being checked" in html
    assert "been sent" not in html
    assert 'data-checking="true"' in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("server_reason", "words"),
    [
        ("PDF files are not accepted here; only JPEG, PNG, WebP or HEIC photos are.", "PDF"),
        ("The file is damaged and cannot be read.", "damaged or incomplete"),
        ("This is a web page (HTML), not a photo or a document.", "web page"),
        ("This is an archive (ZIP, RAR, 7z, gzip or tar), which is not accepted.", "ZIP"),
        ("The file is empty.", "empty"),
        ("The uploaded file was not found; send it again.", "did not arrive"),
        ("The file is larger than the 25 MB allowed.", "too large"),
        ("The image is too large (30000x30000): at most 100 megapixels", "too large"),
        (
            "The file is not an image in a format we accept (JPEG, PNG, WebP or HEIC).",
            "damaged or incomplete",
        ),
        ("The image is damaged: its pixels cannot be decoded.", "damaged or incomplete"),
        ("Something nobody foresaw <b>bold</b>", GENERIC_REASON),
        ("", GENERIC_REASON),
    ],
)
def test_rejection_reasons_in_a_patients_words(server_reason, words):
    """GIVEN each kind of reason the processing gives
    WHEN it is told to the patient
    THEN it is in plain words that say what to do, and never echoes unknown text."""
    told = patient_reason(server_reason)
    assert words in told
    assert "<" not in told


def clinic_pages(client: Client, file_request) -> dict[str, str]:
    """Every patient page of one clinic's links: link, wrong date, upload, confirmation,
    and the pages for locked, expired and withdrawn links."""
    link = f"/r/{file_request.short_link_id}"
    pages = {"landing": client.get(link)}
    pages["wrong-date"] = client.post(link, {"day": "1", "month": "1", "year": "1990"})
    client.post(link, RIGHT)
    pages["upload"] = client.get("/r/upload")
    pages["done"] = client.get("/r/done")
    locked = FileRequestFactory(
        account=file_request.account,
        patient=file_request.patient,
        locked_until=timezone.now() + datetime.timedelta(minutes=20),
    )
    pages["locked"] = Client().get(f"/r/{locked.short_link_id}")
    expired = FileRequestFactory(
        account=file_request.account,
        patient=file_request.patient,
        short_link_expires_at=timezone.now() - datetime.timedelta(days=1),
    )
    pages["expired"] = Client().get(f"/r/{expired.short_link_id}")
    cancelled = FileRequestFactory(
        account=file_request.account, patient=file_request.patient, status="cancelled"
    )
    pages["cancelled"] = Client().get(f"/r/{cancelled.short_link_id}")
    return {name: response.content.decode() for name, response in pages.items()}


@pytest.mark.django_db
def test_every_page_shows_the_clinic_phone_tap_to_call_and_the_safety_line(file_request):
    """GIVEN a clinic with a phone number and its own safety line
    WHEN each patient page of its link is opened (including the error pages)
    THEN each shows the number as a tel: link, the clinic's safety line and the privacy
    sentence."""
    Account.objects.filter(pk=file_request.account_id).update(
        phone_number="+441174960000",
        patient_safety_line="Not for emergencies: call 999, or 111 for urgent advice.",
    )
    for name, html in clinic_pages(Client(), file_request).items():
        assert 'href="tel:+441174960000"' in html, name
        assert "0117 496 0000" in html, name
        assert "Not for emergencies: call 999, or 111 for urgent advice." in html, name
        assert "seen only by the people caring for you" in html, name


@pytest.mark.django_db
def test_without_settings_the_pages_show_the_default_line_and_no_number(file_request):
    """GIVEN a clinic with no phone number nor safety line set
    WHEN its pages are opened
    THEN each shows the GB default safety line, names the clinic, and has no tel: link."""
    for name, html in clinic_pages(Client(), file_request).items():
        assert GB_SAFETY_LINE in html, name
        assert 'href="tel:' not in html, name
        assert "Call Riverside Clinic" in html, name


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/r/AAAAAAAAAAAAAAAAAAAAAA", "/r/short", "/r/" + "x" * 80, "/r/upload", "/r/done"]
)
def test_pages_without_a_known_clinic_say_the_clinic_that_sent_the_link(file_request, path):
    """GIVEN a clinic with a phone number
    WHEN a link that is no request's is opened, or a page after the check without a
    session (timed out, or another browser)
    THEN the page has the default safety line, names no clinic and no number, and says
    to call the clinic that sent the link."""
    Account.objects.filter(pk=file_request.account_id).update(phone_number="+441174960000")
    html = Client().get(path).content.decode()
    assert GB_SAFETY_LINE in html
    assert "Riverside Clinic" not in html
    assert "tel:" not in html
    assert "Call the clinic that sent you the link" in html


@pytest.mark.django_db
def test_a_clinic_abroad_shows_its_number_in_international_form(file_request, settings):
    """GIVEN a clinic whose number is Irish while the portal reads numbers as British
    WHEN its link page opens
    THEN the number is shown in international form and dialled as E.164."""
    Account.objects.filter(pk=file_request.account_id).update(phone_number="+35312345678")
    html = Client().get(f"/r/{file_request.short_link_id}").content.decode()
    assert 'href="tel:+35312345678"' in html
    assert "+353 1 234 5678" in html


def safety_notice(html: str) -> str:
    """The text of the page's emergencies notice (the ``#safety-line`` aside)."""
    start = html.index('id="safety-line"')
    return html[start : html.index("</aside>", start)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "clinic_line",
    [
        "",
        "   ",
        "Not for emergencies: call 999, or 111 for urgent advice.",
        "For urgent dental pain ring us on 0117 496 0000 before 6pm.",
        "Use this page for anything urgent.",
        GB_SAFETY_LINE,
        "  " + GB_SAFETY_LINE.upper() + "  ",
    ],
    ids=["none", "blank", "own-wording", "extra-advice", "contradicting", "default", "shouted"],
)
def test_the_emergency_numbers_are_never_replaced_by_the_clinic_line(file_request, clinic_line):
    """GIVEN a clinic with or without a safety line of its own (whatever it says)
    WHEN each patient page of its link is opened, error pages included
    THEN the emergencies notice says "not for emergencies, call 999 or 111" exactly once,
    and the clinic's own line, when it has one, is there too."""
    Account.objects.filter(pk=file_request.account_id).update(patient_safety_line=clinic_line)
    own = clinic_line.strip()
    for name, html in clinic_pages(Client(), file_request).items():
        notice = safety_notice(html)
        assert notice.count(GB_SAFETY_LINE) == 1, (name, notice)
        if own and own.lower() != GB_SAFETY_LINE.lower():
            assert own in notice, (name, notice)
        assert notice.lower().count(GB_SAFETY_LINE.lower()) == 1, (name, notice)
