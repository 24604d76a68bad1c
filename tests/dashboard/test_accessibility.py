"""axe-core (WCAG 2.2 A/AA and best practice) on every dashboard and admin page at
desktop, tablet and phone width: zero serious or critical violations. The results table
is written to tests/artifacts/axe-dashboard.md; screenshots of each page at each width to
tests/artifacts/screenshots/a11y-*.png. Also the keyboard and zoom checks:
the error summary takes focus and links to fields that exist, the role drop-down does
not act on an arrow key, the upload shows focus, and at 200% zoom on a phone nothing
scrolls sideways."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from filerequests.models import FileRequest
from portal.accounts.models import Staff
from portal.audit.services import Actor
from portal.patients.services import patient_create
from tests.dashboard.browsing import sign_in_with_code
from tests.dashboard.conftest import PASSWORD, confirmed_device_for, current_code
from tests.dashboard.showcase import answered_request, everything_for, gallery_for, webhooks_for
from tests.factories import FileRequestFactory, UserFactory
from tests.support.artifacts import ARTIFACTS_DIR, merge_into_json
from tests.support.axe import axe_on_every_page, axe_violations, describe
from tests.support.browser import DESKTOP, PHONE, TABLET, console_errors, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHAPES = {"desktop": DESKTOP, "tablet": TABLET, "phone": PHONE}
SERIOUS = {"serious", "critical"}
REPORT = ARTIFACTS_DIR / "axe-dashboard.md"
RESULTS_KEPT = ARTIFACTS_DIR / "axe-dashboard.json"
RESULTS: dict[tuple[str, str], list[dict]] = {}


def dashboard_pages(clinic) -> dict[str, str]:
    account, admin_staff = clinic["account"], clinic["admin"]
    amelia, oliver, priya = clinic["patients"][0], clinic["patients"][1], clinic["patients"][2]
    gallery_for(account=account, patient=amelia)
    answered = answered_request(account=account, staff=admin_staff, patient=priya)
    _healthy, failing = webhooks_for(account=account, staff=admin_staff)
    locked = FileRequestFactory(
        account=account,
        patient=oliver,
        staff=admin_staff,
        lockout_count=1,
        locked_until=timezone.now() + datetime.timedelta(minutes=25),
    )
    return {
        "patients": "/patients/",
        "patient-record": f"/patients/{amelia.id}/",
        "patient-record-by-request": f"/patients/{priya.id}/?group=request",
        "patient-record-by-body-site": f"/patients/{amelia.id}/?group=site",
        "patient-compare": f"/patients/{amelia.id}/compare/",
        "patient-new": "/patients/new/",
        "patient-edit": f"/patients/{amelia.id}/edit/",
        "file-requests": "/file-requests/",
        "file-request-new": "/file-requests/new/",
        "file-request-answered": f"/file-requests/{answered.id}/",
        "file-request-locked": f"/file-requests/{locked.id}/",
        "follow-up": f"/file-requests/{answered.id}/follow-up/",
        "review": f"/file-requests/{answered.id}/review/",
        "inbox": "/inbox/",
        "notifications": "/account/notifications/",
        "security": "/security/",
        "settings": "/settings/",
        "api-keys": "/settings/api-keys/",
        "clinic": "/settings/clinic/",
        "request-templates": "/settings/request-templates/",
        "reply-texts": "/settings/reply-texts/",
        "staff": "/settings/staff/",
        "audit": "/settings/audit/",
        "audit-filtered": f"/settings/audit/?patient={priya.first_name}",
        "webhooks": "/settings/webhooks/",
        "webhook-failing": f"/settings/webhooks/{failing.id}/",
    }


def check(page, shape: str, name: str) -> None:
    """Run axe on the page as it is; the test asserts on all pages at its end."""
    RESULTS[(name, shape)] = axe_violations(page)


def assert_none_serious(shape: str) -> None:
    found = {
        name: [v for v in violations if v["impact"] in SERIOUS]
        for (name, at), violations in RESULTS.items()
        if at == shape
    }
    problems = "\n".join(
        f"{name}:\n{describe(serious)}" for name, serious in found.items() if serious
    )
    assert not problems, f"at {shape}:\n{problems}"


def write_report() -> None:
    """The table of every scan this run made: each worker adds the scans it ran to the
    kept results (the three widths often run in three workers), and the table is drawn
    from all of them."""
    kept = merge_into_json(
        RESULTS_KEPT, {f"{name}|{shape}": found for (name, shape), found in RESULTS.items()}
    )
    scans = {tuple(key.split("|")): found for key, found in kept.items()}
    names = sorted({name for name, _ in scans})
    lines = [
        "# axe-core on the dashboard and admin (WCAG 2.2 A/AA + best practice)",
        "",
        "Serious + critical / all violations, per page and width.",
        "",
        "| page | desktop | tablet | phone |",
        "| --- | --- | --- | --- |",
    ]
    for name in names:
        cells = []
        for shape in SHAPES:
            found = scans.get((name, shape))
            if found is None:
                cells.append("")
                continue
            serious = sum(1 for v in found if v["impact"] in SERIOUS)
            rules = ", ".join(sorted({v["id"] for v in found})) or "none"
            cells.append(f"{serious} / {len(found)} ({rules})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    REPORT.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_dashboard_page_has_no_serious_axe_violation(live_server, open_page, clinic, shape):
    pages = dashboard_pages(clinic)
    page = open_page(SHAPES[shape])
    axe_on_every_page(page)
    errors = console_errors(page)
    base = live_server.url
    sign_in_with_code(page, base, clinic)
    check(page, shape, "patients")
    for name, path in pages.items():
        response = page.goto(f"{base}{path}")
        assert response.status == 200, (name, response.status)
        check(page, shape, name)
        screenshot(page, f"a11y-{name}-{shape}")
    # A form sent back with errors, and the user menu opened.
    page.goto(f"{base}/patients/new/")
    page.get_by_role("button", name="Add patient").click()
    expect(page.locator(".error-summary")).to_be_visible()
    check(page, shape, "patient-new-errors")
    screenshot(page, f"a11y-patient-new-errors-{shape}")
    page.locator("details.user-menu summary").click()
    check(page, shape, "user-menu-open")
    write_report()
    assert_none_serious(shape)
    assert not errors, errors


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_admin_page_has_no_serious_axe_violation(live_server, open_page, clinic, shape):
    account = clinic["account"]
    staff = Staff.objects.get(account=account, role=Staff.Role.CLINICIAN)
    patient = patient_create(
        account=account,
        actor=Actor.for_staff(staff),
        first_name="Imogen",
        last_name="Thackeray",
        mobile="+447911123499",
        date_of_birth=datetime.date(1986, 5, 4),
    )
    everything_for(account=account, staff=staff, patient=patient)
    operator = UserFactory(email="ops@portal.example", is_staff=True, is_superuser=True)
    device = confirmed_device_for(operator)
    base = live_server.url
    page = open_page(SHAPES[shape])
    axe_on_every_page(page)
    page.goto(f"{base}/admin/")
    page.fill("input[name=username]", operator.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/login/verify/")
    page.fill("input[name=token]", current_code(device))
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    check(page, shape, "admin-index")
    screenshot(page, f"a11y-admin-index-{shape}")
    for model, _model_admin in admin.site._registry.items():
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        response = page.goto(f"{base}{url}")
        assert response.status == 200, (url, response.status)
        check(page, shape, f"admin-{meta.app_label}-{meta.model_name}")
        first = model.objects.first()
        if first is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            if page.goto(f"{base}{change}").status == 200:
                check(page, shape, f"admin-{meta.app_label}-{meta.model_name}-change")
    page.goto(f"{base}/admin/filerequests/filerequest/")
    checkbox = page.locator("#result_list input.action-select").first
    box = checkbox.bounding_box()
    assert box["width"] >= 24 and box["height"] >= 24, box
    screenshot(page, f"a11y-admin-file-requests-{shape}")
    write_report()
    assert_none_serious(shape)


def test_a_failed_submit_puts_focus_on_an_error_summary_linking_to_real_fields(
    live_server, open_page, clinic
):
    """GIVEN the add-patient and request forms WHEN sent with errors THEN the page opens
    on an error summary that has focus; each of its links points to an element that
    exists, and following one moves focus to that field."""
    base = live_server.url
    page = open_page(DESKTOP)
    sign_in_with_code(page, base, clinic)
    for path, button in (
        ("/patients/new/", "Add patient"),
        ("/file-requests/new/", "Send request"),
    ):
        page.goto(f"{base}{path}")
        page.get_by_label(re.compile("^Mobile number")).fill("020 7123 4567")
        page.get_by_role("button", name=button).click()
        summary = page.locator(".error-summary")
        expect(summary).to_be_focused()
        links = summary.locator("a")
        assert links.count() >= 2
        for index in range(links.count()):
            target = links.nth(index).get_attribute("href")
            assert target.startswith("#")
            assert page.locator(target).count() == 1, target
        # Every aria-describedby on the page names an element that exists.
        missing = page.evaluate(
            """() => [...document.querySelectorAll('[aria-describedby]')].flatMap((el) =>
                 el.getAttribute('aria-describedby').split(/\\s+/)
                   .filter((id) => id && !document.getElementById(id)))"""
        )
        assert not missing, missing
        summary.get_by_role("link", name=re.compile("landline")).click()
        expect(page.get_by_label(re.compile("^Mobile number"))).to_be_focused()


def test_the_role_drop_down_does_not_act_on_an_arrow_key(live_server, open_page, clinic):
    """GIVEN the staff page WHEN a role drop-down is focused and an arrow key pressed
    THEN nothing is submitted until Save is pressed."""
    base = live_server.url
    page = open_page(DESKTOP)
    sign_in_with_code(page, base, clinic)
    page.goto(f"{base}/settings/staff/")
    ben = Staff.objects.get(display_name="Dr Ben Carter")
    select = page.locator(f"form[action$='/settings/staff/{ben.id}/role/'] select")
    select.focus()
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(500)
    assert page.url == f"{base}/settings/staff/"
    ben.refresh_from_db()
    assert ben.role == Staff.Role.CLINICIAN
    select.select_option("receptionist")
    page.locator(f"form[action$='/settings/staff/{ben.id}/role/']").get_by_role(
        "button", name=re.compile("^Save")
    ).click()
    expect(page.locator(".message-success")).to_be_visible()
    ben.refresh_from_db()
    assert ben.role == Staff.Role.RECEPTIONIST


def test_the_upload_shows_where_focus_is(live_server, open_page, clinic):
    base = live_server.url
    page = open_page(DESKTOP)
    sign_in_with_code(page, base, clinic)
    page.goto(f"{base}/patients/{clinic['patients'][0].id}/")
    page.locator("#upload-input").focus()
    outline = page.locator("#dropzone").evaluate(
        "el => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline[0] != "none" and float(outline[1].rstrip("px")) >= 2, outline
    screenshot(page, "a11y-upload-focus", full_page=False)


def test_at_200_percent_zoom_on_a_phone_nothing_scrolls_sideways(live_server, open_page, clinic):
    """A 390 px phone at 200% zoom lays pages out in 195 CSS px: the clinic's name wraps
    by words (never letter by letter) and photo cards fit the width."""
    account, admin_staff = clinic["account"], clinic["admin"]
    account.name = "Riverside Family Practice and Minor Injuries"
    account.save()
    amelia, priya = clinic["patients"][0], clinic["patients"][2]
    gallery_for(account=account, patient=amelia)
    answered = answered_request(account=account, staff=admin_staff, patient=priya)
    base = live_server.url
    # The layout a 390 px phone gives at 200% zoom: 195 CSS px, no shrink-to-fit.
    page = open_page({"viewport": {"width": 195, "height": 422}, "device_scale_factor": 2})
    sign_in_with_code(page, base, clinic)
    for name, path in (
        ("patients", "/patients/"),
        ("record", f"/patients/{amelia.id}/"),
        ("request", f"/file-requests/{answered.id}/"),
        ("inbox", "/inbox/"),
    ):
        page.goto(f"{base}{path}")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
        wide = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5)
                .filter((el) => {
                    for (let up = el.parentElement; up; up = up.parentElement) {
                        if (getComputedStyle(up).overflowX !== "visible") { return false; }
                    }
                    return true;
                })
                .slice(0, 5).map((el) => el.tagName + '.' + el.className)"""
        )
        assert overflow <= 0, (name, overflow, wide)
        # No word of the clinic's name, nor of any heading, is broken inside.
        broken = page.evaluate(
            """() => [...document.querySelectorAll('.brand-clinic, h1, h2')]
                .filter((el) => el.offsetParent !== null)
                .flatMap((el) => el.textContent.trim().split(/\\s+/).map((word) => [el, word]))
                .filter(([el, word]) => {
                    const probe = document.createElement('span');
                    probe.textContent = word;
                    probe.style.whiteSpace = 'nowrap';
                    el.appendChild(probe);
                    const wide = probe.getBoundingClientRect().width;
                    probe.remove();
                    return wide > el.getBoundingClientRect().width + 1;
                })
                .map(([el, word]) => word)"""
        )
        assert not broken, (name, broken)
        screenshot(page, f"a11y-zoom200-{name}")
    assert FileRequest.objects.filter(pk=answered.pk).exists()
