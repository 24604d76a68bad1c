"""The text providers' delivery receipts: GOV.UK Notify's callback (a bearer token) and
Twilio's status callback (signed with the account's auth token). Thin doors over
``sms_receipts.receipt_record``: check who is calling, read the documented body, answer.

A caller that does not prove itself gets 401 or 403 and changes nothing; a receipt for
no message of the portal is 404; a repeated or stale receipt is accepted (204) and
changes nothing, so a provider retrying never sees an error for it.
"""

from __future__ import annotations

import hmac
import json
import logging

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from filerequests import sms_receipts

logger = logging.getLogger(__name__)


def answer(message: str, status: int) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


def recorded(**receipt) -> HttpResponse:
    try:
        sms_receipts.receipt_record(**receipt)
    except sms_receipts.ReceiptInvalid as exc:
        return answer(f"Not a status of this provider: {exc}.", 400)
    except sms_receipts.ReceiptUnknown:
        logger.info("a %s receipt for no message of the portal", receipt["backend"])
        return answer("No such message.", 404)
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def notify_receipt(request):
    """Notify's delivery receipt: ``Authorization: Bearer <token>``, a JSON body with
    ``id``, ``reference``, ``to``, ``status``, ``created_at``, ``completed_at``,
    ``sent_at``, ``notification_type``."""
    token = settings.NOTIFY_CALLBACK_BEARER_TOKEN
    if not token:
        return answer("Delivery receipts from GOV.UK Notify are not taken here.", 404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = answer("A valid bearer token is needed.", 401)
        response["WWW-Authenticate"] = 'Bearer realm="sms-receipts"'
        return response
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return answer("The body must be JSON.", 400)
    if not isinstance(body, dict):
        return answer("The body must be a JSON object.", 400)
    message_id, status = body.get("id"), body.get("status")
    if not isinstance(message_id, str) or not isinstance(status, str):
        return answer("id and status are required, as text.", 400)
    if body.get("notification_type", "sms") != "sms":
        return answer("Only text message receipts are taken here.", 400)
    reference = body.get("reference")
    return recorded(
        backend="notify",
        provider_message_id=message_id[:100],
        status=status,
        reference=reference if isinstance(reference, str) else "",
        occurred_at=sms_receipts.notify_time(
            body.get("completed_at") or body.get("sent_at") or body.get("created_at")
        ),
    )


@csrf_exempt
@require_POST
def twilio_receipt(request, notification_id: str):
    """Twilio's status callback for one message, posted to the address given when it was
    sent: form fields ``MessageSid``, ``MessageStatus``, ``ErrorCode`` (and others),
    signed in ``X-Twilio-Signature`` over the address and the fields."""
    # Twilio's library is imported where it is used, as in ``sms``: it is large, and a
    # portal on another provider never loads it.
    from twilio.request_validator import RequestValidator

    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        return answer("Status callbacks from Twilio are not taken here.", 404)
    # Twilio signs the address it posted to: the public one, whatever proxy is between.
    url = settings.PORTAL_PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not RequestValidator(token).validate(url, request.POST, signature):
        return answer("The request signature is not valid.", 403)
    return recorded(
        backend="twilio",
        provider_message_id=request.POST.get("MessageSid", "")[:100],
        status=request.POST.get("MessageStatus", ""),
        reference=notification_id,
        error_code=request.POST.get("ErrorCode", ""),
    )
