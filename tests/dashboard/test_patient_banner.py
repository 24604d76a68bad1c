"""The patient banner on every staff page about one patient or their files (the record,
its edit page, a file request, the file viewer, each inbox row), and the warning when
another patient of the clinic born the same year has a name one letter away."""

from __future__ import annotations

import datetime
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from filerequests.models import FileRequest
from portal.patients.selectors import patients_with_similar_names, within_one_edit
from tests.dashboard.test_review import sent_file
from tests.factories import FileRequestFactory, PatientFactory

pytestmark = pytest.mark.django_db

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


class Banners(HTMLParser):
    """Each element marked ``data-testid="patient-banner"``: its text (spaces collapsed),
    the hrefs of its links, and the ids and test ids of the elements around it."""

    def __init__(self, html: str):
        super().__init__()
        self.stack: list[dict] = []
        self.found: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in VOID:
            return
        node = {"tag": tag, "attrs": attrs}
        if attrs.get("data-testid") == "patient-banner":
            node["banner"] = {
                "text": [],
                "links": [],
                "within": {a.get("id") or a.get("data-testid") for a in self.attrs_open()},
            }
            self.found.append(node["banner"])
        if tag == "a":
            for open_node in self.open_banners():
                open_node["links"].append(attrs.get("href"))
        self.stack.append(node)

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for banner in self.open_banners():
            banner["text"].append(data)

    def attrs_open(self):
        return [node["attrs"] for node in self.stack]

    def open_banners(self):
        return [node["banner"] for node in self.stack if "banner" in node]

    def texts(self) -> list[str]:
        return [" ".join("".join(banner["text"]).split()) for banner in self.found]


def banners(response) -> Banners:
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert "{#" not in html and "{%" not in html, "template syntax shown on the page"
    return Banners(html)


def age_years(born: datetime.date, account) -> int:
    """The age on the clinic's today, as its pages count it."""
    today = timezone.localdate(timezone=account.zone)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@pytest.fixture
def thompson(account):
    return PatientFactory(
        account=account,
        first_name="Margaret",
        last_name="Thompson",
        date_of_birth=datetime.date(1948, 3, 3),
        nhs_number="9434765919",
    )


@pytest.fixture
def thompson_banner(thompson) -> str:
    age = age_years(thompson.date_of_birth, thompson.account)
    return f"THOMPSON, Margaret Born 3-Mar-1948 ({age}y) NHS No. 943 476 5919"


# --- Content on each page ---------------------------------------------------------------


def test_the_record_carries_the_banner(clinician_client, thompson, thompson_banner):
    """GIVEN Margaret Thompson with an NHS number WHEN her record is opened THEN its banner
    reads family name first in capitals, date of birth with age, NHS number; the file
    viewer on the page carries it too."""
    found = banners(clinician_client.get(f"/patients/{thompson.id}/"))
    texts = found.texts()
    assert texts[0] == thompson_banner
    assert texts[1:] == [thompson_banner]  # the viewer's
    assert "viewer" in found.found[1]["within"]


def test_the_record_edit_page_carries_the_banner(clinician_client, thompson, thompson_banner):
    found = banners(clinician_client.get(f"/patients/{thompson.id}/edit/"))
    assert found.texts() == [thompson_banner]
    assert found.found[0]["links"] == [f"/patients/{thompson.id}/"]


def test_the_request_form_for_a_patient_carries_the_banner(
    clinician_client, thompson, thompson_banner
):
    found = banners(clinician_client.get(f"/file-requests/new/?patient={thompson.id}"))
    assert found.texts() == [thompson_banner]


def test_a_file_request_page_and_its_viewer_carry_the_banner(
    clinician_client, account, thompson, thompson_banner
):
    """GIVEN a request to Margaret Thompson WHEN its page is opened THEN the banner heads
    the page and the file viewer, each naming her and linking to her record."""
    file_request = FileRequestFactory(account=account, patient=thompson)
    found = banners(clinician_client.get(f"/file-requests/{file_request.id}/"))
    assert found.texts() == [thompson_banner, thompson_banner]
    page, viewer = found.found
    assert "viewer" not in page["within"] and "viewer" in viewer["within"]
    assert page["links"] == viewer["links"] == [f"/patients/{thompson.id}/"]


def test_each_inbox_row_carries_its_patients_banner(
    clinician_client, account, thompson, thompson_banner
):
    """GIVEN photos waiting from Margaret Thompson and from a patient without an NHS number
    WHEN the inbox is opened THEN each row has its patient's banner, linking to the
    request; no NHS number is shown where none is known."""
    infant = PatientFactory(
        account=account,
        first_name="Ava",
        last_name="Jones",
        date_of_birth=timezone.localdate() - datetime.timedelta(days=40),
    )
    rows = {}
    for patient in (thompson, infant):
        file_request = FileRequestFactory(account=account, patient=patient)
        sent_file(file_request)
        FileRequest.objects.filter(pk=file_request.pk).update(status=FileRequest.Status.ANSWERED)
        rows[patient.pk] = file_request
    found = banners(clinician_client.get("/inbox/"))
    by_row = {
        next(w for w in banner["within"] if w and w.startswith("inbox-")): (text, banner)
        for text, banner in zip(found.texts(), found.found, strict=True)
    }
    text, banner = by_row[f"inbox-{rows[thompson.pk].id}"]
    assert text == thompson_banner
    assert banner["links"] == [f"/file-requests/{rows[thompson.pk].id}/"]
    text, banner = by_row[f"inbox-{rows[infant.pk].id}"]
    assert text == "JONES, Ava Born {} (1m)".format(infant.date_of_birth.strftime("%-d-%b-%Y"))
    assert "NHS No." not in text


@pytest.mark.parametrize(
    ("first_name", "last_name", "name"),
    [
        ("Margaret", "", "Margaret"),
        ("", "Thompson", "THOMPSON"),
        ("Margaret", "de la Cruz", "DE LA CRUZ, Margaret"),
    ],
)
def test_a_name_in_one_part_reads_as_it_is(clinician_client, account, first_name, last_name, name):
    patient = PatientFactory(account=account, first_name=first_name, last_name=last_name)
    text = banners(clinician_client.get(f"/patients/{patient.id}/")).texts()[0]
    assert text.startswith(f"{name} Born ")


def test_ages_as_nhs_banners_write_them():
    from dashboard.templatetags.portal_ui import age_short

    today = timezone.localdate()
    assert age_short(today.replace(year=today.year - 78)) == "78y"
    assert age_short(today.replace(year=today.year - 2)) == "2y"
    assert age_short(today - datetime.timedelta(days=400)) == "13m"
    assert age_short(today - datetime.timedelta(days=12)) == "12d"
    assert age_short(today) == "0d"


# --- Similar names ----------------------------------------------------------------------


def similar_warning(response) -> str:
    found = banners(response)
    return found.texts()[0].partition("Born")[2]


@pytest.mark.parametrize(
    ("first_name", "last_name", "born", "flagged"),
    [
        ("Margaret", "Thomson", datetime.date(1948, 11, 20), True),  # one letter out
        ("margaret", "THOMSON", datetime.date(1948, 1, 1), True),  # whatever the case
        ("Margaret", "Thompsen", datetime.date(1948, 6, 1), True),  # one letter changed
        ("Margaret", "Thompsonn", datetime.date(1948, 6, 1), True),  # one letter more
        ("Margaret", "Thompson", datetime.date(1948, 9, 9), True),  # the same name
        ("Margaret", "Thomson", datetime.date(1952, 3, 3), False),  # another birth year
        ("Margaret", "Thomsen", datetime.date(1948, 3, 3), False),  # two letters out
        ("Margret", "Thomson", datetime.date(1948, 3, 3), False),  # one in each name
        ("Marg", "Thompson", datetime.date(1948, 3, 3), False),
        ("", "Margaret Thompson", datetime.date(1948, 3, 3), True),  # same letters
    ],
)
def test_a_similar_name_of_the_same_birth_year_is_flagged_on_the_request_and_record(
    clinician_client, account, thompson, first_name, last_name, born, flagged
):
    """GIVEN Margaret Thompson (1948) and another patient of the clinic WHEN her request
    page and record are opened THEN they warn of the other, linked, exactly when the two
    share a birth year and their full names are at most one letter apart (any case)."""
    other = PatientFactory(
        account=account, first_name=first_name, last_name=last_name, date_of_birth=born
    )
    file_request = FileRequestFactory(account=account, patient=thompson)
    expected = (
        f"Another patient has a similar name: {other.name_family_first}, "
        f"born {born.strftime('%-d-%b-%Y')}"
    )
    for url in (f"/file-requests/{file_request.id}/", f"/patients/{thompson.id}/"):
        response = clinician_client.get(url)
        found = banners(response)
        assert (expected in found.texts()[0]) is flagged, (url, found.texts()[0])
        assert (f"/patients/{other.id}/" in found.found[0]["links"]) is flagged
        # The viewer's banner stays short.
        assert "similar name" not in found.texts()[1]


def test_thompson_and_thomson_of_the_issue(clinician_client, account, thompson):
    """GIVEN Margaret Thomson, also born 1948, with an NHS number WHEN Margaret Thompson's
    request is opened THEN it reads 'Another patient has a similar name: THOMSON,
    Margaret, born ...' with her NHS number, linking to her record; and the other way."""
    thomson = PatientFactory(
        account=account,
        first_name="Margaret",
        last_name="Thomson",
        date_of_birth=datetime.date(1948, 7, 12),
        nhs_number="4010232137",
    )
    file_request = FileRequestFactory(account=account, patient=thompson)
    text = banners(clinician_client.get(f"/file-requests/{file_request.id}/")).texts()[0]
    assert text.endswith(
        "Another patient has a similar name: THOMSON, Margaret, born 12-Jul-1948, "
        "NHS No. 401 023 2137"
    )
    text = banners(clinician_client.get(f"/patients/{thomson.id}/")).texts()[0]
    assert text.endswith(
        "Another patient has a similar name: THOMPSON, Margaret, born 3-Mar-1948, "
        "NHS No. 943 476 5919"
    )


def test_another_clinics_patient_is_never_flagged(clinician_client, account, other_account):
    thompson = PatientFactory(
        account=account,
        first_name="Margaret",
        last_name="Thompson",
        date_of_birth=datetime.date(1948, 3, 3),
    )
    PatientFactory(
        account=other_account,
        first_name="Margaret",
        last_name="Thomson",
        date_of_birth=datetime.date(1948, 3, 3),
    )
    assert patients_with_similar_names(patient=thompson) == []
    text = banners(clinician_client.get(f"/patients/{thompson.id}/")).texts()[0]
    assert "similar name" not in text


@pytest.mark.parametrize(
    ("a", "b", "close"),
    [
        ("thompson", "thomson", True),
        ("thomson", "thompson", True),
        ("thompson", "thompson", True),
        ("thompson", "thompsen", True),
        ("thompson", "hompson", True),
        ("thompson", "thompso", True),
        ("thompson", "thomsen", False),
        ("thompson", "tohmpson", False),  # a swap is two edits
        ("abc", "abcde", False),
        ("", "a", True),
        ("", "ab", False),
    ],
)
def test_one_edit_apart(a, b, close):
    assert within_one_edit(a, b) is close


def test_the_check_is_one_query_however_many_share_the_birth_year(account, thompson):
    """GIVEN a clinic with many patients born the same year WHEN the similar names are
    looked for THEN one query answers, and only names within a letter's length are read."""
    for index in range(60):
        PatientFactory(
            account=account,
            first_name="M" * (index % 15 + 1),
            last_name="Jones",
            date_of_birth=datetime.date(1948, 5, 5),
        )
    PatientFactory(
        account=account,
        first_name="Margaret",
        last_name="Thomson",
        date_of_birth=datetime.date(1948, 5, 5),
    )
    with CaptureQueriesContext(connection) as captured:
        similar = patients_with_similar_names(patient=thompson)
    assert [patient.last_name for patient in similar] == ["Thomson"]
    assert len(captured.captured_queries) == 1
    sql = captured.captured_queries[0]["sql"].upper()
    assert "LENGTH" in sql and "DATE_OF_BIRTH" in sql
