"""The patient's pages: ``/r/<shortLinkId>`` and the token-free pages after the check.

The short link is the credential; the date of birth is only a second check.
After the check the session id rotates and the browser moves to ``/r/upload``,
so the token is no longer in the address bar, the history or any Referer.
Every page here sends ``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store``.
"""

from __future__ import annotations

import functools
import json
from datetime import date, datetime, timedelta

import phonenumbers
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware, rotate_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.decorators import decorator_from_middleware
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from filerequests import patient_status, services, uploads
from filerequests.models import FileRequest
from filerequests.shortlinks import short_link_id_is_well_formed
from files.models import Facet, File
from files.serving import respond
from files.tickets.policies import ticket_answer
from portal.accounts.models import Account, safety_lines
from portal.api.errors import service_error_response
from portal.audit.services import Actor
from portal.patients.birth_dates import date_of_birth_problem
from portal.service_errors import Invalid, ServiceError
from portal.throttle import minutes_to_wait, retry_after_seconds

SESSION_KEY = "patient_file_request"


class PatientCsrfMiddleware(CsrfViewMiddleware):
    """Django's CSRF check, accepting ``Origin: null``.

    Under ``Referrer-Policy: no-referrer`` browsers send ``Origin: null`` with every
    POST, even same-origin ones, so Django's origin check would refuse the patient's
    own forms. The token check still runs (cookie and form token must match), and
    the CSRF and session cookies are ``SameSite=Lax``, so no other site's POST
    carries them.
    """

    def _origin_verified(self, request):
        if request.META.get("HTTP_ORIGIN") == "null":
            return True
        return super()._origin_verified(request)


patient_csrf_protect = decorator_from_middleware(PatientCsrfMiddleware)


def patient_page(view):
    """What every patient page needs: the CSRF check above, and headers that keep
    the link out of Referers, caches and search engines."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        response["Cache-Control"] = "no-store"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return csrf_exempt(patient_csrf_protect(wrapped))


# --- What every page says about the clinic ----------------------------------------------


def clinic_context(account: Account | None) -> dict:
    """The clinic's name, its phone number (display and ``tel:``) and the safety lines
    (the emergency numbers, then the clinic's own line if it has one).

    A page for a link we do not know has no clinic: it names none, and tells the
    patient to call "the clinic that sent you the link".
    """
    if account is None:
        return {
            "clinic_name": "",
            "clinic_phone": "",
            "clinic_phone_uri": "",
            "safety_lines": safety_lines(),
        }
    phone = account.phone_number
    phone_display = phone_uri = ""
    if phone and phone.is_valid():
        same_region = phone.country_code == phonenumbers.country_code_for_region(
            settings.PHONENUMBER_DEFAULT_REGION
        )
        phone_display = phone.as_national if same_region else phone.as_international
        phone_uri = f"tel:{phone.as_e164}"
    return {
        "clinic_name": account.name,
        "clinic_phone": phone_display,
        "clinic_phone_uri": phone_uri,
        "safety_lines": account.safety_lines,
    }


def patient_render(request, template: str, context: dict, *, account, status: int = 200):
    return render(request, template, {**clinic_context(account), **context}, status=status)


# --- Pages for links that cannot be used ---------------------------------------------

UNAVAILABLE = {
    "unknown": (404, "This link isn't working", "unknown"),
    "expired": (410, "This link has expired", "expired"),
    "cancelled": (410, "This request has been withdrawn", "cancelled"),
    "locked": (429, "This link is locked for now", "locked"),
    "throttled": (429, "Too many attempts", "throttled"),
    "session": (403, "Please open your link again", "session"),
    "replaced": (410, "A newer link was sent to you", "replaced"),
}


def unavailable(
    request,
    reason: str,
    *,
    file_request=None,
    retry_after: int | None = None,
    replaced_at=None,
):
    status, title, variant = UNAVAILABLE[reason]
    context = {
        "title": title,
        "variant": variant,
        "retry_minutes": minutes_to_wait(retry_after) if retry_after else None,
        "replaced_at": replaced_at,
    }
    # The clinic's name and number tell the patient whom to call; nothing about the
    # patient shows.
    response = patient_render(
        request,
        "filerequests/unavailable.html",
        context,
        account=file_request.account if file_request is not None else None,
        status=status,
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def unavailable_reason(file_request: FileRequest) -> str | None:
    if file_request.status == FileRequest.Status.CANCELLED:
        return "cancelled"
    if file_request.status == FileRequest.Status.EXPIRED or file_request.link_has_expired():
        return "expired"
    if file_request.is_locked():
        return "locked"
    return None


# --- The date-of-birth check -----------------------------------------------------------

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def parse_date_of_birth(
    day: str, month: str, year: str, *, today: date
) -> tuple[date | None, dict]:
    """A date from the three fields, or the errors to show (GOV.UK's date pattern)."""
    values = {"day": day.strip(), "month": month.strip(), "year": year.strip()}
    missing = [name for name, value in values.items() if not value]
    if len(missing) == 3:
        return None, {"dob": "Enter your date of birth", "fields": ["day"]}
    if missing:
        return None, {
            "dob": f"Your date of birth must include a {' and '.join(missing)}",
            "fields": missing,
        }
    # isdecimal, not isdigit: a superscript "²" is a digit that int() refuses.
    if not all(value.isdecimal() for value in values.values()):
        bad = [name for name, value in values.items() if not value.isdecimal()]
        return None, {"dob": "Enter your date of birth using numbers only", "fields": bad}
    if len(values["year"]) != 4:
        return None, {"dob": "Year must include 4 numbers, for example 1980", "fields": ["year"]}
    try:
        value = date(int(values["year"]), int(values["month"]), int(values["day"]))
    except ValueError:
        return None, {"dob": "Date of birth must be a real date", "fields": ["day", "month"]}
    # The portal's one rule for which dates can be a date of birth, in GOV.UK's words.
    if date_of_birth_problem(value, today=today):
        return None, {"dob": "Date of birth must be in the past", "fields": ["year"]}
    return value, {}


@patient_page
@require_http_methods(["GET", "POST"])
def short_link(request, short_link_id: str):
    if not short_link_id_is_well_formed(short_link_id):
        return unavailable(request, "unknown")
    file_request = (
        FileRequest.objects.select_related("account").filter(short_link_id=short_link_id).first()
    )
    if file_request is None:
        replaced = services.short_link_replaced(short_link_id=short_link_id)
        if replaced is not None:
            # A link a newer text replaced: it opens nothing, and says to use the newer one.
            return unavailable(
                request,
                "replaced",
                file_request=replaced.file_request,
                replaced_at=replaced.replaced_at,
            )
        # Counted apart from wrong answers on live links (services.unknown_link_tried).
        check = services.unknown_link_tried(request=request)
        return unavailable(request, check.outcome, retry_after=check.retry_after)
    reason = unavailable_reason(file_request)
    if reason and request.method == "GET":
        if reason == "expired":
            services.file_request_expire_by_id(file_request_id=file_request.id)
            newer = services.file_request_newer_link(file_request=file_request)
            if newer is not None:
                return unavailable(
                    request, "replaced", file_request=file_request, replaced_at=newer.created_at
                )
        return unavailable(
            request,
            reason,
            file_request=file_request,
            retry_after=retry_after_seconds(file_request.locked_until, timezone.now())
            if reason == "locked"
            else None,
        )

    form = {"day": "", "month": "", "year": ""}
    errors: dict = {}
    attempts_left = None
    if request.method == "POST":
        form = {name: request.POST.get(name, "")[:10] for name in form}
        # "Today" where the clinic is: a baby born today is not "in the future" in the
        # hour after a summer midnight in London, while UTC is still on yesterday.
        today = timezone.localdate(timezone=file_request.account.zone)
        date_of_birth, errors = parse_date_of_birth(**form, today=today)
        if date_of_birth is not None:
            check = services.dob_check(
                short_link_id=short_link_id, date_of_birth=date_of_birth, request=request
            )
            if check.outcome == "verified":
                return verified_redirect(request, check.file_request)
            if check.outcome in ("locked", "throttled"):
                return unavailable(
                    request,
                    check.outcome,
                    file_request=check.file_request,
                    retry_after=check.retry_after,
                )
            if check.outcome in ("unavailable", "unknown"):
                file_request.refresh_from_db()
                reason = unavailable_reason(file_request) or "unknown"
                return unavailable(request, reason, file_request=file_request)
            attempts_left = check.attempts_left
            errors = {
                "dob": "The date of birth does not match our records. Check it and try again",
                "fields": ["day", "month", "year"],
            }
    context = {
        "file_request": file_request,
        "staff_name": file_request.staff_name,
        "form": form,
        "errors": errors,
        "attempts_left": attempts_left,
        "lockout_minutes": settings.FILE_REQUEST_LOCKOUT_SECONDS // 60,
        "title": "Confirm your date of birth",
    }
    return patient_render(request, "filerequests/check.html", context, account=file_request.account)


def verified_redirect(request, file_request: FileRequest):
    """Exchange the link for a fresh session and move to a URL without the token."""
    request.session.cycle_key()
    rotate_token(request)
    request.session[SESSION_KEY] = {
        "id": str(file_request.id),
        "verified_at": timezone.now().isoformat(),
    }
    return redirect("filerequests-patient:upload", permanent=False)


def session_file_request(request) -> tuple[FileRequest | None, HttpResponse | None]:
    """The request this browser has verified, or the page to show instead."""
    entry = request.session.get(SESSION_KEY)
    if not entry:
        return None, unavailable(request, "session")
    verified_at = datetime.fromisoformat(entry["verified_at"])
    lifetime = timedelta(seconds=settings.FILE_REQUEST_PATIENT_SESSION_SECONDS)
    if timezone.now() - verified_at > lifetime:
        request.session.pop(SESSION_KEY, None)
        return None, unavailable(request, "session")
    file_request = FileRequest.objects.select_related("account").filter(pk=entry["id"]).first()
    if file_request is None:
        return None, unavailable(request, "unknown")
    reason = unavailable_reason(file_request)
    if reason in ("cancelled", "expired"):
        return None, unavailable(request, reason, file_request=file_request)
    return file_request, None


# --- After the check -------------------------------------------------------------------


def phone_store_key(file_request: FileRequest) -> str:
    """The name under which the patient's phone keeps this request's photos until the
    clinic has them: stable for the request, and saying nothing of it."""
    return salted_hmac("patient-photos-on-phone", str(file_request.id)).hexdigest()[:32]


@patient_page
@require_GET
def upload_page(request):
    file_request, refusal = session_file_request(request)
    if refusal:
        return refusal
    context = {
        "file_request": file_request,
        "staff_name": file_request.staff_name,
        "prompt": file_request.prompt,
        "full_resolution": file_request.full_resolution,
        "request_key": phone_store_key(file_request),
        "title": "Send your photos",
    }
    return patient_render(
        request, "filerequests/upload.html", context, account=file_request.account
    )


def json_refusal(refusal: HttpResponse) -> JsonResponse:
    return JsonResponse(
        {"error": "This page has ended. Open the link in your text message again."},
        status=refusal.status_code,
    )


def read_json(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # RecursionError: "[" x 100,000
        return {}
    return body if isinstance(body, dict) else {}


def text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


@patient_page
@require_POST
def upload_ticket(request):
    """A ticket to send one photo straight to storage (S3 or the app's own endpoint)."""
    file_request, refusal = session_file_request(request)
    if refusal:
        return json_refusal(refusal)
    body = read_json(request)
    size = body.get("size")
    try:
        issued = uploads.patient_photo_ticket_issue(
            file_request=file_request,
            photo_id=uploads.photo_id_of(body),
            name=text_or_none(body.get("name")),
            size=size if isinstance(size, int) else None,
            actor=Actor.for_patient_link(file_request.id),
        )
    except ServiceError as refused:
        return service_error_response(refused)
    if issued.held is not None:
        return photo_file_answer(request, issued.held, already_received=True)
    return JsonResponse(ticket_answer(issued.ticket))


def photo_file_answer(request, file: File, *, already_received: bool) -> JsonResponse:
    """The file the clinic holds for a photo, remembered in the session so this browser
    (and only it) can follow it through processing and see its thumbnail."""
    request.session[SESSION_KEY] = patient_status.session_file_remember(
        request.session[SESSION_KEY], str(file.id)
    )
    answer = {"fileId": str(file.id), "state": file.state}
    if already_received:
        answer["alreadyReceived"] = True
    return JsonResponse(answer)


@patient_page
@require_POST
def upload_confirm(request):
    """The photo is in storage: confirm it, with the patient's note."""
    file_request, refusal = session_file_request(request)
    if refusal:
        return json_refusal(refusal)
    body = read_json(request)
    note = body.get("description") or ""
    slot_id = body.get("slotId")
    try:
        photo_id = uploads.photo_id_of(body)
        if not isinstance(note, str):
            raise Invalid("The note must be text.", field="description")
        if slot_id is not None and not isinstance(slot_id, str):
            raise Invalid(uploads.UNKNOWN_SLOT_MESSAGE, field="slotId")
        confirmed = uploads.patient_photo_confirm(
            file_request=file_request,
            ticket_id=text_or_none(body.get("ticketId")),
            photo_id=photo_id,
            note=note,
            slot_id=slot_id,
            size_on_phone=uploads.size_on_phone_of(body),
            actor=Actor.for_patient_link(file_request.id),
        )
    except ServiceError as refused:
        return service_error_response(refused)
    return photo_file_answer(request, confirmed.file, already_received=confirmed.already_received)


def files_of_photo_ids(request, file_request, body: dict):
    """(files, None) for the ``photoIds`` of ``body`` this request holds, remembered in
    the session in one write (photos confirmed side by side each write the session, and
    one of two such writes can be lost), or (None, a 400 answer)."""
    photo_ids = body.get("photoIds")
    if not isinstance(photo_ids, list) or len(photo_ids) > patient_status.SESSION_FILES_MAX:
        return None, JsonResponse({"error": "The list of photos is not valid."}, status=400)
    try:
        parsed = [uploads.photo_id_of({"photoId": value}) for value in photo_ids]
    except uploads.BadPhotoId as refused:
        return None, service_error_response(refused)
    files = uploads.files_known_to_phone(file_request, [value for value in parsed if value])
    entry = request.session[SESSION_KEY]
    for file in files:
        entry = patient_status.session_file_remember(entry, str(file.id))
    request.session[SESSION_KEY] = entry
    return files, None


@patient_page
@require_POST
def upload_known(request):
    """Which of the photos this phone kept (by the ids it made for them) the clinic
    holds already, as the status endpoint describes them. A page reopened after its
    tab closed asks this before sending what is left; the files found are remembered
    in this session like the ones it sends."""
    file_request, refusal = session_file_request(request)
    if refusal:
        return json_refusal(refusal)
    files, refused = files_of_photo_ids(request, file_request, read_json(request))
    if refused:
        return refused
    photos = patient_status.sent_photos(
        file_request=file_request, file_ids=[str(file.id) for file in files]
    )
    photo_ids_by_file = {str(file.id): str(file.client_photo_id) for file in files}
    return JsonResponse(
        {"files": [{**photo.as_json(), "photoId": photo_ids_by_file[photo.id]} for photo in photos]}
    )


@patient_page
@require_GET
def upload_status(request):
    """The photos this session sent: processing, ready (with a thumbnail) or rejected
    (with the reason in a patient's words). The page polls it after sending."""
    file_request, refusal = session_file_request(request)
    if refusal:
        return json_refusal(refusal)
    photos = patient_status.sent_photos(
        file_request=file_request,
        file_ids=patient_status.session_file_ids(request.session[SESSION_KEY]),
    )
    return JsonResponse({"files": [photo.as_json() for photo in photos]})


@patient_page
@require_GET
def upload_thumbnail(request, file_id):
    """A thumbnail of a photo this session sent, through the verified session only."""
    file_request, refusal = session_file_request(request)
    if refusal:
        return json_refusal(refusal)
    if str(file_id) not in patient_status.session_file_ids(request.session[SESSION_KEY]):
        return JsonResponse({"error": "Not found."}, status=404)
    file = (
        File.objects.select_related("account").filter(file_request=file_request, pk=file_id).first()
    )
    if file is None:
        return JsonResponse({"error": "Not found."}, status=404)
    return respond.serve(
        request,
        file=file,
        actor=Actor.for_patient_link(file_request.id),
        facet_name=Facet.THUMBNAIL,
    )


@patient_page
@require_POST
def upload_finish(request):
    """The patient pressed Send and every photo is in: announce the batch. The page
    names its photos (``photoIds``), so the confirmation counts every one the clinic
    holds from this phone."""
    file_request, refusal = session_file_request(request)
    if refusal:
        return json_refusal(refusal)
    body = read_json(request)
    if "photoIds" in body:
        _, refused = files_of_photo_ids(request, file_request, body)
        if refused:
            return refused
    event = services.file_request_publish_files_update(
        file_request=file_request,
        actor=Actor.for_patient_link(file_request.id),
        request=request,
    )
    return JsonResponse({"published": event is not None, "next": "/r/done"})


@patient_page
@require_GET
def done_page(request):
    file_request, refusal = session_file_request(request)
    if refusal:
        return refusal
    photos = patient_status.sent_photos(
        file_request=file_request,
        file_ids=patient_status.session_file_ids(request.session[SESSION_KEY]),
    )
    received = [photo for photo in photos if photo.state == "ready"]
    checking = [photo for photo in photos if photo.state == "processing"]
    not_used = [photo for photo in photos if photo.state == "rejected"]
    if received and not (checking or not_used):
        title = "Photos sent"
    elif photos:
        title = "What the clinic has received"
    else:
        title = "No photos sent yet"
    context = {
        "staff_name": file_request.staff_name,
        "title": title,
        "received": received,
        "checking": checking,
        "not_used": not_used,
        "last_sent_at": max((photo.sent_at for photo in received), default=None),
        "status_url": reverse("filerequests-patient:upload-status"),
    }
    return patient_render(request, "filerequests/done.html", context, account=file_request.account)
