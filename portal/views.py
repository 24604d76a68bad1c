"""Error pages: JSON for the API, HTML for people."""

from django.http import JsonResponse
from django.views import defaults

from portal.api.errors import error_body


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


def not_found(request, exception=None):
    if is_api_path(request.path):
        return JsonResponse(error_body("No such resource or route.", "not_found"), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api_path(request.path):
        return JsonResponse(
            error_body("Something went wrong on our side; please try again.", "server_error"),
            status=500,
        )
    return defaults.server_error(request)


def bad_request(request, exception=None):
    if is_api_path(request.path):
        return JsonResponse(error_body("The request was malformed.", "bad_request"), status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if is_api_path(request.path):
        return JsonResponse(
            error_body("You do not have permission to do this.", "permission_denied"), status=403
        )
    return defaults.permission_denied(request, exception)
