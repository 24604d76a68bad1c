"""Production settings: refuse to start half-configured; `check --deploy` is clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.environment import under_current_names

BASE_DIR = Path(__file__).resolve().parents[2]


def manage(
    *args, env_overrides: dict[str, str], unset: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    """``manage.py`` as a deployer of this release starts it: every variable under its
    ``PORTAL_`` name (a former name would be warned about by ``check``)."""
    dropped = {
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "PORTAL_SECRET_KEY",
        "PORTAL_ALLOWED_HOSTS",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    }
    env = under_current_names({k: v for k, v in os.environ.items() if k not in dropped})
    env.update(env_overrides)
    for name in unset:
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )


def test_production_refuses_to_start_without_secret_key_and_hosts(tmp_path):
    result = manage(
        "check",
        env_overrides={"PORTAL_ENVIRONMENT": "production", "PORTAL_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "PORTAL_SECRET_KEY must be set" in result.stderr


@pytest.mark.slow
def test_check_deploy_prints_no_warning(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_overrides={
            "PORTAL_ENVIRONMENT": "production",
            "PORTAL_DATA_DIR": str(tmp_path),
            "PORTAL_SECRET_KEY": "x7!" + "k2Jq9-Lm4zP0vR8sT1wY6uB3nC5eG" * 2,
            "PORTAL_ALLOWED_HOSTS": "portal.example.org",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
