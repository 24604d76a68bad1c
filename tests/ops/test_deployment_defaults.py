"""Production defaults that fail safe, in tests/ops/test_deployment.py's style:
the real settings module, in a subprocess started as production would start it.

- An e-mail backend that prints, keeps or drops mail (reset and invitation links) is
  refused at start-up in production.
- ``X-Forwarded-Proto`` is believed only when ``PORTAL_BEHIND_PROXY`` says a TLS proxy
  is in front; otherwise a client's own "https" does not make a plain request secure.
"""

from __future__ import annotations

import json

import pytest

from tests.ops.test_deployment import manage

SECRET = "x7!" + "k2Jq9-Lm4zP0vR8sT1wY6uB3nC5eG" * 2


def production(tmp_path, **overrides) -> dict[str, str]:
    return {
        "PORTAL_ENVIRONMENT": "production",
        "PORTAL_DATA_DIR": str(tmp_path),
        "PORTAL_SECRET_KEY": SECRET,
        "PORTAL_ALLOWED_HOSTS": "portal.example.org,testserver",
        **overrides,
    }


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    ],
)
def test_production_refuses_an_email_backend_that_does_not_send(tmp_path, backend):
    """GIVEN production with an e-mail backend that prints, keeps or drops mail
    WHEN the portal starts THEN it refuses, naming the backend and what to set."""
    result = manage("check", env_overrides=production(tmp_path, PORTAL_EMAIL_BACKEND=backend))

    assert result.returncode != 0
    assert f"PORTAL_EMAIL_BACKEND={backend}" in result.stderr
    assert "smtp.EmailBackend" in result.stderr


@pytest.mark.parametrize(
    "backend", ["filerequests.sms.ConsoleSmsBackend", "filerequests.sms.FileSmsBackend"]
)
def test_production_refuses_an_sms_backend_that_does_not_send(tmp_path, backend):
    """GIVEN production with an SMS backend that prints or keeps texts (the patient's link
    in the clear) WHEN the portal starts THEN it refuses, naming the backend and what to set."""
    result = manage("check", env_overrides=production(tmp_path, PORTAL_SMS_BACKEND=backend))

    assert result.returncode != 0
    assert f"PORTAL_SMS_BACKEND={backend}" in result.stderr
    assert "TwilioSmsBackend" in result.stderr


@pytest.mark.slow
def test_production_sends_email_by_smtp_unless_told_otherwise(tmp_path):
    """GIVEN production with no EMAIL_BACKEND WHEN the portal starts THEN it starts,
    and sends e-mail by SMTP."""
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.EMAIL_BACKEND)",
        env_overrides=production(tmp_path),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "django.core.mail.backends.smtp.EmailBackend"


@pytest.mark.slow
def test_development_keeps_the_console_backend(tmp_path):
    """GIVEN development WHEN the portal starts THEN e-mail goes to the console, as before."""
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.EMAIL_BACKEND)",
        env_overrides={"PORTAL_ENVIRONMENT": "development", "PORTAL_DATA_DIR": str(tmp_path)},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "django.core.mail.backends.console.EmailBackend"
    )


# What a plain-HTTP request that claims "X-Forwarded-Proto: https" gets, run inside the
# production settings: Django's test client against the real middleware and URLs.
PROBE = """
import json
from django.test import Client
from django.conf import settings
answer = Client().get("/healthz", HTTP_X_FORWARDED_PROTO="https")
print(json.dumps({
    "status": answer.status_code,
    "location": answer.get("Location", ""),
    "proxy_header": settings.SECURE_PROXY_SSL_HEADER,
}))
"""


@pytest.mark.parametrize(
    ("behind_proxy", "believed"),
    [(None, False), ("false", False), ("true", True)],
    ids=["unset", "false", "true"],
)
@pytest.mark.slow
def test_forwarded_proto_is_believed_only_behind_a_proxy(tmp_path, behind_proxy, believed):
    """GIVEN production, with PORTAL_BEHIND_PROXY unset, false or true WHEN a plain-HTTP
    request says X-Forwarded-Proto: https THEN without a proxy it is still redirected to
    HTTPS (the header is the client's own word); behind the proxy it is served."""
    overrides = {} if behind_proxy is None else {"PORTAL_BEHIND_PROXY": behind_proxy}
    result = manage("shell", "-c", PROBE, env_overrides=production(tmp_path, **overrides))

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    if believed:
        assert answer["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
        assert answer["status"] != 301, answer
    else:
        assert answer["proxy_header"] is None
        assert answer["status"] == 301 and answer["location"].startswith("https://"), answer


@pytest.mark.slow
def test_check_deploy_still_clean_behind_a_proxy(tmp_path):
    """GIVEN production behind a proxy WHEN check --deploy runs THEN no warning."""
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_overrides=production(tmp_path, PORTAL_BEHIND_PROXY="true"),
    )
    assert result.returncode == 0, result.stdout + result.stderr


# The password step of a sign-in, run inside the settings of each environment: the
# cookies the browser is given (names and attributes), and where the sign-in goes next.
# (No page is rendered: production serves collected static files, not made here.)
SIGN_IN_PROBE = """
import json
from django.conf import settings
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
from portal.accounts.models import User
User.objects.create_superuser(email="ops@portal.example.org", password="a long pass phrase 1")
browser = Client()
secure = settings.SESSION_COOKIE_SECURE
answer = browser.post(
    "/login/",
    {"username": "ops@portal.example.org", "password": "a long pass phrase 1"},
    secure=secure,
)
cookies = {}
for name, morsel in answer.cookies.items():
    cookies[name] = {
        "secure": bool(morsel["secure"]),
        "path": morsel["path"],
        "domain": morsel["domain"],
        "httponly": bool(morsel["httponly"]),
    }
print(json.dumps({
    "session_cookie": settings.SESSION_COOKIE_NAME,
    "csrf_cookie": settings.CSRF_COOKIE_NAME,
    "status": answer.status_code,
    "location": answer.get("Location", ""),
    "cookies": cookies,
}))
"""


def sign_in_probe(env: dict[str, str]) -> dict:
    result = manage("shell", "-c", SIGN_IN_PROBE, env_overrides=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_production_cookies_are_host_only_and_secure(tmp_path):
    """GIVEN production WHEN a person's password is accepted over HTTPS
    THEN the session and CSRF cookies are named ``__Host-…`` and set Secure, for
    Path=/ and no Domain: a sibling subdomain or a plain-HTTP answer cannot plant
    either of them in the browser."""
    answer = sign_in_probe(
        production(tmp_path, PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    )
    assert answer["session_cookie"] == "__Host-sessionid"
    assert answer["csrf_cookie"] == "__Host-csrftoken"
    assert (answer["status"], answer["location"]) == (302, "/login/enrol/")
    assert set(answer["cookies"]) >= {"__Host-sessionid", "__Host-csrftoken"}
    for name in ("__Host-sessionid", "__Host-csrftoken"):
        cookie = answer["cookies"][name]
        assert cookie["secure"] and cookie["path"] == "/" and not cookie["domain"], (name, cookie)
    assert answer["cookies"]["__Host-sessionid"]["httponly"]


@pytest.mark.slow
def test_development_keeps_plain_cookie_names_over_http(tmp_path):
    """GIVEN development (plain HTTP on a developer's machine) WHEN a password is accepted
    THEN the cookies keep their plain names (a browser refuses ``__Host-`` ones without
    HTTPS) and the sign-in goes on to its next step."""
    answer = sign_in_probe(
        {
            "PORTAL_ENVIRONMENT": "development",
            "PORTAL_DATA_DIR": str(tmp_path),
            "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        }
    )
    assert (answer["session_cookie"], answer["csrf_cookie"]) == ("sessionid", "csrftoken")
    assert (answer["status"], answer["location"]) == (302, "/login/enrol/")
    assert not answer["cookies"]["sessionid"]["secure"]


@pytest.mark.parametrize("variable", ["PORTAL_CELERY_BROKER_URL", "CELERY_BROKER_URL"])
def test_the_filesystem_broker_is_refused_with_what_to_set_instead(tmp_path, variable):
    """GIVEN kombu's filesystem:// broker named (under the new or the former name) WHEN the
    portal starts THEN it refuses, naming the embedded broker: that transport reads message
    files other processes have not finished writing."""
    result = manage(
        "check",
        env_overrides={
            "PORTAL_ENVIRONMENT": "development",
            "PORTAL_DATA_DIR": str(tmp_path),
            variable: "filesystem://",
        },
        unset=tuple({"PORTAL_CELERY_BROKER_URL", "CELERY_BROKER_URL"} - {variable}),
    )

    assert result.returncode != 0
    assert "filesystem:// is no longer supported" in result.stderr
    assert "sqlite-queue://" in result.stderr
