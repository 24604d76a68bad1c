"""The patient page's uploads, over the file pipeline's tickets.

Waits for the files issue: until ``files.services`` offers upload tickets, the
page's ticket endpoint answers 503 and says so.
"""

from __future__ import annotations

from django.http import JsonResponse


def ticket_for_patient(request, file_request, body: dict) -> JsonResponse:
    return JsonResponse(
        {"error": "Sending photos is not available yet. Please try again later."}, status=503
    )


def confirm_for_patient(request, file_request, body: dict) -> JsonResponse:
    return JsonResponse(
        {"error": "Sending photos is not available yet. Please try again later."}, status=503
    )
