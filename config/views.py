"""Error pages: JSON for the API, HTML for people."""

import logging
import sys

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as StorageConnectionError
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults
from kombu.exceptions import OperationalError as BrokerUnavailable

from portal.api.errors import error_body

logger = logging.getLogger(__name__)

# The database is unreachable (down, restarting, connections cut): a moment's
# outage, not a fault in the request, so 503 with Retry-After instead of 500.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)


def is_outage(exc: BaseException | None) -> bool:
    """The database, the broker or the storage cannot be reached or did not answer in
    its time budget (config/settings.py), or the storage answers 5xx."""
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return True
    # The scaled shape's drivers: the embedded one (SQLite, its own broker) never loads them.
    import psycopg
    import redis.exceptions

    # psycopg's own, should one escape Django's wrapping (QueryCanceled, the server's
    # statement timeout, is one of them), and Redis's or kombu's, should a request
    # need the broker.
    if isinstance(
        exc,
        (
            psycopg.OperationalError,
            psycopg.InterfaceError,
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            BrokerUnavailable,
        ),
    ):
        return True
    # botocore's timeouts (ReadTimeoutError, ConnectTimeoutError) are among these.
    if isinstance(exc, (StorageConnectionError, HTTPClientError)):
        return True
    if isinstance(exc, ClientError):
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
    return False


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


def not_found(request, exception=None):
    if is_api_path(request.path):
        return JsonResponse(error_body("No such resource or route.", "not_found"), status=404)
    return defaults.page_not_found(request, exception)


def service_unavailable(request):
    """503 with Retry-After: the API's JSON error, the storage endpoint's S3-style XML,
    a page for people. Renders nothing that needs the database."""
    retry_after = str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER)
    if is_api_path(request.path):
        response = JsonResponse(
            error_body(
                "The service is briefly unavailable; please try again shortly.",
                "service_unavailable",
            ),
            status=503,
        )
    elif request.path.startswith("/storage/"):
        response = HttpResponse(
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServiceUnavailable</Code>'
            "<Message>Please reduce your request rate.</Message></Error>",
            status=503,
            content_type="application/xml",
        )
    else:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = retry_after
    return response


def server_error(request):
    # Django calls this view while it handles the exception, so it can tell an
    # unreachable database or storage (503, the client should retry) from a bug (500).
    exc = sys.exc_info()[1]
    if is_outage(exc):
        logger.warning("%s: answering 503 for %s", type(exc).__name__, request.path)
        return service_unavailable(request)
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
