"""Compare over time: the choice of photos (the earliest and latest of one place and
step by default), the comparison page, the record grouped by body site, photos named by
their step and date, and a photo's body site corrected; another clinic's are 404."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from django.utils import timezone

from dashboard.compare import default_choice
from files.models import File
from files.pipeline.processing import file_process
from files.services import file_create_from_stream
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from tests.factories import FileRequestFactory, PatientFactory
from tests.support.patient_phone import jpeg_bytes

FOREARM, SCALP = "14975008", "43067004"
DAY = dt.datetime(2026, 6, 6, 10, 0, tzinfo=dt.UTC)


def photo(days: int, site: str = "", side: str = "", slot: str = "") -> File:
    """A photo as the choice sees it (no bytes needed): taken ``days`` after DAY."""
    return File(
        id=uuid.uuid4(),
        created_at=DAY + dt.timedelta(days=days),
        body_site_code=site,
        body_site_side=side,
        slot_label=slot,
    )


# --- The choice ------------------------------------------------------------------------


def test_default_is_the_earliest_and_latest_of_the_same_site_side_and_step():
    first = photo(0, FOREARM, "left", "Close-up")
    middle = photo(30, FOREARM, "left", "Close-up")
    latest = photo(60, FOREARM, "left", "Close-up")
    other_side = photo(90, FOREARM, "right", "Close-up")
    other_step = photo(91, FOREARM, "left", "Where it is")
    scalp = photo(5, SCALP, "", "Close-up")
    photos = [other_side, scalp, latest, first, other_step, middle]
    assert default_choice(photos) == [first, latest]


def test_the_place_photographed_most_recently_more_than_once_is_chosen():
    old_a, old_b = photo(0, SCALP, slot="Close-up"), photo(10, SCALP, slot="Close-up")
    new_a, new_b = photo(20, FOREARM, "left", "Close-up"), photo(40, FOREARM, "left", "Close-up")
    single = photo(50, FOREARM, "right", "Close-up")
    assert default_choice([old_a, old_b, new_a, new_b, single]) == [new_a, new_b]


def test_a_coded_body_site_comes_before_photos_with_none():
    coded = [photo(0, SCALP, slot="Close-up"), photo(10, SCALP, slot="Close-up")]
    uncoded = [photo(20, slot="Close-up"), photo(30, slot="Close-up")]
    assert default_choice(coded + uncoded) == coded


def test_the_same_site_with_other_steps_when_no_step_repeats():
    where, close = photo(0, FOREARM, "left", "Where it is"), photo(40, FOREARM, "left", "Close-up")
    assert default_choice([where, close, photo(50, SCALP)]) == [where, close]


def test_photos_with_neither_site_nor_step_fall_back_to_the_two_latest():
    a, b, c = photo(0), photo(10), photo(20)
    assert default_choice([b, c, a]) == [b, c]


def test_around_a_photo_it_is_shown_with_the_earliest_of_its_place_and_step():
    first = photo(0, FOREARM, "left", "Close-up")
    opened = photo(30, FOREARM, "left", "Close-up")
    latest = photo(60, FOREARM, "left", "Close-up")
    assert default_choice([first, opened, latest], around=opened) == [first, opened]
    assert default_choice([first, opened, latest], around=first) == [first, latest]


def test_around_a_photo_with_nothing_like_it_the_nearest_in_time_is_beside_it():
    opened, near, far = photo(30, SCALP), photo(25, FOREARM), photo(90, FOREARM)
    assert default_choice([opened, near, far], around=opened) == [near, opened]


@pytest.mark.parametrize("count", [0, 1])
def test_fewer_than_two_photos_are_shown_as_they_are(count):
    photos = [photo(0, SCALP)][:count]
    assert default_choice(photos) == photos


# --- The pages ---------------------------------------------------------------------------


def ready_photo(account, patient, *, days_ago: int, site="", side="", slot="", name="IMG.jpg"):
    file = file_create_from_stream(
        account=account,
        patient=patient,
        purpose="photo",
        original_name=name,
        declared_type="image/jpeg",
        stream=io.BytesIO(jpeg_bytes(160, 120, (150, 90, 70))),
        uploaded_by=Actor.system(),
    )
    file = file_process(file_id=file.pk)
    File.objects.filter(pk=file.pk).update(
        created_at=timezone.now() - dt.timedelta(days=days_ago),
        body_site_code=site,
        body_site_side=side,
        slot_label=slot,
    )
    return File.objects.get(pk=file.pk)


@pytest.fixture
def mole_history(db, account):
    patient = PatientFactory(account=account)
    return patient, [
        ready_photo(
            account,
            patient,
            days_ago=60,
            site=FOREARM,
            side="left",
            slot="Close-up",
            name="IMG_0001.jpg",
        ),
        ready_photo(
            account,
            patient,
            days_ago=30,
            site=FOREARM,
            side="left",
            slot="Close-up",
            name="IMG_0002.jpg",
        ),
        ready_photo(
            account,
            patient,
            days_ago=1,
            site=FOREARM,
            side="left",
            slot="Close-up",
            name="IMG_0003.jpg",
        ),
        ready_photo(
            account, patient, days_ago=2, site=SCALP, slot="Where it is", name="IMG_0004.jpg"
        ),
    ]


def shown(page) -> list[str]:
    html = page.content.decode()
    return [part.split('"')[0] for part in html.split('data-file-id="')[1:]]


@pytest.mark.django_db
def test_the_comparison_opens_on_the_earliest_and_latest_of_one_place(
    clinician_client, mole_history
):
    patient, (first, _middle, latest, _scalp) = mole_history
    page = clinician_client.get(f"/patients/{patient.id}/compare/")
    assert page.status_code == 200
    assert shown(page) == [str(first.id), str(latest.id)]
    html = page.content.decode()
    assert "Left forearm" in html and "Close-up" in html
    assert "IMG_0001.jpg" in html  # the phone's name, as a detail
    assert html.count('class="compare-viewport" tabindex="0"') == 2


@pytest.mark.django_db
def test_staff_choose_up_to_four_photos_and_foreign_ids_are_left_out(
    clinician_client, mole_history, other_account
):
    patient, photos = mole_history
    stranger = ready_photo(other_account, PatientFactory(account=other_account), days_ago=3)
    ids = [photos[3].id, photos[0].id, stranger.id, "not-an-id", photos[1].id, photos[2].id]
    query = "&".join(f"files={i}" for i in ids)
    page = clinician_client.get(f"/patients/{patient.id}/compare/?{query}")
    assert shown(page) == [str(photos[i].id) for i in (3, 0, 1, 2)]
    assert str(stranger.id) not in page.content.decode()


@pytest.mark.django_db
def test_another_clinics_patient_is_not_found(clinician_client, other_account):
    stranger = PatientFactory(account=other_account)
    assert clinician_client.get(f"/patients/{stranger.id}/compare/").status_code == 404
    assert clinician_client.get("/patients/not-an-id/compare/").status_code == 404


@pytest.mark.django_db
def test_the_record_groups_photos_by_body_site_named_by_step_and_date(
    clinician_client, mole_history
):
    patient, (first, *_rest) = mole_history
    html = clinician_client.get(f"/patients/{patient.id}/attachments/?group=site").content.decode()
    assert html.index(">Left forearm</h3>") < html.index(">Scalp</h3>")
    day = timezone.localtime(first.created_at, patient.account.zone)  # as the clinic reads it
    assert f"Close-up, {day.day} {day:%b %Y}" in html
    assert "IMG_0001.jpg" in html
    assert f"/patients/{patient.id}/compare/?around={first.id}" in html
    assert 'width="160" height="160"' in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("time_zone", "dated"), [("Europe/London", "2 Jul 2026"), ("America/New_York", "1 Jul 2026")]
)
def test_photos_are_dated_by_the_clinics_calendar_not_utcs(
    clinician_client, account, time_zone, dated
):
    """A photo sent at half past midnight on a London summer night (still 1 July in UTC and
    in New York) is named by the day where the clinic is, in the record and on the
    comparison."""
    type(account).objects.filter(pk=account.pk).update(time_zone=time_zone)
    patient = PatientFactory(account=account)
    photo = ready_photo(account, patient, days_ago=0, site=FOREARM, side="left", slot="Close-up")
    File.objects.filter(pk=photo.pk).update(
        created_at=dt.datetime(2026, 7, 1, 23, 30, tzinfo=dt.UTC)
    )
    record = clinician_client.get(f"/patients/{patient.id}/attachments/?group=site")
    assert f"Close-up, {dated}" in record.content.decode()
    earlier = ready_photo(account, patient, days_ago=400, site=FOREARM, side="left")
    compare = clinician_client.get(
        f"/patients/{patient.id}/compare/?files={earlier.id}&files={photo.id}"
    )
    assert f'<p class="compare-title">Close-up, {dated}</p>' in compare.content.decode()


@pytest.mark.django_db
def test_staff_correct_a_photos_body_site_from_the_record(
    clinician_client, clinician, mole_history
):
    patient, (first, *_rest) = mole_history
    answer = clinician_client.post(
        f"/patients/{patient.id}/files/{first.id}/body-site/",
        {"body_site": "Left upper arm", "next": "https://evil.example/"},
    )
    assert answer.status_code == 302 and answer["Location"] == f"/patients/{patient.id}/"
    first.refresh_from_db()
    assert first.body_site_label == "Left upper arm"
    event = AuditEvent.objects.get(action="file.body_site_change")
    assert event.actor_id == str(clinician.id)
    refused = clinician_client.post(
        f"/patients/{patient.id}/files/{first.id}/body-site/", {"body_site": "Left nowhere"}
    )
    assert refused.status_code == 302
    first.refresh_from_db()
    assert first.body_site_label == "Left upper arm"


@pytest.mark.django_db
@pytest.mark.parametrize("whose", ["another clinic's file", "another patient's file"])
def test_another_clinics_or_patients_photo_cannot_be_corrected(
    clinician_client, account, other_account, mole_history, whose
):
    patient, _photos = mole_history
    if whose == "another clinic's file":
        stranger = ready_photo(other_account, PatientFactory(account=other_account), days_ago=3)
        url = f"/patients/{patient.id}/files/{stranger.id}/body-site/"
    else:
        stranger = ready_photo(account, PatientFactory(account=account), days_ago=3)
        url = f"/patients/{patient.id}/files/{stranger.id}/body-site/"
    assert clinician_client.post(url, {"body_site": "Scalp"}).status_code == 404
    stranger.refresh_from_db()
    assert stranger.body_site_code == ""


@pytest.mark.django_db
def test_the_request_page_names_photos_by_step_and_shows_the_body_site(clinician_client, account):
    patient = PatientFactory(account=account)
    request = FileRequestFactory(account=account, patient=patient)
    file = ready_photo(account, patient, days_ago=0, site=SCALP, slot="Close-up", name="IMG_9.jpg")
    File.objects.filter(pk=file.pk).update(file_request=request)
    html = clinician_client.get(f"/file-requests/{request.id}/").content.decode()
    day = timezone.localtime(file.created_at, account.zone)
    assert f"Close-up, {day.day} {day:%b %Y}" in html
    assert "Scalp" in html and "IMG_9.jpg" in html


@pytest.mark.django_db
def test_a_third_photo_can_be_added_and_a_fifth_cannot(clinician_client, mole_history):
    patient, photos = mole_history
    two = "&".join(f"files={p.id}" for p in photos[:2])
    html = clinician_client.get(f"/patients/{patient.id}/compare/?{two}").content.decode()
    assert 'name="add" value="1"' in html
    adding = clinician_client.get(f"/patients/{patient.id}/compare/?{two}&add=1")
    assert 'for="compare-photo-new">Photo 3</label>' in adding.content.decode()
    four = "&".join(f"files={p.id}" for p in photos)
    full = clinician_client.get(f"/patients/{patient.id}/compare/?{four}&add=1")
    assert len(shown(full)) == 4
    assert 'name="add" value="1"' not in full.content.decode()
    assert "compare-photo-new" not in full.content.decode()


@pytest.mark.django_db
def test_each_photo_says_when_it_was_taken_in_the_clinic_zone(clinician_client, account):
    """GIVEN two photos taken on either side of October's clock change (London)
    WHEN the comparison shows them THEN each time is London's and names its zone."""
    patient = PatientFactory(account=account)
    summer, winter = (ready_photo(account, patient, days_ago=days) for days in (2, 1))
    File.objects.filter(pk=summer.pk).update(
        created_at=dt.datetime(2026, 10, 24, 13, 5, tzinfo=dt.UTC)
    )
    File.objects.filter(pk=winter.pk).update(
        created_at=dt.datetime(2026, 10, 26, 13, 5, tzinfo=dt.UTC)
    )
    html = clinician_client.get(f"/patients/{patient.id}/compare/").content.decode()
    assert "24 Oct 2026, 14:05 BST" in html
    assert "26 Oct 2026, 13:05 GMT" in html
