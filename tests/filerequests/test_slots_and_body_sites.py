"""Each photo a patient sends records the slot of the request's template it was taken
for; each file carries the request's body site, which staff can correct (audited)."""

from __future__ import annotations

import datetime
import io

import pytest
from django.test import Client

from filerequests.models import RequestTemplate
from filerequests.services import file_request_create
from files.body_sites import (
    BODY_SITES,
    SIDE_BY_KEY,
    BodySiteError,
    body_site_clean,
    body_site_label,
)
from files.models import File
from files.services import file_body_site_set
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from tests.support.patient_phone import jpeg_bytes

pytestmark = pytest.mark.django_db

DOB = datetime.date(1980, 6, 17)
RIGHT = {"day": "17", "month": "6", "year": "1980"}


def mole_request(account, staff, **extra):
    mole = RequestTemplate.objects.get(account=account, default_key="mole")
    return file_request_create(
        account=account,
        actor=Actor.for_staff(staff),
        type="photo",
        staff_name="Dr Who",
        staff_id=staff.id,
        patient_mobile="+447911123456",
        patient_date_of_birth=DOB,
        template_id=str(mole.id),
        **extra,
    )


def verified_client(file_request) -> Client:
    client = Client()
    assert client.post(f"/r/{file_request.short_link_id}", RIGHT).status_code == 302
    return client


def send(client: Client, name: str, **confirm_extra):
    """Ticket, storage post and confirm, as the page does; the confirmation's answer."""
    data = jpeg_bytes(320, 240, (120, 80, 60))
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
    assert client.post(ticket["url"], fields).status_code in (200, 201, 204)
    return client.post(
        "/r/upload/confirm",
        {"ticketId": ticket["ticketId"], **confirm_extra},
        content_type="application/json",
        **csrf,
    )


# --- Slots ------------------------------------------------------------------------------


def test_each_photo_records_the_slot_it_was_sent_for(account, staff):
    file_request = mole_request(account, staff)
    where, close_up = file_request.slots[0], file_request.slots[1]
    client = verified_client(file_request)
    first = send(client, "IMG_0001.jpg", slotId=where["id"])
    second = send(client, "IMG_0002.jpg", slotId=close_up["id"])
    extra = send(client, "IMG_0003.jpg")
    assert [a.status_code for a in (first, second, extra)] == [200, 200, 200]
    files = {f.original_name: f for f in File.objects.filter(file_request=file_request)}
    assert (files["IMG_0001.jpg"].slot_id, files["IMG_0001.jpg"].slot_label) == (
        where["id"],
        "Where it is",
    )
    assert files["IMG_0002.jpg"].slot_label == "Close-up"
    assert (files["IMG_0003.jpg"].slot_id, files["IMG_0003.jpg"].slot_label) == ("", "")


@pytest.mark.parametrize(
    "slot_id",
    [
        "not-a-slot",
        "00000000-0000-0000-0000-000000000000",
        "another template's",
        "another clinic's template slot",
        123,
        ["x"],
        {"id": "x"},
        "x" * 10_000,
    ],
)
def test_a_slot_not_of_this_request_is_refused_and_nothing_is_kept(
    account, other_account, staff, slot_id
):
    file_request = mole_request(account, staff)
    if slot_id == "another template's":
        rash = RequestTemplate.objects.get(account=account, default_key="rash")
        slot_id = str(rash.slots.first().id)
    elif slot_id == "another clinic's template slot":
        other = RequestTemplate.objects.get(account=other_account, default_key="mole")
        slot_id = str(other.slots.first().id)
    answer = send(verified_client(file_request), "IMG_0001.jpg", slotId=slot_id)
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        "This photo's step is not part of your request. Add the photo again."
    )
    assert not File.objects.filter(file_request=file_request).exists()


def test_a_request_without_a_template_takes_photos_as_before(account, staff):
    file_request = file_request_create(
        account=account,
        actor=Actor.for_staff(staff),
        type="photo",
        staff_name="Dr Who",
        staff_id=staff.id,
        patient_mobile="+447911123456",
        patient_date_of_birth=DOB,
        prompt="A photo of your hand, please.",
    )
    assert file_request.slots == []
    assert send(verified_client(file_request), "hand.jpg").status_code == 200
    assert send(verified_client(file_request), "hand.jpg", slotId="x").status_code == 400


def test_the_files_api_answers_the_slot_and_body_site(api, account, staff):
    file_request = mole_request(account, staff, body_site_code="14975008", body_site_side="right")
    send(verified_client(file_request), "IMG_0001.jpg", slotId=file_request.slots[1]["id"])
    body = api.get(f"/api/v1/file-requests/{file_request.id}").json()
    (sent,) = body["files"]
    assert sent["slotId"] == file_request.slots[1]["id"]
    assert sent["slotLabel"] == "Close-up"
    assert sent["bodySite"]["code"] == "14975008"
    assert sent["bodySite"]["label"] == "Right forearm"
    assert body["bodySite"]["laterality"] == "right"
    metadata = api.get(f"/api/v1/files/{sent['id']}/metadata")
    if metadata.status_code == 200:
        assert metadata.json()["bodySite"]["code"] == "14975008"
        assert metadata.json()["slotLabel"] == "Close-up"


# --- Body site on files -----------------------------------------------------------------


def test_a_file_takes_the_body_site_of_its_request(account, staff):
    file_request = mole_request(account, staff, body_site_code="43067004")
    send(verified_client(file_request), "scalp.jpg")
    file = File.objects.get(file_request=file_request)
    assert (file.body_site_code, file.body_site_side, file.body_site_label) == (
        "43067004",
        "",
        "Scalp",
    )


def test_staff_correct_a_files_body_site_and_the_change_is_audited(account, staff):
    file_request = mole_request(account, staff, body_site_code="14975008", body_site_side="left")
    send(verified_client(file_request), "arm.jpg")
    file = File.objects.get(file_request=file_request)
    file_body_site_set(file=file, actor=Actor.for_staff(staff), code="40983000", side="left")
    file.refresh_from_db()
    assert file.body_site_label == "Left upper arm"
    event = AuditEvent.objects.get(action="file.body_site_change", target_id=str(file.id))
    assert event.detail == {
        "from": {"code": "14975008", "side": "left"},
        "to": {"code": "40983000", "side": "left"},
    }
    assert event.actor_id == str(staff.id)
    # The same again changes nothing and is not audited twice.
    file_body_site_set(file=file, actor=Actor.for_staff(staff), code="40983000", side="left")
    assert AuditEvent.objects.filter(action="file.body_site_change").count() == 1


# --- The shipped list -----------------------------------------------------------------


def test_the_shipped_list_has_about_forty_sites_each_a_snomed_code_once():
    codes = [site.code for site in BODY_SITES]
    assert 40 <= len(codes) <= 50
    assert len(set(codes)) == len(codes)
    assert all(code.isdigit() and 6 <= len(code) <= 18 for code in codes)
    # SNOMED CT identifiers end in a partition identifier: 00 for a concept.
    assert all(code[-3:-1] == "00" for code in codes)
    assert all(site.source in ("CID 4029", "CID 4031") for site in BODY_SITES)
    laterality = {side.code for side in SIDE_BY_KEY.values()}
    assert laterality == {"7771000", "24028007", "51440002"}
    assert not laterality & set(codes)


def test_every_snomed_code_passes_its_verhoeff_check_digit():
    """SNOMED CT identifiers carry a Verhoeff check digit: a typo in the list fails it."""
    d = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ]
    p = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ]

    def valid(number: str) -> bool:
        check = 0
        for index, digit in enumerate(reversed(number)):
            check = d[check][p[index % 8][int(digit)]]
        return check == 0

    codes = [site.code for site in BODY_SITES] + [s.code for s in SIDE_BY_KEY.values()]
    assert [code for code in codes if not valid(code)] == []
    assert not valid("14975009")  # one digit off is caught


@pytest.mark.parametrize(
    ("code", "side", "field"),
    [
        ("123456", "", "code"),
        ("14975008x", "", "code"),
        ("7771000", "", "code"),
        (14975008, "", "code"),
        ("43067004", "left", "side"),
        ("14975008", "up", "side"),
        ("14975008", 1, "side"),
        ("", "left", "side"),
    ],
)
def test_a_body_site_outside_the_list_is_refused_naming_what(code, side, field):
    with pytest.raises(BodySiteError) as refused:
        body_site_clean(code, side)
    assert refused.value.field == field


def test_body_site_labels_read_as_words():
    assert body_site_label("14975008", "left") == "Left forearm"
    assert body_site_label("16982005", "both") == "Shoulder, both sides"
    assert body_site_label("43067004") == "Scalp"
    assert body_site_label("") == ""
    assert body_site_clean(" 14975008 ", " Right ") == ("14975008", "right")


def test_the_integrators_list_in_docs_names_every_site_with_its_code():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "body-sites.md").read_text()
    rows = [line for line in doc.splitlines() if line.startswith("| `")]
    listed = {line.split("`")[1]: line for line in rows}
    for site in BODY_SITES:
        assert site.code in listed, site
        assert f"| {site.label} | {site.display} |" in listed[site.code]
    assert len(listed) == len(BODY_SITES) + len(SIDE_BY_KEY)


def test_the_patient_page_shows_one_card_per_step_in_order(account, staff):
    file_request = mole_request(account, staff)
    html = verified_client(file_request).get("/r/upload").content.decode()
    positions = [html.index(f'data-slot-label="{slot["label"]}"') for slot in file_request.slots]
    assert positions == sorted(positions) and len(positions) == 4
    assert "Close-up with a coin beside it for size." in html
    assert html.count('class="slot-art"') == 4  # a small drawing for each shipped step
    assert "Add another photo" in html
    assert 'aria-label="Take this photo: From the side"' in html


def test_a_request_without_steps_shows_no_cards(account, staff):
    file_request = file_request_create(
        account=account,
        actor=Actor.for_staff(staff),
        type="photo",
        staff_name="Dr Who",
        staff_id=staff.id,
        patient_mobile="+447911123456",
        patient_date_of_birth=DOB,
        prompt="A photo of your hand, please.",
    )
    html = verified_client(file_request).get("/r/upload").content.decode()
    assert 'id="slots"' not in html and "slots.js" not in html
    assert "Add photos" in html
