"""The operator commands print what scripts need, as one JSON line."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from portal.accounts.models import Account, Staff

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_account_prints_id_and_a_working_key():
    line = run("create_account", "Riverside Clinic", "--trial")
    assert len(line.strip().splitlines()) == 1
    created = json.loads(line)
    account = Account.objects.get(pk=created["account_id"])
    assert account.plan == Account.Plan.TRIAL
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=created["api_key"])
    assert client.get("/api/v1/patients").status_code == 200


def test_create_staff_and_api_key(account, client):
    created = json.loads(
        run(
            "create_staff",
            "--account",
            str(account.id),
            "--email",
            "dr@clinic.example",
            "--password",
            "a-long-password-1",
            "--admin",
        )
    )
    staff = Staff.objects.get(pk=created["staff_id"])
    assert staff.role == Staff.Role.ADMIN and staff.account == account
    assert client.login(username="dr@clinic.example", password="a-long-password-1")
    key = json.loads(run("create_api_key", "--account", str(account.id), "--name", "EMIS"))[
        "api_key"
    ]
    assert key.startswith("cfp_")


def test_unknown_account_is_a_clear_error():
    with pytest.raises(CommandError, match="No account"):
        run("create_api_key", "--account", "nope")
