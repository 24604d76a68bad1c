"""The audit log in Chromium: a practice manager filters it to one patient, exports the
view as CSV, and the downloaded file reads back with that patient's events in words."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.audit.models import AuditEvent
from portal.audit.services import Actor, audit_record
from tests.dashboard.browsing import sign_in_with_code
from tests.support.browser import DESKTOP, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_audit_export_is_downloaded_and_reads_back(live_server, open_page, clinic):
    account, admin = clinic["account"], clinic["admin"]
    priya, tomasz = clinic["patients"][2], clinic["patients"][3]
    actor = Actor.for_staff(admin)
    audit_record(account=account, actor=actor, action="patient.update", target=priya)
    audit_record(account=account, actor=actor, action="patient.update", target=tomasz)
    base = live_server.url
    page = open_page(DESKTOP)
    sign_in_with_code(page, base, clinic)
    page.goto(f"{base}/settings/audit/")
    page.get_by_label("Patient").fill("Priya Shah")
    page.get_by_label("What happened").select_option(label="Changed a patient's details")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("audit-row")).to_have_count(1)
    expect(page.get_by_test_id("patients-matched")).to_contain_text("Priya Shah")
    screenshot(page, "audit-filtered-desktop")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export these 1 event (CSV)").click()
    download = download_info.value
    assert download.suggested_filename.startswith("audit-log-")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[3] == "What happened" and header[7] == "Patient"
    assert len(rows) == 1
    assert rows[0][3] == "Changed a patient's details"
    assert rows[0][6] == "Priya Shah" and rows[0][7] == "Priya Shah"
    assert rows[0][1] == "Dr Ada Lovelace"
    export = AuditEvent.objects.get(action="audit_log.export")
    assert export.detail["rows"] == 1
    page.goto(f"{base}/settings/audit/")
    expect(page.get_by_test_id("audit-row").first).to_contain_text("Exported the audit log")
