"""`make run` on the embedded defaults: serves the portal and a worker, and Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.plugins.services import free_port
from tests.support.worker import wait_for

BASE_DIR = Path(__file__).resolve().parent.parent
SERVER_VARIABLES = {
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "PORTAL_ENVIRONMENT",
    "PORTAL_FILES_ROOT",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "DJANGO_SETTINGS_MODULE",
}

pytestmark = pytest.mark.slow


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def test_make_run_serves_health_and_admin_then_stops_on_ctrl_c(tmp_path):
    """GIVEN no database, broker or storage configured WHEN `make run` starts THEN the demo
    login is printed, /healthz answers 200 for all three, the admin login page is served,
    a worker is running, and Ctrl-C (SIGINT) stops every process."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES}
    env.update({"PORTAL_DATA_DIR": str(tmp_path / "data"), "PORT": str(port)})
    log_path = tmp_path / "make-run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: get(f"http://127.0.0.1:{port}/healthz")[0] == 200,
            timeout=90,
            message=f"portal did not become healthy:\n{log_path.read_text()}",
        )
        status, body = get(f"http://127.0.0.1:{port}/healthz")
        assert '"database": "ok"' in body and '"broker": "ok"' in body and '"storage": "ok"' in body
        status, body = get(f"http://127.0.0.1:{port}/admin/login/")
        assert status == 200 and "Password" in body
        wait_for(
            lambda: " ready." in log_path.read_text(),
            timeout=60,
            message=f"the Celery worker did not start:\n{log_path.read_text()}",
        )
        output = log_path.read_text()
        assert "demo@clinic.example" in output and "API key" in output
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    time.sleep(0.5)
    leftover = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", f"processes left after Ctrl-C: {leftover.stdout}"
    assert get(f"http://127.0.0.1:{port}/healthz")[0] == 0
