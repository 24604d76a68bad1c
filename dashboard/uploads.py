"""The small JSON endpoints behind drag-and-drop uploads on the patient page.

The browser asks for one upload ticket per file, posts the ticket's fields in
order and the file last straight to storage (S3, or the portal's own
policy-checking endpoint), then confirms the ticket here, which makes the
patient's attachment. Answers are ``{"error": …}`` with a status on failure.
"""

from __future__ import annotations

import json

from django.http import JsonResponse

from attachments import services as attachment_services
from files import quota
from files import selectors as file_selectors
from files.tickets.policies import ticket_answer
from portal.api.errors import service_error_response
from portal.audit.services import Actor
from portal.service_errors import ServiceError

DESCRIPTION_MAX_LENGTH = 255


def error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def json_body(request) -> dict | None:
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: "[" x 100,000
        return None
    return body if isinstance(body, dict) else None


def ticket_issue(request, patient) -> JsonResponse:
    body = json_body(request)
    if body is None:
        return error("Send a JSON object with the file's name and size.", 400)
    size = body.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        return error("The file is empty or its size is unknown.", 400)
    try:
        ticket = attachment_services.attachment_upload_ticket_issue(
            account=request.account,
            patient=patient,
            actor=Actor.for_staff(request.staff),
            size=size,
        )
    except ServiceError as refused:
        return service_error_response(refused)
    return JsonResponse(ticket_answer(ticket), status=201)


def ticket_confirm(request, patient) -> JsonResponse:
    body = json_body(request)
    if body is None:
        return error("Send a JSON object with the ticketId.", 400)
    ticket = file_selectors.upload_ticket_get(
        account=request.account, ticket_id=body.get("ticketId")
    )
    if ticket is None:
        return error("No such upload for this clinic.", 404)
    description = body.get("description") or None
    if description is not None and not isinstance(description, str):
        return error("The description must be text.", 400)
    if description:
        description = description.strip()[:DESCRIPTION_MAX_LENGTH] or None
    try:
        attachment = attachment_services.attachment_create_from_ticket(
            account=request.account,
            patient=patient,
            ticket=ticket,
            actor=Actor.for_staff(request.staff),
            description=description,
        )
    except attachment_services.AttachmentInputError as exc:
        return error(exc.message, 409)
    except quota.TrialQuotaExceeded as exc:
        return error(exc.message, 403)
    return JsonResponse(
        {
            "attachmentId": str(attachment.id),
            "fileId": str(attachment.file_id),
            "state": attachment.file.state,
        },
        status=201,
    )
