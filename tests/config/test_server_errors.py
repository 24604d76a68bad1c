"""A 500 never shows a traceback, a setting or the error's text to anyone: not to a patient
on their page, not to an integrator on the API, with DEBUG as ``make run`` sets it (off:
manage.py run_embedded says why) and as production sets it."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support.failing_urls import SECRET_IN_THE_ERROR

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.failing_urls")]

LEAKS = (SECRET_IN_THE_ERROR, "Traceback", "RuntimeError", "failing_urls", "SECRET_KEY")


@pytest.mark.parametrize(
    "path, content_type, message",
    [
        ("/r/test-failure", "text/html", "Something went wrong on our side"),
        ("/storage/test-failure", "text/html", "Something went wrong on our side"),
        ("/api/v1/test-failure", "application/json", '"error"'),
    ],
)
def test_a_server_error_answers_500_without_its_details(settings, path, content_type, message):
    """GIVEN DEBUG off, as make run and production run WHEN a view raises with a secret in
    its message THEN the answer is 500 with a message for people (or the API's error shape)
    and none of the error's details."""
    settings.DEBUG = False
    answer = Client(raise_request_exception=False).get(path)
    body = answer.content.decode()
    assert answer.status_code == 500
    assert answer["Content-Type"].startswith(content_type)
    assert message in body
    for leak in LEAKS:
        assert leak not in body, leak
