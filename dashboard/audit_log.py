"""The audit log as a practice manager reads it: what happened in words, and the
patient, file, request or colleague each event is about, by name.

The log itself stores identifiers only (``portal.audit.models``); names are looked up when an
authorised reader reads it, a page (or a chunk of an export) at a time, with one query
per kind of object however many events the page holds.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from attachments.models import PatientAttachment
from filerequests.models import FileRequest
from files.models import File
from portal.accounts.models import Account, ApiKey, Staff
from portal.audit.models import AuditEvent
from portal.ids import parse_uuid
from portal.patients.models import Patient
from portal.webhooks.models import WebhookEndpoint

ACTION_LABELS = {
    "account.clinic_settings_update": "Changed the clinic's details for patients",
    "api_key.create": "Created an API key",
    "api_key.revoke": "Revoked an API key",
    "audit_log.export": "Exported the audit log",
    "auth.password_accepted": "Signed in with the password",
    "auth.sign_in_failed": "Failed to sign in",
    "auth.sign_in_paused": "Sign-in paused after failures",
    "auth.sign_in_throttled": "Sign-in refused: too many tries",
    "file.download": "Viewed or downloaded a file",
    "file.purge": "Removed an expired file's bytes",
    "file.upload": "Uploaded a file",
    "file_request.answer": "Patient sent photos",
    "file_request.cancel": "Cancelled a photo request",
    "file_request.create": "Asked a patient for photos",
    "file_request.dob_check_failed": "Wrong date of birth on a photo link",
    "file_request.dob_check_passed": "Patient confirmed their date of birth",
    "file_request.dob_check_throttled": "Date-of-birth checks refused: too many from one place",
    "file_request.dob_check_while_locked": "Date of birth tried on a locked link",
    "file_request.expire": "Photo request expired",
    "file_request.files_remove": "Withdrew the files of a refused upload from a request",
    "file_request.follow_up": "Asked the patient for more photos",
    "file_request.link_locked": "Photo link locked after wrong dates of birth",
    "file_request.notification_failed": "Text message could not be sent",
    "file_request.notification_sent": "Text message sent",
    "file_request.resend": "Resent the text message",
    "file_request.review": "Marked photos as reviewed",
    "file_request.staff_emailed": "E-mailed staff that photos arrived",
    "file_request.unlock": "Unlocked a photo link and sent a new one",
    "patient.create": "Added a patient",
    "patient.update": "Changed a patient's details",
    "patient_attachment.archive": "Archived an attachment",
    "patient_attachment.create": "Added an attachment",
    "patient_photo.copy": "Set the patient's photo from a file",
    "patient_photo.upload_start": "Started uploading the patient's photo",
    "staff.create_shell": "Named a staff member from another system",
    "staff.invitation_accept": "Accepted an invitation",
    "staff.invite": "Invited a staff member",
    "staff.remove": "Removed a staff member",
    "staff.role_change": "Changed a staff member's role",
    "staff.two_factor_reset": "Reset a staff member's two-factor sign-in",
    "upload_ticket.abandon": "Upload abandoned",
    "upload_ticket.issue": "Upload started",
    "webhook_delivery.redeliver": "Redelivered a webhook",
    "webhook_endpoint.create": "Added a webhook endpoint",
    "webhook_endpoint.delete": "Deleted a webhook endpoint",
    "webhook_endpoint.disable": "Webhook endpoint turned off after failures",
    "webhook_endpoint.ping": "Sent a test webhook",
    "webhook_endpoint.update": "Changed a webhook endpoint",
    "webhook_signing_secret.rotate": "Rotated a webhook signing secret",
}

ACTOR_KIND_WORDS = {
    AuditEvent.ActorKind.STAFF: "Staff",
    AuditEvent.ActorKind.API_KEY: "Another system (API key)",
    AuditEvent.ActorKind.PATIENT_LINK: "Patient, through their link",
    AuditEvent.ActorKind.SYSTEM: "The portal",
    AuditEvent.ActorKind.ANONYMOUS: "Someone not signed in",
}


def action_label(code: str) -> str:
    """The event in words; an action without a label is still readable."""
    if code in ACTION_LABELS:
        return ACTION_LABELS[code]
    subject, _, verb = code.partition(".")
    words = f"{subject.replace('_', ' ')}: {verb.replace('_', ' ')}" if verb else subject
    return words[:1].upper() + words[1:]


@dataclass
class Target:
    """What an event is about, as a reader sees it."""

    kind: str
    name: str = ""
    patient: Patient | None = None
    url_name: str = ""
    url_kwargs: dict | None = None


@dataclass
class EventRow:
    event: AuditEvent
    action: str
    who: str
    who_kind: str
    target: Target


def kind_word(target_type: str) -> str:
    return {
        "patients.patient": "Patient",
        "files.file": "File",
        "filerequests.filerequest": "Photo request",
        "attachments.patientattachment": "Attachment",
        "accounts.staff": "Staff member",
        "accounts.apikey": "API key",
        "webhooks.webhookendpoint": "Webhook endpoint",
    }.get(target_type, target_type.rsplit(".", 1)[-1].replace("_", " ").capitalize())


def ids_by_type(events: Iterable[AuditEvent]) -> dict[str, set]:
    found: dict[str, set] = defaultdict(set)
    for event in events:
        parsed = parse_uuid(event.target_id) if event.target_id else None
        if parsed is not None:
            found[event.target_type].add(parsed)
    return found


def named_targets(
    *, account: Account, events: list[AuditEvent], show_patients: bool
) -> dict[tuple[str, str], Target]:
    """``{(target_type, target_id): Target}`` for a page of events: one query per kind.
    Patients (and what names them: files, requests, attachments) are named only when
    ``show_patients``; otherwise the kind alone is shown."""
    wanted = ids_by_type(events)
    targets: dict[tuple[str, str], Target] = {}

    def put(type_: str, pk, target: Target) -> None:
        targets[(type_, str(pk))] = target

    if show_patients:
        for patient in Patient.objects.filter(account=account, pk__in=wanted["patients.patient"]):
            put(
                "patients.patient",
                patient.pk,
                Target(
                    "Patient",
                    str(patient),
                    patient,
                    "dashboard:patient-detail",
                    {"patient_id": patient.pk},
                ),
            )
        files = File.objects.filter(account=account, pk__in=wanted["files.file"]).select_related(
            "patient"
        )
        for file in files:
            put("files.file", file.pk, Target("File", file.original_name or "A file", file.patient))
        requests = FileRequest.objects.filter(
            account=account, pk__in=wanted["filerequests.filerequest"]
        ).select_related("patient")
        for file_request in requests:
            put(
                "filerequests.filerequest",
                file_request.pk,
                Target(
                    "Photo request",
                    f"“{(file_request.prompt or 'Photos')[:60]}”",
                    file_request.patient,
                    "dashboard:file-request-detail",
                    {"file_request_id": file_request.pk},
                ),
            )
        attachments = PatientAttachment.objects.filter(
            account=account, pk__in=wanted["attachments.patientattachment"]
        ).select_related("file", "patient")
        for attachment in attachments:
            put(
                "attachments.patientattachment",
                attachment.pk,
                Target("Attachment", attachment.file.original_name or "A file", attachment.patient),
            )
    for staff in Staff.objects.filter(
        account=account, pk__in=wanted["accounts.staff"]
    ).select_related("user"):
        put("accounts.staff", staff.pk, Target("Staff member", str(staff)))
    for key in ApiKey.objects.filter(account=account, pk__in=wanted["accounts.apikey"]):
        put("accounts.apikey", key.pk, Target("API key", str(key)))
    for endpoint in WebhookEndpoint.objects.filter(
        account=account, pk__in=wanted["webhooks.webhookendpoint"]
    ):
        put("webhooks.webhookendpoint", endpoint.pk, Target("Webhook endpoint", endpoint.url))
    return targets


def event_rows(
    *, account: Account, events: list[AuditEvent], show_patients: bool
) -> list[EventRow]:
    targets = named_targets(account=account, events=events, show_patients=show_patients)
    rows = []
    for event in events:
        target = targets.get((event.target_type, event.target_id))
        if target is None:
            target = Target(kind_word(event.target_type) if event.target_type else "")
        rows.append(
            EventRow(
                event=event,
                action=action_label(event.action),
                who=event.actor_label or ACTOR_KIND_WORDS.get(event.actor_kind, ""),
                who_kind=ACTOR_KIND_WORDS.get(event.actor_kind, event.actor_kind),
                target=target,
            )
        )
    return rows


# --- CSV --------------------------------------------------------------------------

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV
# injection"); a leading apostrophe makes it text. Tab and carriage return too, as
# some spreadsheets strip them and then read the formula; the full-width forms too, as
# some spreadsheets read them as their ASCII twins.
# (full-width = + - @ written as escapes)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Where a spreadsheet may start a new cell inside one of ours: the list separator of
# its locale (a comma, a semicolon in most of Europe, a tab when pasted) and, in a
# naive importer, a line break.
CELL_SEPARATORS = re.compile(r"[,;\t\r\n]")

CSV_HEADER = [
    "When (UTC)",
    "Who",
    "Who (kind)",
    "What happened",
    "Action code",
    "About",
    "Name",
    "Patient",
    "Target id",
    "From (IP address)",
]


def starts_formula(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula: it starts, after any
    spaces, with a formula character or a character that folds to one (NFKC)."""
    stripped = text.lstrip(" ")
    return bool(stripped) and (
        stripped.startswith(FORMULA_STARTS)
        or unicodedata.normalize("NFKC", stripped[0]).startswith(FORMULA_STARTS)
    )


def csv_safe(value) -> str:
    """The value as text no spreadsheet runs, whatever separator it splits cells at:
    an apostrophe at the start and after each separator wherever what follows would
    start a formula (a tab or line break first included, as a spreadsheet splitting at
    another separator keeps them)."""
    text = "" if value is None else str(value)
    safe = []
    start = 0
    for boundary in [0, *(match.end() for match in CELL_SEPARATORS.finditer(text))]:
        if starts_formula(text[boundary:]):
            safe.append(text[start:boundary] + "'")
            start = boundary
    safe.append(text[start:])
    return "".join(safe)


def csv_row(row: EventRow) -> list[str]:
    event = row.event
    cells = [
        event.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
        row.who,
        row.who_kind,
        row.action,
        event.action,
        row.target.kind,
        row.target.name,
        str(row.target.patient) if row.target.patient else "",
        event.target_id,
        event.ip_address or "",
    ]
    return [csv_safe(cell) for cell in cells]
